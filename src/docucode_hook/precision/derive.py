"""Text derived from the code where the model is unsure: only what the code shows, else less.

Every sentence here is read off a fact: a parameter passed on to a call or stored on
``self``, a default, the one expression a function returns, the ``if`` that guards a
``raise`` or the message it raises with. When nothing true can be said, a description is
left empty (the entry still shows the name and the annotation) rather than restating the
name. The template's phrasing (names, verbs, annotations) is the base for summaries.
"""

from __future__ import annotations

import ast

from docucode_hook.docstrings.phrasing import (
    PREPOSITIONS,
    QUESTIONS,
    annotation_text,
    is_verb,
    describe_parameter,
    describe_return,
    one_line,
    restates_name,
    shown_default,
    summarise,
    third_person,
    words,
)
from docucode_hook.config import PLACEHOLDERS
from docucode_hook.code.records import FunctionContext, Parameter
from docucode_hook.docstrings.sections import short_name
from docucode_hook.code.facts import ProseFacts
from docucode_hook.precision.truth import check_summary

_MAX_MESSAGE = 60


def derived_summary(ctx: FunctionContext, facts: ProseFacts) -> str:
    """A summary that fits the kind of function (``truth.check_summary`` accepts it)."""
    parts = words(ctx.name)
    if facts.is_constructor and ctx.class_name:
        noun = " ".join(words(ctx.class_name)) or "instance"
        article = "an" if noun[0] in "aeiou" else "a"
        if parts[:1] == ["from"] and len(parts) > 1:
            return f"Create {article} {noun} from the {' '.join(parts[1:])}."
        return f"Create {article} {noun}."
    if facts.is_context_manager and facts.is_generator:
        if parts and is_verb(parts[0]) and len(parts) > 1:
            return f"{parts[0].capitalize()} the {' '.join(parts[1:])} for the duration of a `with` block."
        # Imperative, as PEP 257 and ruff's D401 ask of a function's summary ("A context manager" is not).
        thing = " ".join(parts) or "context"
        if len(parts) == 1 and parts[0].endswith(("ed", "ing")):
            thing = f"`{ctx.name}` context"  # "Manage the opened ..." reads as a slip
        return f"Manage the {thing} for the duration of a `with` block."
    if facts.is_property:
        # A property reads as the value it is: "get_size" is "The size.", "is_empty" a "Whether ...".
        parts = parts[1:] if parts[:1] == ["get"] and len(parts) > 1 else parts
        if parts[0:1] in (["is"], ["has"], ["can"]) and len(parts) > 1:
            owner = " ".join(words(ctx.class_name or "")) or "object"
            return f"Whether the {owner} {parts[0]} {' '.join(parts[1:])}."
        return f"The {' '.join(parts) or 'value'}."
    summary = summarise(ctx)
    verdict = check_summary(summary, facts)
    if verdict.kept:
        return summary
    if verdict.text:
        return _sentence(verdict.text)
    if parts and is_verb(parts[0]):
        return f"Run `{ctx.name}`."  # "Run the generate." would take the verb for a noun
    return f"Run the {' '.join(parts) or 'function'}."


def derived_parameter(param: Parameter, facts: ProseFacts) -> str:
    """What the code shows about ``param``, the least that is true; empty only where the entry
    will state the parameter's default (``shown_default``) and the code shows nothing more.

    Order: the template's phrasing where it says more than the name (``*args``, flags,
    "The number of items."), else where the value goes (stored on ``self``, passed to a
    call), else what the body does with it (returned, iterated, its attributes, the first
    expression that reads it, or nothing), else its annotation. An empty description made
    ruff's D417 report the entry (google convention), so one is never written.
    """
    said = describe_parameter(param)
    if not restates_name(said, param.name):
        return said
    stored = dict(facts.stored).get(param.name)
    callee = dict(facts.forwarded).get(param.name)
    if stored:
        return f"Stored as `{stored}`."
    if callee:
        return f"Passed to `{callee}`."
    use = _use_sentence(param, facts)
    if use:
        return use
    if shown_default(param) is not None:
        return ""
    annotation = annotation_text(param.annotation)
    return f"Of type `{annotation}`." if annotation else ""


def _use_sentence(param: Parameter, facts: ProseFacts) -> str:
    how, detail = next(((how, detail) for name, how, detail in facts.uses if name == param.name), ("", ""))
    if how == "unused":
        # A stub's parameters are its contract: that this body ignores them says little.
        return "" if facts.is_stub else "Unused."
    if how == "returned":
        return "Returned unchanged."
    if how == "iterated":
        return "Iterated over."
    if how == "attributes":
        names = [f"`{name}`" for name in detail.split(", ")]
        listed = names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]
        return f"Its {listed} {'is' if len(names) == 1 else 'are'} used."
    if how == "used in":
        return f"Used in `{detail}`."
    return ""


