"""Phrasing from names: the template's sentences, and the rules that judge a summary (restates the name, repeats itself)."""

from __future__ import annotations

import re
from typing import Sequence

from docucode_hook.code.facts import lints_as_property
from docucode_hook.code.records import FunctionContext, Parameter, ParamKind

# Leading words read as an imperative verb; anything else is taken as a noun phrase. The list
# grew from the first words of function names in real packages (bench/linters-packages.tsv):
# a verb missing here made "Return the summarize.".
VERBS = frozenset(
    """accept acquire activate add adjust advance allocate allow annotate append apply archive
    assert assign attach authenticate authorize await bind block bootstrap broadcast build bump
    cache calc calculate call cancel capture cast charge check classify clean clear clip clone close
    coerce collect combine commit compare compile complete compose compress compute configure
    connect consume convert copy count create crop cut debug decode decompress decorate decrypt
    delete deploy deserialize destroy detach detect diff disable discard disconnect discover
    dispatch divide double display download drain draw drop dump edit embed emit enable encode encrypt enqueue
    ensure enter enumerate escape evaluate exclude execute exit expand expect export expose extend
    extract fetch fill filter finalize find finish fix flatten flush fold follow force format
    forward freeze gather generate get grant group guard handle hash hide highlight hydrate identify
    ignore import include increment index infer ingest init initialize inject insert inspect
    install intercept invalidate invoke iter iterate join keep kill launch limit link list listen
    load locate lock log lookup make map mark mask match measure merge migrate mock modify monitor
    mount move multiply mutate normalise normalize notify observe open optimize order output override pack
    pad paginate parse partition patch pause persist pick ping place plot poll pop populate post
    predict prepare preprocess print probe process produce prompt prune publish pull purge push
    put query queue quote raise read rebuild receive record redact redirect reduce refresh refuse
    register reject release reload remove rename render reorder repair repeat replace reply report
    request require reset reshape resize resolve restart restore resume retrieve retry return
    reverse revoke rewrite rollback rotate round route run sample sanitize save scale scan schedule
    score scrape search seed select send serialize serve set setup show shuffle shutdown sign
    simulate skip slice slugify sort spawn split squash stamp start stash stop store stream strip
    submit subscribe substitute summarise summarize swap sync tag take teardown tear test throttle
    tokenize touch trace track train transform translate traverse trigger trim truncate unlink
    unload unlock unpack unregister unwrap unzip update upgrade upload upsert use validate verify visit
    wait walk warn watch wrap write yield zip""".split()
)
# A verb's particle belongs to the verb: "tear_down" is "Tear down ...", not "Tear the down ...".
PARTICLES = frozenset("up down out off over back away".split())
# Names that open with a preposition ("from_dict", "by_name", "on_click") have no verb of their own.
PREPOSITIONS = frozenset("as at by for from in into of on per via with without".split())
# Endings that make a verb of a word ("summarize", "classify"); the words below end so and are not verbs.
_VERB_ENDINGS = ("ize", "ise", "ify", "ate")
_NOT_VERBS = frozenset(
    """accurate adequate aggregate candidate certificate climate concise crate date delegate
    enterprise expertise franchise gate immediate intermediate late literate noise otherwise plate
    precise premise private promise rate separate state substrate template ultimate wise""".split()
)


def is_verb(word: str) -> bool:
    """Whether a name's word reads as an imperative verb: listed, or made a verb by its ending."""
    if word.startswith("re") and word[2:] in VERBS | {"stock", "fill", "order", "name"}:
        return True  # "restock", "refill", "reorder": a verb done again
    return word in VERBS or (len(word) > 5 and word.endswith(_VERB_ENDINGS) and word not in _NOT_VERBS)


