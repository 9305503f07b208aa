"""Which style a docstring, a file and a repository use (Google, NumPy or Sphinx), and why.

A file's style is, in order: the one configured (``style`` in ``[tool.docucode]`` or
``--style``); the one the repository's tool configuration declares (ruff's pydocstyle
convention, pydoclint's style, flake8-docstrings, pydocstyle, numpydoc, Sphinx's napoleon
settings); the one every sectioned docstring of the file uses; the one most of the
repository's docstrings use; Google. Each answer carries its reason, for ``-v``, ``--explain``
and DCU105's message.
"""

from __future__ import annotations

import ast
import configparser
import re
import sys
import zlib
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on 3.10 only
    import tomli as tomllib

from docucode_hook.code.records import Style
from docucode_hook.config import Config
from docucode_hook.docstrings.blocks import SPHINX_FIELDS, TITLES
from docucode_hook.paths import git_files

_TITLE = "|".join(sorted(map(re.escape, TITLES), key=len, reverse=True))
_FIELD = "|".join(sorted(SPHINX_FIELDS, key=len, reverse=True))
# What makes a docstring's sections a style's, as each style's readers (docstrings/blocks.py) cut
# them: a known title over an indented block (Google), a known title over its underline
# (NumPy), a known field at the margin (Sphinx). Custom titles and prose never count.
_MARKERS = {
    Style.GOOGLE: re.compile(rf"^(?:{_TITLE}):[ \t]*\n(?:[ \t]*\n)*[ \t]+\S", re.I | re.M),
    Style.NUMPY: re.compile(rf"^(?:{_TITLE})[ \t]*\n[-=]{{3,}}[ \t]*$", re.I | re.M),
    Style.SPHINX: re.compile(rf"^:(?:{_FIELD})(?:[ \t][^:\n]*)?:(?:[ \t]|$)", re.M),
}
# The same markers anywhere in a source file, at any indentation (the repository sample).
_SOURCE_MARKERS = {
    Style.GOOGLE: re.compile(rf"^([ \t]*)(?:{_TITLE}):[ \t]*\n(?:[ \t]*\n)*\1[ \t]+\S", re.I | re.M),
    Style.NUMPY: re.compile(rf"^([ \t]*)(?:{_TITLE})[ \t]*\n\1[-=]{{3,}}[ \t]*$", re.I | re.M),
    Style.SPHINX: re.compile(rf"^[ \t]*:(?:{_FIELD})(?:[ \t][^:\n]*)?:(?:[ \t]|$)", re.M),
}
_TRIPLE_QUOTED = re.compile(r"(\"\"\"|''')(.*?)\1", re.S)
# The repository sample reads tracked files until this many files with sections have voted, or
# this many bytes: enough to tell a style, and a bounded cost for a hook that runs on every commit.
SAMPLE_FILES = 40
SAMPLE_BYTES = 4_000_000
SPHINX_CONF = ("docs/conf.py", "doc/conf.py", "docs/source/conf.py", "doc/source/conf.py", "conf.py")
_CONVENTIONS = {"google": Style.GOOGLE, "numpy": Style.NUMPY, "sphinx": Style.SPHINX}


def section_styles(text: str) -> frozenset[Style]:
    """The styles whose sections the cleaned docstring ``text`` holds: none, one, or several (mixed)."""
    if "\n" not in text:
        return frozenset()
    return frozenset(style for style, marker in _MARKERS.items() if marker.search(text))


@dataclass(frozen=True)
class StyleChoice:
    """A file's style and why it is that one (shown by ``-v``, ``--explain`` and DCU105)."""

    style: Style
    reason: str


@dataclass(frozen=True)
class StyleRule:
    """What decides each file's style in a run, known before any file is read.

    ``fixed`` is the configured or declared style, which every file gets. Without one, a
    file's own docstrings decide, then the repository's at ``root`` (read once, on first need).
    """

    fixed: StyleChoice | None = None
    root: Path | None = None
    _memo: dict = field(default_factory=dict, compare=False, repr=False)

    def for_file(self, counts: Counter, mixed: int = 0) -> StyleChoice:
        """The style of a file whose sectioned docstrings are ``counts`` (per style; ``mixed``: in several)."""
        if self.fixed is not None:
            return self.fixed
        if len(counts) == 1 and not mixed:
            style, n = next(iter(counts.items()))
            return StyleChoice(style, f"the file's docstrings ({n} {style.value})")
        if "repository" not in self._memo:
            self._memo["repository"] = repository_style(self.root) if self.root is not None else None
        if self._memo["repository"] is not None:
            return self._memo["repository"]
        if counts:
            return StyleChoice(_leader(counts), f"most of the file's docstrings ({_tally(counts)})")
        return StyleChoice(Style.GOOGLE, "the default: nothing declares a style and no docstring shows one")


