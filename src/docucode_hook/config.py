"""Read ``[tool.docucode]`` from pyproject.toml into a frozen Config; CLI flags override it."""

from __future__ import annotations

import difflib
import sys
import warnings
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any, Mapping

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on 3.10 only
    import tomli as tomllib

from docucode_hook.code.records import Style

BACKENDS = ("template", "model", "server")
# The style each file's docstrings get: found per file (docstrings/styles.py), unless one is named.
AUTO = "auto"
STYLES = (AUTO, *(style.value for style in Style))
RUNTIMES = ("auto", "ctranslate2", "transformers")
# Old runtime names that still work, each with one warning: "numpy" ran the shipped model
# before CTranslate2 replaced the NumPy runtime.
RUNTIME_ALIASES = {"numpy": "ctranslate2"}
# What replaces a part the model is unsure of: text derived from the code, or a marker a reviewer must replace.
PLACEHOLDERS = ("derived", "todo")
# How the server backend asks: "chat" (/v1/chat/completions, an instruction-tuned model) or
# "completions" (/v1/completions with DocuCode's own raw prompt, for DocuCode's models served).
SERVER_APIS = ("chat", "completions")


class ConfigError(Exception):
    """A configuration value that cannot be used; reported as a usage error (exit 2)."""


@dataclass(frozen=True)
class Config:
    style: Style | None = None  # None: "auto", each file's style found by docstrings/styles.py
    backend: str = "model"
    model: str | None = None  # None: the model shipped inside the package
    adapter: str | None = None
    runtime: str = "auto"  # auto | ctranslate2 | transformers (auto: CTranslate2 for a local Llama)
    offline: bool = False  # pass local_files_only to from_pretrained
    server_url: str | None = None  # the engine's base URL as its docs give it, e.g. http://127.0.0.1:11434
    # chat by default: the models teams serve are instruction-tuned, and only the chat endpoint
    # applies their chat template; "completions" is for DocuCode's own models served.
    server_api: str = "chat"
    server_model: str | None = None  # None: the one model the server lists at /v1/models
    server_api_key_env: str | None = None  # name of the env var holding the key
    server_timeout: float = 60.0  # seconds per request
    # Requests in flight, one function each. Ollama, LM Studio and llama-cpp-python run one at a
    # time by default, and a queued request spends its timeout waiting: raise it to the engine's
    # parallel slots (llama-server --parallel, OLLAMA_NUM_PARALLEL, vLLM, a hosted API).
    server_concurrency: int = 1
    # A chat answer holds whole sections (and a reasoning model's thinking): more than max-new-tokens.
    server_max_tokens: int = 400
    server_context: int = 0  # the served context in tokens; 0: ask the engine (else prompts are not fitted)
    server_seed: int = 0
    server_retry_budget: float = 20.0  # seconds a run may wait on 429/503 answers, all requests together
    server_max_failures: int = 3  # failures in a row after which a run stops asking the server
    # Engine-specific fields merged into every request body (e.g. {top_k = 1}).
    server_options: Mapping[str, Any] = field(default_factory=dict)
    # The confidence gates of the model in use: a docucode.json path or an inline table; None:
    # the model's own (the shipped model's, or a model directory's docucode.json), else no gate.
    thresholds: str | Mapping[str, Any] | None = None
    batch_size: int = 16  # a commit's functions in one batch: a batch costs its slowest row's steps
    max_new_tokens: int = 96  # a summary and a few parameter lines; longer is mostly loops
    cache: bool = True
    include: tuple[str, ...] = ("*.py",)
    exclude: tuple[str, ...] = ()
    skip_overload: bool = True
    skip_property_setters: bool = True
    skip_private: bool = True
    skip_dunder: bool = True
    document_init: bool = False  # document __init__ even when dunders are skipped
    skip_nested: bool = True
    skip_tests: bool = True
    test_globs: tuple[str, ...] = ("test_*.py", "*_test.py", "tests/*", "*/tests/*", "conftest.py")
    min_lines: int = 0  # skip functions whose body is shorter than this
    include_classes: bool = False
    include_modules: bool = False
    refresh_stale: bool = False  # fix mode rewrites sections that disagree with the signature
    check_stale: bool = True  # --check reports DCU101.. for stale docstrings
    convert: bool = False  # fix mode rewrites docstrings in another style into the file's (losslessly)
    check_style: bool = True  # --check reports DCU105 for docstrings in another style
    fail_under: float = 0.0  # minimum docstring coverage (percent) for --check
    max_line_length: int = 88
    placeholders: str = "derived"  # derived | todo (see PLACEHOLDERS)
    comments: bool = False  # inline comments for complex blocks (opt-in)
    max_comments_per_function: int = 2  # comments on complex blocks a function may have, old ones included
    comment_threshold: int = 2  # complexity points a block needs for a comment (rule in comments.py)

    def replace(self, **changes: Any) -> "Config":
        """A copy of this configuration with ``changes`` applied and validated again."""
        return load_mapping({**self.as_mapping(), **changes})

    def as_mapping(self) -> dict[str, Any]:
        """Every option of this configuration, keyed by field name."""
        return {f.name: getattr(self, f.name) for f in fields(self)}


_FIELDS = {f.name: f for f in fields(Config)}


