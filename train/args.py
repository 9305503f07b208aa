"""The command lines and YAML configs of the ``train`` scripts, all read one way: from a typed dataclass.

Each field of a script's arguments dataclass is a ``--dashed-flag`` and, where the script takes
``--config``, a YAML key (dashed or underscored). The command line wins over the YAML file,
which wins over the field's default. A field's type decides its flag:

- ``bool``: ``--flag`` / ``--no-flag``;
- ``int``, ``float``, ``str``, ``Path``, an ``Enum`` of its values (``X | None`` too): one value;
- ``tuple[X, ...]``: one or more values (``--packages a b``), or one value per repeated flag
  with ``append=True``, or one value its own ``parse`` splits (``--split 0.9,0.05,0.05``);
- a nested dataclass: a YAML section only.

``arg(...)`` declares a field with its help text and these options. A config that cannot be read,
names an unknown key or holds a value of the wrong type raises ``ArgsError``: one line that
names the file.
"""

from __future__ import annotations

import argparse
import dataclasses
import enum
import types
import typing
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any, TypeVar

T = TypeVar("T")


class ArgsError(ValueError):
    """A config file that cannot be read or does not fit its dataclass; the message names the file."""


def arg(
    default: Any = dataclasses.MISSING,
    *,
    help: str | None = None,  # argparse's own name for it
    choices: Sequence[str] | None = None,
    metavar: str | None = None,
    parse: Callable[[str], Any] | None = None,
    append: bool = False,
    positional: bool = False,
) -> Any:
    """A dataclass field with the metadata its command-line flag is built from.

    ``parse`` turns the flag's one string into the field's value (raise
    ``argparse.ArgumentTypeError`` on bad input); ``positional`` makes the field an argument
    without a flag (a tuple field takes any number).
    """
    metadata = {"help": help, "choices": choices, "metavar": metavar, "parse": parse,
                "append": append, "positional": positional}
    return dataclasses.field(default=default, metadata=metadata)


def _shape(hint: Any) -> tuple[Any, bool, bool]:
    """(element type, may be None, is a tuple) of a field's type hint."""
    optional = False
    if typing.get_origin(hint) in (typing.Union, types.UnionType):
        members = [a for a in typing.get_args(hint) if a is not type(None)]
        optional = len(members) < len(typing.get_args(hint))
        hint = members[0]
    if typing.get_origin(hint) is tuple:
        return typing.get_args(hint)[0], optional, True
    return hint, optional, False


def _has_default(f: dataclasses.Field) -> bool:
    return f.default is not dataclasses.MISSING or f.default_factory is not dataclasses.MISSING


def add_arguments(parser: argparse.ArgumentParser, cls: type) -> None:
    """One flag (or positional) per field of ``cls``; a flag left out parses to None."""
    hints = typing.get_type_hints(cls)
    for f in dataclasses.fields(cls):
        if dataclasses.is_dataclass(hints[f.name]):
            continue  # a YAML section
        meta = f.metadata
        kind, _, many = _shape(hints[f.name])
        help_text = meta.get("help")
        if help_text and not isinstance(f.default, bool) and f.default not in (None, (), "", dataclasses.MISSING):
            help_text += f" (default: {f.default.value if isinstance(f.default, enum.Enum) else f.default})"
        help_text = help_text and help_text.replace("%", "%%")  # argparse formats help with %
        options: dict[str, Any] = {"help": help_text, "metavar": meta.get("metavar"), "choices": meta.get("choices")}
        convert = meta.get("parse") or kind
        if isinstance(kind, enum.EnumMeta):
            options["choices"] = list(kind)
            options["metavar"] = options["metavar"] or "{" + ",".join(str(m.value) for m in kind) + "}"
        if meta.get("positional"):
            parser.add_argument(f.name, nargs="*" if many else None, type=convert, **options)
            continue
        # default None everywhere: only the flags given override the config file and the defaults.
        options.update(dest=f.name, default=None)
        if kind is bool and not many:
            options["action"] = argparse.BooleanOptionalAction
            options.pop("metavar")
        elif many and meta.get("append"):
            options.update(action="append", type=convert)
        elif many and not meta.get("parse"):
            options.update(nargs="+", type=convert)
        else:
            options["type"] = convert
        if not _has_default(f):
            options["required"] = True
        parser.add_argument("--" + f.name.replace("_", "-"), **options)