# Abbreviated verbs, spelled out in the summary.
_VERB_FORMS = {"calc": "calculate", "init": "initialise", "iter": "iterate over"}
QUESTIONS = {"is": "is", "has": "has", "can": "can", "should": "should", "needs": "needs"}
_ABBREVIATIONS = {"n": "number of", "num": "number of", "dir": "directory", "idx": "index", "cfg": "config"}
# A phrase that starts with one of these reads wrong after "the" ("Get the all users.").
_NO_ARTICLE = frozenset("a all an and any as at by each every for from if in into many of on or some the to with".split())
_GENERIC_TYPES = frozenset(
    "any bool bytes callable dict float generator int iterable iterator list mapping none object self sequence set str tuple type union".split()
)
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
    """A noun from a non-generic annotation (``-> Config`` gives "config", ``Optional["Config"]`` too)."""
    text = annotation_text(type_text)
    if not text:
        return None
    base, _, inner = text.partition("[")
    base = base.rsplit(".", 1)[-1].strip()
    if base in ("Optional", "Final", "ClassVar", "Annotated") and inner:
        return _noun(re.split(r"[\],]", inner, maxsplit=1)[0])
    base = re.split(r"[|, ]", base, maxsplit=1)[0]
    return None if not base or base.lower() in _GENERIC_TYPES else _phrase(words(base))


_QUOTED_NAME = re.compile(r"""(["'])([A-Za-z_][\w.]*)\1""")


def annotation_text(annotation: str | None) -> str | None:
    """An annotation as a docstring writes its type: on one line, forward references unquoted
    (``"Station"`` is Station, ``Optional['Node']`` is Optional[Node]); None when there is none."""
    text = one_line(annotation)
    if text and len(text) > 1 and text[0] == text[-1] and text[0] in "'\"":
        text = text[1:-1].strip()  # the whole annotation is a string: "dict[str, Any]"
    return _QUOTED_NAME.sub(r"\2", text) if text else None


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
    if lints_as_property(ctx):
        return f"The {_phrase(words(ctx.name)) or 'value'}."
    return _sentence_from_words(ctx, words(ctx.name) or ["run"])


def third_person(word: str) -> str | None:
    """The verb whose third person ``word`` is ("contains" -> "contain", "matches" -> "match"), or None."""
    if len(word) < 4 or not word.endswith("s") or word.endswith(("ss", "us", "is")):
        return None
    for ending, base in (("ies", "y"), ("sses", "ss"), ("shes", "sh"), ("ches", "ch"), ("xes", "x"), ("zes", "z"), ("oes", "o")):
        if word.endswith(ending) and is_verb(word[: -len(ending)] + base):
            return word[: -len(ending)] + base
    return word[:-1] if is_verb(word[:-1]) or word[:-1] in _PREDICATE_VERBS else None


# Verbs whose third person opens a predicate's name ("contains_folder", "exists").
_PREDICATE_VERBS = frozenset("allow contain equal exist include need require support".split())


# Words that open a description rather than a command ("The value of x.", "This function ...",
# "Helper that ..."): PEP 257 asks a function's summary to be a command, and ruff's D401
# (numpy and pep257 conventions) reports these.
_DESCRIPTIVE_OPENINGS = frozenset(
    """a abstract all also an any basically data each every false function helper here internal it
    its just main method my new no none not one our simply some that the their there these this
    those true utility wrapper your""".split()
)
# What follows a verb's third person when it is one ("Determines the ...", "Checks whether ...").
_OBJECT_OPENINGS = frozenset(
    "a all an any each every how if its new no one some that the their these this those what whether which".split()
)


def imperative(summary: str) -> str | None:
    """A function's summary in the imperative mood: "Returns the sum." becomes "Return the sum.";
    the summary itself when it already is one (or opens with no word); None when it describes
    instead of commanding ("The sum of ...", "Helper for ...", "Getting the ...")."""
    match = re.match(r"([A-Za-z]+)\b(.*)", summary, re.DOTALL)
    if not match:
        return summary
    word, rest = match.groups()
    lower = word.lower()
    if lower in _DESCRIPTIVE_OPENINGS:
        return None
    base = third_person(lower)
    following = rest.split()[0].lower().strip("`,.") if rest.split() else ""
    if base is None and following in _OBJECT_OPENINGS and len(lower) > 3 and lower.endswith("s") and not lower.endswith(("ss", "us", "is")):
        base = _strip_third_person(lower)
    if base:
        return base.capitalize() + rest
    if lower.endswith(("ing", "ed")) and len(lower) > 5 and not is_verb(lower):
        return None
    return summary


def _strip_third_person(word: str) -> str:
    for ending, base in (("ies", "y"), ("sses", "ss"), ("shes", "sh"), ("ches", "ch"), ("xes", "x"), ("zes", "z"), ("oes", "o")):
        if word.endswith(ending):
            return word[: -len(ending)] + base
    return word[:-1]


