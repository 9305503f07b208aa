"""Numeric helpers documented in the NumPy docstring style."""