def _coerce(name: str, hint: Any, value: Any, where: str) -> Any:
    """A YAML value checked against the field's type hint."""
    kind, optional, many = _shape(hint)
    if value is None:
        if optional:
            return None
        raise ArgsError(f"{where}: {name} must not be empty")
    if many:
        value = [value] if isinstance(value, (str, int, float)) else value
        try:
            if not isinstance(value, list):
                raise ArgsError(value)
            return tuple(_coerce(name, kind, item, where) for item in value)
        except ArgsError:
            words = {str: "strings", int: "integers", float: "numbers"}
            raise ArgsError(f"{where}: {name} must be a list of {words.get(kind, kind.__name__)} (got {value!r})") from None
    if dataclasses.is_dataclass(kind):
        return from_mapping(kind, value, f"{where}: {name}")
    if kind is bool:
        if not isinstance(value, bool):
            raise ArgsError(f"{where}: {name} must be true or false (got {value!r})")
        return value
    if kind in (int, float):
        allowed = (int,) if kind is int else (int, float)
        if isinstance(value, bool) or not isinstance(value, allowed):
            raise ArgsError(f"{where}: {name} must be {'an integer' if kind is int else 'a number'} (got {value!r})")
        return kind(value)
    if isinstance(kind, enum.EnumMeta):
        try:
            return kind(value)
        except ValueError:
            raise ArgsError(f"{where}: {name} must be one of {', '.join(str(m.value) for m in kind)} "
                            f"(got {value!r})") from None
    if not isinstance(value, str):
        raise ArgsError(f"{where}: {name} must be a string (got {value!r})")
    return kind(value) if kind is Path else value


def _values(cls: type, mapping: Any, where: str) -> dict[str, Any]:
    """The fields a mapping (dashed or underscored keys) sets, each checked against its type."""
    if not isinstance(mapping, Mapping):
        raise ArgsError(f"{where}: expected a mapping of option: value, got {type(mapping).__name__}")
    hints = typing.get_type_hints(cls)
    known = {f.name for f in dataclasses.fields(cls)}
    values = {}
    for key, value in mapping.items():
        name = str(key).replace("-", "_")
        if name not in known:
            raise ArgsError(f"{where}: unknown option {key!r}")
        values[name] = _coerce(name, hints[name], value, where)
    return values


def from_mapping(cls: type[T], mapping: Any, where: str) -> T:
    """``cls`` from a mapping of field names; missing fields keep their defaults."""
    try:
        return cls(**_values(cls, mapping, where))
    except TypeError as exc:  # a field without a default left out
        raise ArgsError(f"{where}: {exc}") from None


def read_config(path: Path) -> dict[str, Any]:
    """The mapping in a YAML config file."""
    import yaml

    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except OSError as exc:
        raise ArgsError(f"{path}: cannot read config: {exc.strerror}") from None
    except yaml.YAMLError as exc:
        raise ArgsError(f"{path}: invalid YAML: {str(exc).splitlines()[0]}") from None
    if not isinstance(raw, dict):
        raise ArgsError(f"{path}: config must be a mapping of option: value")
    return raw


def load_config(cls: type[T], path: Path) -> T:
    """``cls`` from a YAML file; its sections fill nested dataclass fields."""
    return from_mapping(cls, read_config(path), str(path))


def from_namespace(cls: type[T], namespace: argparse.Namespace, config: Path | None = None) -> T:
    """``cls`` from parsed flags over the YAML file ``config`` (if any) over the defaults."""
    values = _values(cls, read_config(config), str(config)) if config else {}
    for f in dataclasses.fields(cls):
        value = getattr(namespace, f.name, None)
        if value is not None:
            values[f.name] = tuple(value) if isinstance(value, list) else value
    return cls(**values)


def build_parser(cls: type, prog: str, description: str | None = None,
                 config: bool | Path = False) -> argparse.ArgumentParser:
    """The parser of one script: ``cls``'s flags, and ``--config`` (with ``config`` as its default if a path)."""
    parser = argparse.ArgumentParser(prog=prog, description=description)
    if config is not False:
        default = config if isinstance(config, Path) else None
        parser.add_argument("--config", type=Path, default=default,
                            help="YAML file of these options; flags override it" +
                                 (f" (default: {default})" if default else ""))
    add_arguments(parser, cls)
    return parser


def parse_args(cls: type[T], argv: Sequence[str] | None = None, *, prog: str, description: str | None = None,
               config: bool | Path = False, check: Callable[[T], str | None] | None = None) -> T:
    """``cls`` from the command line, over the ``--config`` YAML file where ``config`` allows one.

    Usage errors, and the message ``check`` returns for arguments that do not go together,
    exit 2 through argparse; a bad config file raises ``ArgsError``.
    """
    parser = build_parser(cls, prog, description, config)
    namespace = parser.parse_args(argv)
    args = from_namespace(cls, namespace, namespace.config if config is not False else None)
    problem = check(args) if check else None
    if problem:
        parser.error(problem)
    return args


def parse_command(commands: Mapping[str, type], argv: Sequence[str] | None = None, *, prog: str,
                  description: str | None = None) -> tuple[str, Any]:
    """(subcommand, its arguments dataclass) for a script of subcommands, one dataclass each."""
    parser = argparse.ArgumentParser(prog=prog, description=description)
    subparsers = parser.add_subparsers(dest="command", required=True)
    for name, cls in commands.items():
        add_arguments(subparsers.add_parser(name, help=(cls.__doc__ or "").split("\n", 1)[0]), cls)
    namespace = parser.parse_args(argv)
    return namespace.command, from_namespace(commands[namespace.command], namespace)
