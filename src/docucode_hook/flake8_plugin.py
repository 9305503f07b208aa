"""flake8 plugin: the same DCU findings as ``docucode --check``, through flake8."""

from __future__ import annotations

import ast
from functools import lru_cache
from pathlib import Path
from typing import Iterator

from docucode_hook import __version__
from docucode_hook.config import Config, ConfigError, find_project_root, load_config
from docucode_hook.docstrings.sections import CODES
from docucode_hook.docstrings.styles import StyleRule, style_rule
from docucode_hook.finder import scan_source


@lru_cache(maxsize=None)
def _config_for(root: Path) -> tuple[Config, StyleRule]:
    """The project's configuration and style rule, read once per project root (flake8 checks file by file)."""
    config = load_config(None, root, {})
    return config, style_rule(config, root)


class DocucodeChecker:
    name = "docucode"
    version = __version__

    def __init__(self, tree: ast.AST, filename: str, lines: list[str]) -> None:
        self.filename = filename
        self.source = "".join(lines)

    def run(self) -> Iterator[tuple[int, int, str, type]]:
        """Yield flake8's ``(line, column, message, type)`` for each DocuCode finding in the file."""
        try:
            config, styles = _config_for(find_project_root(Path(self.filename).parent))
        except ConfigError as exc:
            yield 1, 0, f"{CODES['config']} invalid [tool.docucode] config: {exc}", type(self)
            return
        # flake8 has already parsed the file, so a SyntaxError cannot happen here.
        for finding in scan_source(self.source, self.filename, config, targets=False, styles=styles).findings:
            # flake8 counts columns from 0 and adds 1 when printing; Finding.col is already 1-based.
            yield finding.line, finding.col - 1, f"{finding.code} {finding.message}", type(self)
