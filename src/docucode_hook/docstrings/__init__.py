"""Docstrings as text: reading their sections, phrasing from names, rendering each style, inserting and verifying."""
