"""Facts about one definition's code that the prose checks and the derived text rely on.

The finder's ``FunctionContext`` says what kind of function it is (async, generator,
property, stub, abstract, context manager), whether it returns a value, and which names its
module and class define, and (``ctx.code_facts``) what its ``return`` and ``raise``
statements say and where its parameters go. ``prose_facts`` gathers them for the checks.
"""

from __future__ import annotations

from dataclasses import dataclass

from docucode_hook.context import FunctionContext, Guard
from docucode_hook.syntax import ALWAYS_KNOWN, promises_value


@dataclass(frozen=True)
class ProseFacts:
    is_async: bool = False
    is_generator: bool = False
    returns_value: bool = False
    is_property: bool = False
    is_stub: bool = False  # abstract, or a body of only ``...``/``pass``/a string/``raise NotImplementedError``
    is_context_manager: bool = False  # ``@contextmanager`` or ``__enter__``/``__aenter__``
    is_constructor: bool = False  # a classmethod whose every ``return`` builds ``cls(...)``
    promises_value: bool = False  # a return annotation other than None/NoReturn/Never
    return_expressions: tuple[str, ...] = ()  # source of each ``return <expr>`` of its own body, unique
    guards: tuple[Guard, ...] = ()
    forwarded: tuple[tuple[str, str], ...] = ()  # (parameter, callee) where a call takes the parameter as is
    stored: tuple[tuple[str, str], ...] = ()  # (parameter, "self.attr") where it is assigned as is
    known_names: frozenset[str] = frozenset()


def prose_facts(ctx: FunctionContext) -> ProseFacts:
    """The facts of ``ctx``, from what the finder read off its code."""
    code = ctx.code_facts
    return ProseFacts(
        is_async=ctx.is_async,
        is_generator=ctx.is_generator,
        returns_value=ctx.returns_value,
        is_property=ctx.is_property,
        is_stub=ctx.is_stub or ctx.is_abstract,
        is_context_manager=ctx.is_context_manager,
        is_constructor=code.is_constructor,
        promises_value=promises_value(" ".join((ctx.returns_annotation or "").split()) or None),
        return_expressions=code.return_expressions,
        guards=code.guards,
        forwarded=code.forwarded,
        stored=code.stored,
        known_names=_known_names(ctx),
    )


def _known_names(ctx: FunctionContext) -> frozenset[str]:
    """Names the prose may mention: builtins, the definition, its class, parameters, calls, the
    module's names (imports included) and the class's, and every name and attribute its code uses."""
    names = set(ALWAYS_KNOWN) | {ctx.name, *(p.name for p in ctx.parameters), *ctx.scope_names}
    names |= {part for dotted in (ctx.class_name or "", *ctx.class_bases, *ctx.calls) for part in dotted.split(".") if part}
    return frozenset(names | ctx.code_facts.used_names)


__all__ = ["ProseFacts", "prose_facts"]
