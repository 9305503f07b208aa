"""Small text and caching helpers written in the Google docstring style."""

__version__ = "1.0.0"
