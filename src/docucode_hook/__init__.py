"""DocuCode: write grounded docstrings with a local model, as a pre-commit hook and linter."""

__version__ = "0.1.0"
