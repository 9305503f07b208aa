"""The template backend: deterministic summaries and descriptions derived from the code."""

from __future__ import annotations

from pathlib import Path

import pytest

from docucode_hook.backends import Generation, get_backend
from docucode_hook.backends.template import TemplateBackend
from docucode_hook.config import Config
from docucode_hook.code.records import Parameter, ParamKind, Style
from docucode_hook.code.contexts import iter_contexts
from docucode_hook.precision.grounding import grounded_text
from docucode_hook.docstrings.phrasing import describe_parameter, summarise

SOURCE = '''from config import Config


def get_user_name(user_id):
    return str(user_id)


def is_valid(path):
    return bool(path)


def load(path) -> Config:
    return Config(path)


def load_from_file(path):
    return open(path).read()


def get_all_users():
    return []


def to_json(data):
    return str(data)


def user_count():
    return 1


def iter_lines(path):
    yield from open(path)


def main():
    pass


def parse(text):
    return text


class HttpServer:
    def __init__(self, port):
        self.port = port

    def run(self):
        pass

    def __repr__(self):
        return "HttpServer()"

    @property
    def address(self):
        return self.port

    def is_running(self):
        return True
'''
SUMMARIES = {
    "servers": "The servers module.",
    "get_user_name": "Get the user name.",
    "is_valid": "Check whether the path is valid.",
    "load": "Load the config.",
    "load_from_file": "Load from file.",
    "get_all_users": "Get all users.",
    "to_json": "Convert the data to json.",
    "user_count": "Return the user count.",
    "iter_lines": "Iterate over the lines.",
    "main": "Run the program.",
    "parse": "Parse the text.",
    "HttpServer": "A http server.",
    "HttpServer.__init__": "Initialise the HttpServer.",
    "HttpServer.run": "Run the http server.",
    "HttpServer.__repr__": "Represent the http server for debugging.",
    "HttpServer.address": "The address.",
    "HttpServer.is_running": "Check whether the http server is running.",
}
CONTEXTS = {ctx.qualname: ctx for ctx in iter_contexts(SOURCE, "pkg/servers.py", classes=True, modules=True)}


@pytest.mark.parametrize(("qualname", "expected"), SUMMARIES.items())
def test_summary_from_the_code(qualname: str, expected: str) -> None:
    assert summarise(CONTEXTS[qualname]) == expected


@pytest.mark.parametrize(
    ("param", "expected"),
    [
        (Parameter("path", ParamKind.POSITIONAL_OR_KEYWORD), "The path."),
        (Parameter("n_items", ParamKind.POSITIONAL_OR_KEYWORD, "int"), "The number of items."),
        (Parameter("userName", ParamKind.KEYWORD_ONLY), "The user name."),
        (Parameter("recursive", ParamKind.KEYWORD_ONLY, "bool", "False"), "Whether recursive is enabled."),
        (Parameter("use_cache", ParamKind.KEYWORD_ONLY, None, "True"), "Whether to use cache."),
        (Parameter("args", ParamKind.VAR_POSITIONAL), "Additional positional arguments."),
        (Parameter("kwargs", ParamKind.VAR_KEYWORD), "Additional keyword arguments."),
        (Parameter("timeout", ParamKind.POSITIONAL_ONLY, "float", "30.0"), "The timeout."),  # the renderer words the default
        (Parameter("pattern", ParamKind.POSITIONAL_OR_KEYWORD, None, "'" + "x" * 40 + "'"), "The pattern."),
    ],
)
def test_parameter_descriptions(param: Parameter, expected: str) -> None:
    assert describe_parameter(param) == expected


@pytest.mark.parametrize("style", list(Style))
def test_generate_is_grounded_and_deterministic(style: Style) -> None:
    backend = TemplateBackend()
    contexts = list(CONTEXTS.values())
    texts = [generation.text for generation in backend.generate(contexts, style)]
    assert texts == [generation.text for generation in backend.generate(contexts, style)]
    assert len(texts) == len(contexts) and all(texts)
    # Grounding adds Returns/Yields/Raises but never changes what the template wrote.
    for ctx, text in zip(contexts, texts):
        grounded = grounded_text(text, ctx, style)
        assert grounded.startswith(text.split("\n")[0]) and grounded == grounded_text(None, ctx, style)


