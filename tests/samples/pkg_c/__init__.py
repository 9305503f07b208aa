"""File and retry utilities documented in the Sphinx (reST) docstring style."""
