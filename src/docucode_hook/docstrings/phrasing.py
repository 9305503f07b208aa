"""Phrasing from names: the template's sentences, and the rules that judge a summary (restates the name, repeats itself)."""

from __future__ import annotations

import re
from typing import Sequence

from docucode_hook.code.records import FunctionContext, Parameter, ParamKind

# Leading words read as an imperative verb; anything else is taken as a noun phrase.
VERBS = frozenset(
    """add apply assert build calc calculate call cancel check clean clear close collect compare
    compile compute configure connect convert copy count create decode delete describe detect
    download dump emit enable encode ensure evaluate execute export extract fetch filter find
    flush follow force format generate get group handle ignore import include index init insert
    install iter iterate join keep list load log make map mark match merge move normalise
    normalize open parse patch ping pop post prepare print process push put read record refresh
    register reload remove rename render replace report request reset resolve restore retry run
    save scan search select send serialize set setup show skip sort split start stop store strip
    submit sync tokenize train transform update upload use validate verify visit wait walk watch
    wrap write""".split()
)
# Abbreviated verbs, spelled out in the summary.
_VERB_FORMS = {"calc": "calculate", "init": "initialise", "iter": "iterate over"}
QUESTIONS = {"is": "is", "has": "has", "can": "can", "should": "should", "needs": "needs"}
_ABBREVIATIONS = {"n": "number of", "num": "number of", "dir": "directory", "idx": "index", "cfg": "config"}
# A phrase that starts with one of these reads wrong after "the" ("Get the all users.").
_NO_ARTICLE = frozenset("a all an and any as at by each every for from if in into many of on or some the to with".split())
_GENERIC_TYPES = frozenset("any bool bytes dict float int list none object set str tuple".split())
_DUNDERS = {
    "__call__": "Call the {owner}.",
    "__enter__": "Enter the {owner} context.",
    "__exit__": "Exit the {owner} context.",
    "__eq__": "Compare the {owner} with another object for equality.",
    "__hash__": "Hash the {owner}.",
    "__iter__": "Iterate over the {owner}.",
    "__len__": "Count the items in the {owner}.",
    "__repr__": "Represent the {owner} for debugging.",
    "__str__": "Describe the {owner} as text.",
}
_EXCEPTIONS = {
    "FileNotFoundError": "If the file does not exist.",
    "KeyError": "If a key is missing.",
    "NotImplementedError": "If the operation is not implemented.",
    "TypeError": "If an argument has the wrong type.",
    "ValueError": "If an argument has an invalid value.",
}


_MAX_DEFAULT = 30  # longer defaults are read more easily in the signature
# Words a summary or a parameter description may add to the name and still say nothing
# more than the name does ("Gets the value." for get_value, "n: The n value.").
FILLER = frozenset(
    """a an the this that these those of to for is are be it its function method class module
    returns return value values parameter param argument arg object given input specified
    provided optional""".split()
)
_TOKEN = re.compile(r"\w+")


def words(name: str) -> list[str]:
    """``get_userName`` -> ["get", "user", "name"]; leading/trailing underscores ignored."""
    spaced = re.sub(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])", "_", name.strip("_*"))
    return [word.lower() for word in spaced.split("_") if word]


def _phrase(parts: Sequence[str]) -> str:
    out: list[str] = []
    for index, word in enumerate(parts):
        out.append(_ABBREVIATIONS.get(word, word) if index == 0 and len(parts) > 1 else word)
    return " ".join(out)


def _noun(type_text: str | None) -> str | None:
    """A noun from a non-generic annotation (``-> Config`` gives "config")."""
    if not type_text:
        return None
    base = re.split(r"[\[|, ]", type_text.strip("'\""), maxsplit=1)[0].rsplit(".", 1)[-1]
    return None if not base or base.lower() in _GENERIC_TYPES else _phrase(words(base))


def _subject(ctx: FunctionContext) -> str:
    """What a method or predicate is about: the class for methods, else the first parameter.

    "it" when that name has no words (``class _``, a parameter ``_`` or ``*_``).
    """
    if ctx.is_method and ctx.class_name:
        name = ctx.class_name
    else:
        name = ctx.parameters[0].name if ctx.parameters else ""
    phrase = _phrase(words(name))
    return f"the {phrase}" if phrase else "it"


def summarise(ctx: FunctionContext) -> str:
    """One imperative sentence from the definition's name, class and annotations."""
    # A name made only of underscores (``_``, ``class __``) has no words: each phrase has a fallback.
    owner = _phrase(words(ctx.class_name or "")) or "instance"
    if ctx.kind == "module":
        name = _phrase(words(ctx.name))
        return f"The {name} module." if name else "The module."
    if ctx.kind == "class":
        noun = _phrase(words(ctx.name)) or "class"
        return f"{'An' if noun[:1] in 'aeiou' else 'A'} {noun}."
    if ctx.name == "__init__":
        return f"Initialise the {ctx.class_name or 'instance'}."
    if ctx.name in _DUNDERS:
        return _DUNDERS[ctx.name].format(owner=owner)
    if "property" in ctx.decorators or "cached_property" in ctx.decorators:
        return f"The {_phrase(words(ctx.name)) or 'value'}."
    return _sentence_from_words(ctx, words(ctx.name) or ["run"])