def style_rule(config: Config, root: Path | None) -> StyleRule:
    """The run's rule: the configured style, else the one the configuration at ``root`` declares,
    else per file (``style = "auto"``). Without ``root``, only the configured style and each file's own."""
    if config.style is not None:
        return StyleRule(StyleChoice(config.style, f'configured: style = "{config.style.value}"'))
    return StyleRule(declared_style(root), root) if root is not None else StyleRule()


def _leader(counts: Counter) -> Style:
    # Ties go to the first style in Style's order, so that the choice never depends on file order.
    return max(Style, key=lambda style: (counts.get(style, 0), -list(Style).index(style)))


def _tally(counts: Counter) -> str:
    return ", ".join(f"{style.value} {n}" for style, n in sorted(counts.items(), key=lambda item: -item[1]))


def repository_style(root: Path) -> StyleChoice | None:
    """The style most of the repository's tracked Python files with sections use; None when none has any.

    Each file votes for the style most of its sections use. Files are read until
    ``SAMPLE_FILES`` have voted or ``SAMPLE_BYTES`` bytes were read, in an order fixed by a
    checksum of their paths: a sample spread over the whole tree, not its first folder, and
    the same on every run.
    """
    votes: Counter = Counter()
    read = 0
    tracked = [path for path in git_files(root) or () if path.suffix == ".py"]
    for path in sorted(tracked, key=lambda path: zlib.crc32(path.as_posix().encode("utf-8", "surrogateescape"))):
        try:
            text = path.read_bytes().decode("utf-8", errors="replace")
        except OSError:
            continue
        read += len(text)
        # Only triple-quoted strings hold docstrings with sections: the markers run over those alone.
        strings = "\n".join(match.group(2) for match in _TRIPLE_QUOTED.finditer(text))
        counts = Counter({style: sum(1 for _ in marker.finditer(strings)) for style, marker in _SOURCE_MARKERS.items()})
        if +counts:
            votes[_leader(counts)] += 1
        if sum(votes.values()) >= SAMPLE_FILES or read >= SAMPLE_BYTES:
            break
    if not votes:
        return None
    return StyleChoice(_leader(votes), f"most of the repository's files with docstring sections ({_tally(votes)})")


# --------------------------------------------------------------------------- declared styles


def declared_style(root: Path) -> StyleChoice | None:
    """The style the repository's tool configuration at ``root`` declares, with where; None if none does.

    In this order: ruff (``lint.pydocstyle.convention``, then the older ``pydocstyle.convention``)
    in pyproject.toml, ruff.toml, .ruff.toml; pydoclint's ``style`` (``[tool.pydoclint]``, whose
    default is numpy); flake8-docstrings' ``docstring-convention`` and pydoclint's flake8 ``style``
    in setup.cfg, tox.ini, .flake8; pydocstyle's ``convention``; ``[tool.numpydoc_validation]``;
    a Sphinx conf.py loading numpydoc, or napoleon with one of its two styles turned off.
    ruff's and pydocstyle's "pep257" name no section style and are passed over.
    """
    for found in (*_toml_declarations(root), *_ini_declarations(root), _sphinx_declaration(root)):
        if found is not None:
            return found
    return None


def _toml(path: Path) -> dict[str, Any]:
    try:
        return tomllib.loads(path.read_text(encoding="utf-8")) if path.is_file() else {}
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError):
        return {}  # not ours to report: the tool that owns the file does


def _dig(data: Any, *keys: str) -> Any:
    for key in keys:
        data = data.get(key) if isinstance(data, dict) else None
    return data


