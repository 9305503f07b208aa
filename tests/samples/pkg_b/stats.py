"""Descriptive statistics over plain Python sequences."""

import math
from typing import Sequence


def mean(values: Sequence[float]) -> float:
    """Compute the arithmetic mean of a sequence of numbers.

    Parameters
    ----------
    values : Sequence[float]
        The numbers to average; must not be empty.

    Returns
    -------
    float
        The sum of the values divided by their count.

    Raises
    ------
    ValueError
        If ``values`` is empty.
    """
    if not values:
        raise ValueError("mean of an empty sequence")
    return sum(values) / len(values)


def variance(values: Sequence[float], ddof: int = 0) -> float:
    """Measure how far a set of numbers is spread out from their mean.

    Parameters
    ----------
    values : Sequence[float]
        The observations.
    ddof : int, optional
        Delta degrees of freedom; the divisor is ``len(values) - ddof``.

    Returns
    -------
    float
        The variance of the observations.
    """
    centre = mean(values)
    return sum((v - centre) ** 2 for v in values) / (len(values) - ddof)


def median(values: Sequence[float]) -> float:
    """Find the middle value of a sequence after sorting it.

    Parameters
    ----------
    values : Sequence[float]
        The numbers to inspect; must not be empty.

    Returns
    -------
    float
        The middle value, or the mean of the two middle values for an even count.
    """
    ordered = sorted(values)
    middle = len(ordered) // 2
    if len(ordered) % 2:
        return ordered[middle]
    return (ordered[middle - 1] + ordered[middle]) / 2


def moving_average(values: Sequence[float], window: int) -> list[float]:
    """Smooth a series by averaging each run of consecutive values.

    Parameters
    ----------
    values : Sequence[float]
        The series to smooth.
    window : int
        Number of consecutive values in each average.

    Returns
    -------
    list of float
        One average per complete window, so ``len(values) - window + 1`` items.

    Raises
    ------
    ValueError
        If ``window`` is not positive.
    """
    if window <= 0:
        raise ValueError("window must be positive")
    total = sum(values[:window])
    averages = [total / window]
    for index in range(window, len(values)):
        total += values[index] - values[index - window]
        averages.append(total / window)
    return averages


def zscores(values: Sequence[float]) -> list[float]:
    """Express every value as its distance from the mean in standard deviations.

    Parameters
    ----------
    values : Sequence[float]
        The observations to standardise.

    Returns
    -------
    list of float
        The standard scores, in the input order.
    """
    centre = mean(values)
    spread = math.sqrt(variance(values))
    return [(v - centre) / spread for v in values]


def histogram(values, bins=10):
    """Count how many values fall into each of several equal-width bins.

    Parameters
    ----------
    values : sequence of float
        The observations to count.
    bins : int
        Number of bins spanning the range of the values.

    Returns
    -------
    list of int
        The count for each bin, from the lowest to the highest.
    """
    low, high = min(values), max(values)
    width = (high - low) / bins or 1.0
    counts = [0] * bins
    for value in values:
        counts[min(int((value - low) / width), bins - 1)] += 1
    return counts


def percentile(values, q):
    ordered = sorted(values)
    position = (len(ordered) - 1) * q / 100
    lower = math.floor(position)
    upper = math.ceil(position)
    return ordered[lower] + (ordered[upper] - ordered[lower]) * (position - lower)
