"""Entry point for ``python -m docucode_hook``."""

from docucode_hook.cli import run

raise SystemExit(run())