def _named(value: Any, where: str) -> StyleChoice | None:
    style = _CONVENTIONS.get(str(value).lower()) if isinstance(value, str) else None
    return StyleChoice(style, f'declared in {where} = "{value}"') if style else None


def _toml_declarations(root: Path) -> Iterable[StyleChoice | None]:
    pyproject = _toml(root / "pyproject.toml")
    tool = pyproject.get("tool", {}) if isinstance(pyproject.get("tool"), dict) else {}
    ruff_files = [("pyproject.toml", ("tool", "ruff"), pyproject)]
    ruff_files += [(name, (), _toml(root / name)) for name in ("ruff.toml", ".ruff.toml")]
    for name, prefix, data in ruff_files:
        for keys in (("lint", "pydocstyle"), ("pydocstyle",)):
            table = ".".join((*prefix, *keys))
            yield _named(_dig(data, *prefix, *keys, "convention"), f"{name}: [{table}] convention")
    pydoclint = tool.get("pydoclint")
    if isinstance(pydoclint, dict):
        yield _named(pydoclint.get("style", "numpy"), "pyproject.toml: [tool.pydoclint] style")
    yield _named(_dig(tool, "pydocstyle", "convention"), "pyproject.toml: [tool.pydocstyle] convention")
    if "numpydoc_validation" in tool:
        yield StyleChoice(Style.NUMPY, "declared in pyproject.toml: [tool.numpydoc_validation]")


def _ini_declarations(root: Path) -> Iterable[StyleChoice | None]:
    for name in ("setup.cfg", "tox.ini", ".flake8"):
        path = root / name
        if not path.is_file():
            continue
        parser = configparser.RawConfigParser()
        try:
            parser.read(path, encoding="utf-8")
        except (configparser.Error, UnicodeDecodeError):
            continue
        for section, key in (("flake8", "docstring-convention"), ("flake8", "docstring_convention"),
                             ("flake8", "style"), ("pydocstyle", "convention")):
            if parser.has_option(section, key):
                yield _named(parser.get(section, key).strip(), f"{name}: [{section}] {key}")


def _sphinx_declaration(root: Path) -> StyleChoice | None:
    for name in SPHINX_CONF:
        path = root / name
        if path.is_file():
            return _sphinx_settings(path, name)
    return None


def _sphinx_settings(path: Path, name: str) -> StyleChoice | None:
    """numpydoc or napoleon in a Sphinx conf.py, read from its literals (the file is never run)."""
    try:
        tree = ast.parse(path.read_bytes())
    except (OSError, SyntaxError, ValueError):
        return None
    extensions: set[str] = set()
    settings: dict[str, object] = {}
    for node in ast.walk(tree):
        if isinstance(node, (ast.Assign, ast.AugAssign, ast.AnnAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            names = {target.id for target in targets if isinstance(target, ast.Name)}
            if "extensions" in names and node.value is not None:
                extensions |= {n.value for n in ast.walk(node.value) if isinstance(n, ast.Constant)
                               and isinstance(n.value, str)}
            for setting in names & {"napoleon_google_docstring", "napoleon_numpy_docstring"}:
                if isinstance(node.value, ast.Constant):
                    settings[setting] = node.value.value
        elif (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
              and isinstance(node.func.value, ast.Name) and node.func.value.id == "extensions"):
            extensions |= {n.value for n in ast.walk(node) if isinstance(n, ast.Constant) and isinstance(n.value, str)}
    if "numpydoc" in extensions:
        return StyleChoice(Style.NUMPY, f"declared in {name}: the numpydoc extension")
    if "sphinx.ext.napoleon" in extensions:
        if settings.get("napoleon_google_docstring") is False and settings.get("napoleon_numpy_docstring") is not False:
            return StyleChoice(Style.NUMPY, f"declared in {name}: napoleon_google_docstring = False")
        if settings.get("napoleon_numpy_docstring") is False and settings.get("napoleon_google_docstring") is not False:
            return StyleChoice(Style.GOOGLE, f"declared in {name}: napoleon_numpy_docstring = False")
    return None


__all__ = [
    "SAMPLE_BYTES",
    "SAMPLE_FILES",
    "StyleChoice",
    "StyleRule",
    "declared_style",
    "repository_style",
    "section_styles",
    "style_rule",
]