def _sentence_from_words(ctx: FunctionContext, parts: list[str]) -> str:
    head, rest = parts[0], _phrase(parts[1:])
    if head in QUESTIONS and rest:
        return f"Check whether {_subject(ctx)} {QUESTIONS[head]} {rest}."
    if head == "to" and rest:
        return f"Convert {_subject(ctx)} to {rest}."
    if head in VERBS:
        target = rest or _noun(ctx.returns_annotation) or _subject(ctx).removeprefix("the ")
        return f"{_VERB_FORMS.get(head, head).capitalize()} {_with_article(target)}."
    if parts == ["main"]:
        return "Run the program."
    verb = "Yield" if ctx.is_generator else "Return" if ctx.returns_value else "Run"
    return f"{verb} {_with_article(_phrase(parts))}."


def _with_article(phrase: str) -> str:
    if not phrase.strip():
        return "it"
    return phrase if phrase == "it" or phrase.split()[0] in _NO_ARTICLE else f"the {phrase}"


def documented_name(param: Parameter) -> str:
    """The name as docstrings list it: pydoclint, in every style, matches varargs with their stars."""
    stars = {ParamKind.VAR_POSITIONAL: "*", ParamKind.VAR_KEYWORD: "**"}.get(param.kind, "")
    return stars + param.name


def describe_parameter(param: Parameter) -> str:
    """An honest description from the name: "n_items" -> "The number of items.".

    The default is not part of it: the renderer words it as the style's guide does (``shown_default``).
    """
    if param.kind is ParamKind.VAR_POSITIONAL and param.name == "args":
        return "Additional positional arguments."
    if param.kind is ParamKind.VAR_KEYWORD and param.name == "kwargs":
        return "Additional keyword arguments."
    if param.annotation == "bool" or param.default in ("True", "False"):
        parts = words(param.name) or [param.name]
        return f"Whether to {_phrase(parts)}." if parts[0] in VERBS else f"Whether {_phrase(parts)} is enabled."
    return f"The {_phrase(words(param.name)) or param.name}."


def shown_default(param: Parameter) -> str | None:
    """The default a docstring states: a short one; None without one, or when the signature reads better."""
    return param.default if param.default is not None and len(param.default) <= _MAX_DEFAULT else None


def describe_return(ctx: FunctionContext) -> str:
    """What a function returns (or yields), from its name or annotation."""
    parts = words(ctx.name)
    if parts and parts[0] in QUESTIONS and len(parts) > 1:
        return f"True if {_subject(ctx)} {QUESTIONS[parts[0]]} {_phrase(parts[1:])}, otherwise False."
    if parts and parts[0] in VERBS | {"to", "iter"}:
        parts = parts[1:]
    target = _phrase(parts) or _noun(ctx.returns_annotation) or ("values" if ctx.is_generator else "result")
    return f"{_with_article(target).capitalize()}."


def describe_exception(name: str) -> str:
    """A cautious reason for a raised exception; specific only for the common built-ins."""
    return _EXCEPTIONS.get(name.rsplit(".", 1)[-1], "If the operation cannot be completed.")


def one_line(text: str | None) -> str | None:
    """``text`` with its whitespace runs made single spaces; None when nothing is left."""
    return " ".join(text.split()) if text and text.strip() else None


def tokens(text: str) -> list[str]:
    """Lower-case words of prose or code: ``"Gets userName"`` -> ["gets", "user", "name"]."""
    return [word for token in _TOKEN.findall(text) for word in words(token)]


def _stem(word: str) -> str:
    # "gets" restates "get"; a crude plural/3rd-person strip is all this check needs.
    return word[:-1] if len(word) > 3 and word.endswith("s") and not word.endswith("ss") else word


def restates_name(summary: str, name: str) -> bool:
    """True when the summary's words are only the name's words plus filler ("Gets the value." for get_value).

    The one rule for the hook (such a summary gives way to the template's), the mining filter
    and the evaluation metric. An empty summary restates nothing.
    """
    said = {_stem(word) for word in tokens(summary)} - FILLER
    return bool(summary.strip()) and said <= {_stem(word) for word in words(name)}


def repeated_ngram(text: str, n: int = 3) -> str | None:
    """The first word n-gram that occurs twice in ``text`` (case-insensitive), or None: the loop
    a small model falls into. The one rule for the hook's prose checks and the evaluation metric."""
    seen: set[tuple[str, ...]] = set()
    words_ = tokens(text)
    for start in range(len(words_) - n + 1):
        gram = tuple(words_[start : start + n])
        if gram in seen:
            return " ".join(gram)
        seen.add(gram)
    return None


__all__ = [
    "FILLER",
    "QUESTIONS",
    "VERBS",
    "describe_exception",
    "describe_parameter",
    "describe_return",
    "documented_name",
    "one_line",
    "repeated_ngram",
    "restates_name",
    "shown_default",
    "summarise",
    "tokens",
    "words",
]