def _coerce(name: str, value: Any) -> Any:
    default = _FIELDS[name].default
    if name == "server_options":
        if not isinstance(value, Mapping):
            raise ConfigError(f"server_options must be a table of request fields (got {value!r})")
        return dict(value)  # a copy: plain, so a Config pickles to --check's worker processes
    if name == "thresholds":
        if value is not None and not isinstance(value, (str, Mapping)):
            raise ConfigError(f"thresholds must be a docucode.json path or a table (got {value!r})")
        return dict(value) if isinstance(value, Mapping) else value
    if name == "server_api":
        if value not in SERVER_APIS:
            raise ConfigError(f"server_api must be one of {', '.join(SERVER_APIS)} (got {value!r})")
        return value
    if name == "style":
        if value is None or isinstance(value, Style):  # Config.replace passes the enum or None (auto)
            return value
        if str(value).lower() == AUTO:
            return None
        try:
            return Style(str(value).lower())
        except ValueError:
            raise ConfigError(f"style must be one of auto, google, numpy, sphinx (got {value!r})") from None
    if name == "runtime":
        if value in RUNTIME_ALIASES:
            warnings.warn(f"runtime {value!r} is now called {RUNTIME_ALIASES[value]!r}", stacklevel=2)
            return RUNTIME_ALIASES[value]
        if value not in RUNTIMES:
            raise ConfigError(f"runtime must be one of {', '.join(RUNTIMES)} (got {value!r})")
        return value
    if name == "placeholders":
        if value not in PLACEHOLDERS:
            raise ConfigError(f"placeholders must be one of {', '.join(PLACEHOLDERS)} (got {value!r})")
        return value
    if name == "backend":
        if value not in BACKENDS:
            raise ConfigError(f"backend must be one of {', '.join(BACKENDS)} (got {value!r})")
        return value
    if isinstance(default, bool):
        if not isinstance(value, bool):
            raise ConfigError(f"{name} must be true or false (got {value!r})")
        return value
    if isinstance(default, tuple):
        if isinstance(value, str):
            value = [value]
        if not isinstance(value, (list, tuple)) or not all(isinstance(v, str) for v in value):
            raise ConfigError(f"{name} must be a list of strings (got {value!r})")
        return tuple(value)
    if isinstance(default, (int, float)):
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ConfigError(f"{name} must be a number (got {value!r})")
        if isinstance(default, int) and not isinstance(value, int):
            raise ConfigError(f"{name} must be an integer (got {value!r})")
        if value < 0:
            raise ConfigError(f"{name} must not be negative (got {value!r})")
        return value
    if value is not None and not isinstance(value, str):
        raise ConfigError(f"{name} must be a string (got {value!r})")
    return value


def _nearest(key: str) -> str:
    """' (did you mean 'style'?)' for a misspelt key, spelt with the key's own separator; else ''."""
    separator = "_" if "_" in key else "-"
    names = [name.replace("_", separator) for name in _FIELDS]
    match = difflib.get_close_matches(key, names, n=1)
    return f" (did you mean {match[0]!r}?)" if match else ""


def load_mapping(raw: Mapping[str, Any]) -> Config:
    """Validate a ``[tool.docucode]``-shaped mapping (dashed or underscored keys)."""
    values: dict[str, Any] = {}
    for key, value in raw.items():
        name = key.replace("-", "_")
        if name not in _FIELDS:
            raise ConfigError(f"unknown option {key!r} in [tool.docucode]{_nearest(key)}")
        values[name] = _coerce(name, value)
    config = Config(**values)
    if config.fail_under > 100:
        raise ConfigError(f"fail_under is a percentage from 0 to 100 (got {config.fail_under:g})")
    if config.batch_size < 1:
        raise ConfigError("batch_size must be at least 1")
    if config.comment_threshold < 1:
        raise ConfigError("comment_threshold must be at least 1 (0 would comment trivial lines)")
    if config.backend == "server" and not config.server_url:
        raise ConfigError("backend 'server' needs server_url")
    if config.server_concurrency < 1:
        raise ConfigError("server_concurrency must be at least 1")
    if config.server_max_tokens < 1:
        raise ConfigError("server_max_tokens must be at least 1")
    if config.server_max_failures < 1:
        raise ConfigError("server_max_failures must be at least 1")
    return config


def find_project_root(start: Path) -> Path:
    """The nearest directory at or above ``start`` holding .git or pyproject.toml."""
    start = start.resolve()
    for directory in (start, *start.parents):
        if (directory / ".git").exists() or (directory / "pyproject.toml").is_file():
            return directory
    return start


def load_config(config_file: Path | None, root: Path, overrides: Mapping[str, Any]) -> Config:
    """Read the config file (default: ``root/pyproject.toml``) and apply CLI overrides."""
    path = config_file or root / "pyproject.toml"
    raw: dict[str, Any] = {}
    if config_file is not None and not path.is_file():
        raise ConfigError(f"{path}: config file not found")
    if path.is_file():
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            raise ConfigError(f"{path}: invalid TOML: {exc}") from None
        # A dedicated docucode.toml may hold the options at top level.
        raw = data.get("tool", {}).get("docucode", data if path.name != "pyproject.toml" else {})
    merged = {**raw, **{k: v for k, v in overrides.items() if v is not None}}
    config = load_mapping(merged)
    if isinstance(config.thresholds, str):
        # A relative path is read from where the configuration is, not from where the hook runs.
        return config.replace(thresholds=str(path.parent.resolve() / Path(config.thresholds).expanduser()))
    return config


__all__ = [
    "AUTO",
    "BACKENDS",
    "PLACEHOLDERS",
    "RUNTIMES",
    "RUNTIME_ALIASES",
    "SERVER_APIS",
    "STYLES",
    "Config",
    "ConfigError",
    "find_project_root",
    "load_config",
    "load_mapping",
]