def _sentence_from_words(ctx: FunctionContext, parts: list[str]) -> str:
    head, rest = parts[0], _phrase(parts[1:])
    if head in QUESTIONS and rest:
        return f"Check whether {_subject(ctx)} {QUESTIONS[head]} {rest}."
    if third_person(head) and (rest or head[:-1] in _PREDICATE_VERBS):
        return f"Check whether {_subject(ctx)} {head}{' ' + _with_article(rest) if rest else ''}."
    if head in ("to", "as") and rest:
        return f"Convert {_subject(ctx)} to {rest}."
    if head == "on" and rest:
        return f"Handle the {rest}."
    if head in PREPOSITIONS or (head in QUESTIONS or head == "to") and not rest:
        # "from_dict": no verb in the name; what it does with the dict is the code's to say.
        result = _with_article(_noun(ctx.returns_annotation) or ("values" if ctx.is_generator else "result"))
        verb = "Yield" if ctx.is_generator else "Return" if ctx.returns_value else None
        where = f" {head} {_with_article(rest)}" if rest and head in PREPOSITIONS else ""
        return f"{verb} {result}{where}." if verb else f"Run `{ctx.name}`."
    if is_verb(head):
        verb = _VERB_FORMS.get(head, head)
        if parts[1:2] and parts[1] in PARTICLES:
            verb, rest = f"{verb} {parts[1]}", _phrase(parts[2:])
        target = rest or _noun(ctx.returns_annotation) or _first_parameter(ctx) or _subject(ctx).removeprefix("the ")
        return f"{verb.capitalize()} {_with_article(target)}."
    if parts == ["main"]:
        return "Run the program."
    verb = "Yield" if ctx.is_generator else "Return" if ctx.returns_value else "Run"
    phrase = _phrase(parts)
    if len(parts) == 1 and head.endswith(("ed", "ing")) and verb != "Run":
        # A lone participle is no noun: "Return the indexed." reads as a slip.
        phrase = f"{phrase} {'values' if ctx.is_generator else 'result'}"
    return f"{verb} {_with_article(phrase)}."


def _first_parameter(ctx: FunctionContext) -> str:
    """The first parameter's words: "add(item)" adds the item, not the class it is a method of.

    Not a parameter with a default: that is an option of the verb, not its object (a blind
    review rated "Render the encoding." for ``render(encoding=None)`` and "Open the mode." for
    ``open(mode="rb")`` false; the class, "Open the private file.", is what they act on)."""
    named = [p for p in ctx.parameters if p.kind not in (ParamKind.VAR_POSITIONAL, ParamKind.VAR_KEYWORD)]
    return _phrase(words(named[0].name)) if ctx.is_method and named and named[0].default is None else ""


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
    if parts and third_person(parts[0]):
        rest = f" {_with_article(_phrase(parts[1:]))}" if len(parts) > 1 else ""
        return f"True if {_subject(ctx)} {parts[0]}{rest}, otherwise False."
    if parts and (is_verb(parts[0]) or parts[0] in ("to", "iter") or parts[0] in PREPOSITIONS):
        # "from_dict" returns no "from dict": the words after a preposition name where it comes from.
        parts = [] if parts[0] in PREPOSITIONS - {"to"} else parts[1:]
        parts = parts[1:] if parts[:1] and parts[0] in PARTICLES else parts
        parts = [] if parts[:1] and parts[0] in PREPOSITIONS else parts  # "get_from_cache" names no result
    target = _phrase(parts) or _noun(ctx.returns_annotation) or ("values" if ctx.is_generator else "result")
    if len(target.split()) == 1 and target.endswith(("ed", "ing")):
        target += " values" if ctx.is_generator else " result"  # "The indexed." reads as a slip
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
    "annotation_text",
    "PARTICLES",
    "PREPOSITIONS",
    "QUESTIONS",
    "VERBS",
    "describe_exception",
    "describe_parameter",
    "describe_return",
    "documented_name",
    "imperative",
    "is_verb",
    "one_line",
    "repeated_ngram",
    "restates_name",
    "shown_default",
    "summarise",
    "third_person",
    "tokens",
    "words",
]