# The verbs of a name that say what comes back: "get_user" hands back the user, "to_dict" a
# dict, "iter_rows" the rows; so does a name with no verb ("area"). Other verbs' objects were
# guesses a blind review found false ("The html tag." for ``parseHtmlTag``, which returns a
# bool; "The sneaky css comments." for ``_remove_sneaky_css_comments``).
_NAMES_THE_RESULT = frozenset({"get", "to", "iter"})
_BOOLEAN_CALLS = frozenset({"bool", "isinstance", "issubclass", "hasattr", "callable", "any", "all"})


def derived_return(ctx: FunctionContext, facts: ProseFacts) -> str:
    """What a function returns, as far as the code shows it: its one plain return expression,
    ``self``, or what its name says where the name says it (``get_x``, ``area``; ``is_x``
    answered by booleans); else only that there is a result."""
    expressions = facts.return_expressions
    if not facts.is_generator and expressions == ("self",) and not _binds_no_instance(ctx):
        return "The instance itself."
    if not facts.is_generator and len(expressions) == 1:
        said = _describe_expression(expressions[0], ctx)
        if said:
            return said
    if _name_says_the_result(ctx, expressions):
        return describe_return(ctx)
    return "The values." if facts.is_generator else "The result."


def _binds_no_instance(ctx: FunctionContext) -> bool:
    """A classmethod or staticmethod: a ``self`` it returns is a local it built, a new instance
    (reviewers rated "The instance itself." false for a ``from_dict`` that returns one)."""
    return any(decorator.split("(", 1)[0].strip().rsplit(".", 1)[-1] in ("classmethod", "staticmethod")
               for decorator in ctx.decorators)


def _name_says_the_result(ctx: FunctionContext, expressions: tuple[str, ...]) -> bool:
    parts = words(ctx.name)
    if not parts:
        return False
    is_bool = one_line(ctx.returns_annotation) == "bool"
    if parts[0] in QUESTIONS or third_person(parts[0]):  # "is_open", "contains": True or False, if the code answers with booleans
        return is_bool or (bool(expressions) and all(_is_boolean(expression) for expression in expressions))
    # A bool is no thing the name could name ("The screenshot." for a ``screenshot`` -> bool).
    return not is_bool and (parts[0] in _NAMES_THE_RESULT or not (is_verb(parts[0]) or parts[0] in PREPOSITIONS))


def _is_boolean(source: str) -> bool:
    """An expression that is always True or False: a comparison, ``not``, a bool literal, ``isinstance(...)``."""
    try:
        node = ast.parse(source, mode="eval").body
    except SyntaxError:
        return False
    if isinstance(node, ast.Constant):
        return isinstance(node.value, bool)
    if isinstance(node, ast.Call):
        return isinstance(node.func, ast.Name) and node.func.id in _BOOLEAN_CALLS
    return isinstance(node, ast.Compare) or (isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not))


def _describe_expression(source: str, ctx: FunctionContext) -> str | None:
    try:
        node = ast.parse(source, mode="eval").body
    except SyntaxError:
        return None
    if isinstance(node, ast.Subscript) and _is_self_attribute(node.value) and isinstance(node.slice, ast.Name):
        return f"The value stored under `{node.slice.id}` in `{ast.unparse(node.value)}`."
    if _is_self_attribute(node):
        return f"The value of `{source}`."
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
        name = node.func.id
        if name == "cls" and ctx.class_name:
            return f"A new `{ctx.class_name}`."
        if name[:1].isupper():
            return f"A new `{name}`."
    return None


def _is_self_attribute(node: ast.expr) -> bool:
    return isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id == "self"


def derived_raise(exception: str, facts: ProseFacts) -> str:
    """When ``exception`` is raised: the ``if`` that guards it, else its message, else nothing.

    The template's reasons ("If an argument has an invalid value.") are guesses a blind
    review found false where no ``if`` or message says more; an empty entry is not.
    """
    guards = [guard for guard in facts.guards if short_name(guard.exception) == short_name(exception)]
    conditions = list(dict.fromkeys(guard.condition for guard in guards))
    if guards and None not in conditions and len(conditions) <= 2:
        return "If " + " or ".join(f"`{condition}`" for condition in conditions) + "."
    messages = [guard.message for guard in guards if guard.message and len(guard.message) <= _MAX_MESSAGE]
    if len(guards) == 1 and messages:
        return f'With the message "{messages[0]}".'
    return ""


def placeholder_text(derived: str, what: str, placeholders: str) -> str:
    """The text put where the model was unsure: ``derived`` text, or with ``placeholders = "todo"``
    a marker a reviewer must replace (``what``: "the summary", "`rate`", "the return value")."""
    if placeholders not in PLACEHOLDERS:
        raise ValueError(f"placeholders must be one of {', '.join(PLACEHOLDERS)} (got {placeholders!r})")
    return f"TODO: describe {what}." if placeholders == "todo" else derived


def _sentence(text: str) -> str:
    text = text.strip()
    return text if text.endswith((".", "!", "?")) else f"{text}."


__all__ = [
    "derived_parameter",
    "derived_raise",
    "derived_return",
    "derived_summary",
    "placeholder_text",
]
