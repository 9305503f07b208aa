"""Backends turn a batch of function contexts into raw docstring text (grounded afterwards).

This package holds everything between a context and raw text: the one prompt format
(``prompt``, shared with ``train/``), the cache of generated text, the engines (``model`` with
``ct2``, ``convert``, ``loading`` and ``stopping``; ``server``; ``template``) and the work the
main thread does while they run (``meanwhile``).

Every backend implements ``generate``: one ``Generation`` per context, in order, or ``None``
where it could not produce one (the pipeline then falls back to the template for that function).
A backend that runs a language model is also a ``PromptBackend``: it completes prompts the
shared builder made, of either task (docstring or inline comment). The template backend
writes from the code alone, so it cannot write comments and is not one.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol, Sequence, runtime_checkable

from docucode_hook.config import Config
from docucode_hook.code.records import FunctionContext, Style
from docucode_hook.backends.prompt import Prompt


@dataclass(frozen=True)
class Generation:
    """A backend's raw text for one function, with the model's confidence where it has one."""

    text: str
    # Per generated token that survives in ``text``: (offset of its first character in
    # ``text``, natural-log probability). Empty when the backend has no model (template)
    # or the server did not report them.
    token_logprobs: tuple[tuple[int, float], ...] = ()


class RepeatedWarning(UserWarning):
    """A backend's warning that is shown every time it is issued (the CLI sets "always" for it):
    Python's default filter shows a message once per place, and two batches may fail alike."""


class Backend(Protocol):
    name: str

    def generate(self, contexts: Sequence[FunctionContext], style: Style) -> list[Generation | None]:
        """Write raw docstring text for each context, in order; None where this backend produced none."""
        ...

    def cache_key(self) -> str:
        """Identifies what produced the text (model id, adapter digest, ...) for the cache."""
        ...


@runtime_checkable
class PromptBackend(Protocol):
    name: str

    def generate_prompts(self, prompts: Sequence[Prompt], strict: bool = False) -> list[str | None]:
        """One cut completion per prompt (a comment prompt gets one line), None where generation failed."""
        ...


def get_backend(config: Config) -> Backend:
    """Build the backend named in config; heavy imports happen only here, on demand."""
    if config.backend == "template":
        from docucode_hook.backends.template import TemplateBackend

        return TemplateBackend()
    if config.backend == "server":
        from docucode_hook.backends.server import ServerBackend

        return ServerBackend(config)
    from docucode_hook.backends.model import ModelBackend

    return ModelBackend(config)