def test_generate_google_text() -> None:
    ctx = next(iter_contexts("def fetch(url: str, *args, retries=3, **kwargs):\n    pass\n", "m.py"))
    assert TemplateBackend().generate([ctx], Style.GOOGLE) == [Generation(
        "Fetch the url.\n\nArgs:\n    url (str): The url.\n    *args: Additional positional arguments.\n"
        "    retries: The retries.\n    **kwargs: Additional keyword arguments."
    )]  # no model, so no log-probabilities


def test_backend_identity_and_lookup() -> None:
    backend = get_backend(Config(backend="template"))
    assert isinstance(backend, TemplateBackend)
    assert backend.name == "template" and backend.cache_key().startswith("template-")
    assert backend.cache_key() == TemplateBackend().cache_key()  # the same code, the same key


# Names made only of underscores have no words. A verb-only name ("get") whose subject had
# none (a first parameter "_", a method of "class _") crashed with IndexError (jax's
# state/discharge.py in the 10,200-file round trip); the others gave "A ." or "Call the  .".
UNDERSCORE_SOURCE = '''def _():
    pass


def __(_):
    return 1


def ___(*_, **__):
    pass


def get(_):
    return 1


def is_ok(__):
    return True


def to_json(_):
    return "{}"


class _:
    def get(self):
        return 1

    def __call__(self):
        pass

    @property
    def __(self):
        return 1
'''
UNDERSCORE_SUMMARIES = [
    ("module", "_", "The module."),
    ("function", "_", "Run it."),
    ("function", "__", "Run it."),
    ("function", "___", "Run it."),
    ("function", "get", "Get it."),
    ("function", "is_ok", "Check whether it is ok."),
    ("function", "to_json", "Convert it to json."),
    ("class", "_", "A class."),
    ("function", "_.get", "Get it."),
    ("function", "_.__call__", "Call the instance."),
    ("function", "_.__", "The value."),
]
UNDERSCORE_CONTEXTS = {
    (ctx.kind, ctx.qualname): ctx for ctx in iter_contexts(UNDERSCORE_SOURCE, "pkg/_.py", classes=True, modules=True)
}


@pytest.mark.parametrize(("kind", "qualname", "expected"), UNDERSCORE_SUMMARIES)
def test_every_name_gives_a_sentence(kind: str, qualname: str, expected: str) -> None:
    ctx = UNDERSCORE_CONTEXTS[(kind, qualname)]
    assert summarise(ctx) == expected
    for style in Style:  # the whole docstring: parameter and return descriptions too
        text = grounded_text(TemplateBackend().generate([ctx], style)[0].text, ctx, style)
        assert text.startswith(expected) and "  " not in text.split("\n")[0]


def test_a_failing_template_is_not_called_again_as_its_own_fallback(tmp_path, monkeypatch) -> None:
    """The pipeline falls back to the template when a backend fails; when the template itself
    fails, it ran the same code again and raised the error twice ("During handling of the above
    exception ...", which hid where it came from). It now raises it once; the file is untouched."""
    from docucode_hook.config import load_mapping
    from docucode_hook.pipeline import fix_paths

    calls = []

    def broken(self, contexts, style):
        calls.append(len(contexts))
        raise IndexError("list index out of range")

    monkeypatch.setattr(TemplateBackend, "generate", broken)
    path = tmp_path / "mod.py"
    path.write_text("def f(x):\n    return x\n")
    with pytest.raises(IndexError) as raised:
        fix_paths([path], tmp_path, load_mapping({"backend": "template", "cache": False}))
    assert calls == [1] and raised.value.__context__ is None
    assert path.read_text() == "def f(x):\n    return x\n"


def test_the_cache_key_follows_the_code_that_writes_the_text(tmp_path, monkeypatch) -> None:
    from docucode_hook.backends import template

    before = TemplateBackend().cache_key()
    changed = tmp_path / "template.py"
    changed.write_bytes(Path(template.__file__).read_bytes() + b"\n# a phrasing rule changed\n")
    monkeypatch.setattr(template, "__file__", str(changed))
    template.code_digest.cache_clear()
    try:
        assert TemplateBackend().cache_key() != before  # an upgrade's text is not read from an older cache
    finally:
        template.code_digest.cache_clear()
