"""Plane geometry on points given as coordinate pairs."""

import math
from dataclasses import dataclass


@dataclass(frozen=True)
class Point:
    """A location in the plane."""

    x: float
    y: float

    def distance_to(self, other: "Point") -> float:
        """Compute the straight-line distance to another point.

        Parameters
        ----------
        other : Point
            The point to measure to.

        Returns
        -------
        float
            The Euclidean distance between the two points.
        """
        return math.hypot(self.x - other.x, self.y - other.y)

    def translated(self, dx: float, dy: float) -> "Point":
        """Return a copy of the point moved by the given offsets.

        Parameters
        ----------
        dx : float
            Offset along the x axis.
        dy : float
            Offset along the y axis.

        Returns
        -------
        Point
            The moved point; this one is unchanged.
        """
        return Point(self.x + dx, self.y + dy)


def polygon_area(vertices: list[Point]) -> float:
    """Compute the area enclosed by a simple polygon with the shoelace formula.

    Parameters
    ----------
    vertices : list of Point
        Corners of the polygon in order, clockwise or counter-clockwise.

    Returns
    -------
    float
        The enclosed area, always non-negative.
    """
    twice_area = 0.0
    for current, following in zip(vertices, vertices[1:] + vertices[:1]):
        twice_area += current.x * following.y - following.x * current.y
    return abs(twice_area) / 2


def centroid(vertices: list[Point]) -> Point:
    """Locate the average position of a set of points.

    Parameters
    ----------
    vertices : list of Point
        The points to average; must not be empty.

    Returns
    -------
    Point
        The point whose coordinates are the means of the inputs.
    """
    count = len(vertices)
    return Point(sum(p.x for p in vertices) / count, sum(p.y for p in vertices) / count)


def bounding_box(vertices):
    xs = [p.x for p in vertices]
    ys = [p.y for p in vertices]
    return Point(min(xs), min(ys)), Point(max(xs), max(ys))
