"""The no-model backend: summaries and descriptions derived from names, annotations and the class."""

from __future__ import annotations

import functools
import hashlib
from pathlib import Path
from typing import Sequence

from docstring_parser import Docstring
from docstring_parser.common import DocstringParam

from docucode_hook.backends import Generation
from docucode_hook.code.records import FunctionContext, Style
from docucode_hook.docstrings import phrasing, render
from docucode_hook.docstrings.phrasing import describe_parameter, documented_name, summarise
from docucode_hook.docstrings.render import render_docstring


class TemplateBackend:
    name = "template"

    def generate(self, contexts: Sequence[FunctionContext], style: Style) -> list[Generation | None]:
        """A summary and parameter lines per context; grounding adds the remaining sections."""
        return [Generation(render_docstring(_skeleton(ctx), style)) for ctx in contexts]

    def cache_key(self) -> str:
        """The cache key of the template's text: a digest of the code that writes it, since no model
        is involved (a fixed string kept the text of an older DocuCode in the cache after an upgrade
        changed its phrasing)."""
        return code_digest()


@functools.cache
def code_digest() -> str:
    """A short digest of the modules whose code writes the template's text."""
    sources = (Path(__file__), Path(phrasing.__file__), Path(render.__file__))
    return "template-" + hashlib.sha256(b"".join(path.read_bytes() for path in sources)).hexdigest()[:16]


def _skeleton(ctx: FunctionContext) -> Docstring:
    doc = Docstring()
    doc.short_description = summarise(ctx)
    if ctx.kind != "module":
        names = [documented_name(p) for p in ctx.parameters]
        doc.meta = [
            DocstringParam(["param", name], describe_parameter(p), name, p.annotation, None, None)
            for name, p in zip(names, ctx.parameters)
        ]
    return doc


__all__ = ["TemplateBackend"]
