"""train.args: flags and YAML configs from one typed dataclass, the command line over the file over the defaults."""

from __future__ import annotations

import argparse
import enum
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from train.args import ArgsError, arg, load_config, parse_args, parse_command


class Colour(enum.Enum):
    RED = "red"
    BLUE = "blue"


def _pair(text: str) -> tuple[str, Path]:
    name, sep, path = text.partition("=")
    if not sep:
        raise argparse.ArgumentTypeError(f"expected NAME=PATH, got {text!r}")
    return name, Path(path)


@dataclass(frozen=True)
class Inner:
    width: int = 4
    rate: float = 0.5


@dataclass(frozen=True)
class Options:
    out: Path = arg(Path("out"), help="where results go")
    count: int = arg(3, help="how many")
    rate: float = arg(0.1)
    limit: int | None = arg(None)
    name: str = arg("plain")
    colour: Colour = arg(Colour.RED)
    verbose: bool = arg(False, help="say more")
    cache: bool = arg(True)
    packages: tuple[str, ...] = arg(())
    fractions: tuple[float, ...] = arg((), parse=lambda text: tuple(float(p) for p in text.split(",")))
    runs: tuple[tuple[str, Path], ...] = arg((), parse=_pair, append=True)
    inner: Inner = field(default_factory=Inner)


def _parse(argv: list[str], **kwargs: object) -> Options:
    return parse_args(Options, argv, prog="prog", **kwargs)


def test_no_flags_give_the_defaults() -> None:
    assert _parse([]) == Options()


def test_each_type_reads_its_flag() -> None:
    args = _parse(["--out", "o", "--count", "7", "--rate", "2", "--limit", "9", "--name", "x", "--colour", "blue",
                   "--verbose", "--no-cache", "--packages", "a", "b", "--fractions", "0.25,0.5",
                   "--runs", "a=x.jsonl", "--runs", "b=y.jsonl"])
    assert args == Options(out=Path("o"), count=7, rate=2.0, limit=9, name="x", colour=Colour.BLUE, verbose=True,
                           cache=False, packages=("a", "b"), fractions=(0.25, 0.5),
                           runs=(("a", Path("x.jsonl")), ("b", Path("y.jsonl"))))
    assert isinstance(args.rate, float) and isinstance(args.out, Path)


@pytest.mark.parametrize("argv", [["--count", "many"], ["--colour", "green"], ["--runs", "nopath"], ["--what"]])
def test_a_bad_flag_is_a_usage_error(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as stop:
        _parse(argv)
    assert stop.value.code == 2 and "prog: error:" in capsys.readouterr().err


def test_a_field_without_default_is_a_required_flag(capsys: pytest.CaptureFixture[str]) -> None:
    @dataclass(frozen=True, kw_only=True)
    class Needs:
        data: Path = arg(help="input")
        seed: int = arg(0)

    assert parse_args(Needs, ["--data", "d"], prog="p") == Needs(data=Path("d"))
    with pytest.raises(SystemExit):
        parse_args(Needs, [], prog="p")
    assert "--data" in capsys.readouterr().err


def test_help_shows_the_help_text_and_default(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        _parse(["--help"])
    text = " ".join(capsys.readouterr().out.split())
    assert "--out OUT where results go (default: out)" in text
    assert "--verbose, --no-verbose say more" in text and "{red,blue}" in text


def test_the_cli_wins_over_the_yaml_which_wins_over_the_defaults(tmp_path: Path) -> None:
    config = tmp_path / "c.yaml"
    config.write_text("count: 5\nname: from-yaml\nverbose: true\npackages: [p, q]\ncolour: blue\n"
                      "limit: null\nrate: 1\ninner:\n  width: 8\n", encoding="utf-8")
    args = _parse(["--config", str(config), "--count", "6"], config=True)
    assert (args.count, args.name, args.verbose, args.packages, args.colour) == (6, "from-yaml", True, ("p", "q"), Colour.BLUE)
    assert args.rate == 1.0 and isinstance(args.rate, float)
    assert args.inner == Inner(width=8) and args.out == Path("out")


def test_a_default_config_file_is_read_without_the_flag(tmp_path: Path) -> None:
    config = tmp_path / "c.yaml"
    config.write_text("max-steps: 2\n", encoding="utf-8")

    @dataclass(frozen=True)
    class Steps:
        max_steps: int = 1

    assert parse_args(Steps, [], prog="p", config=config).max_steps == 2  # dashed keys too
    assert parse_args(Steps, [], prog="p", config=True).max_steps == 1


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("cont: 5\n", "unknown option 'cont'"),
        ("inner:\n  height: 2\n", "inner: unknown option 'height'"),
        ("count: five\n", "count must be an integer"),
        ("count: true\n", "count must be an integer"),
        ("verbose: 1\n", "verbose must be true or false"),
        ("packages: [1, 2]\n", "packages must be a list of strings"),
        ("colour: green\n", "colour must be one of red, blue"),
        ("name: null\n", "name must not be empty"),
        ("- a list\n", "config must be a mapping"),
        ("count: [unclosed\n", "invalid YAML"),
    ],
)
def test_a_bad_config_is_one_line_naming_the_file(tmp_path: Path, text: str, message: str) -> None:
    config = tmp_path / "bad.yaml"
    config.write_text(text, encoding="utf-8")
    with pytest.raises(ArgsError) as error:
        _parse(["--config", str(config)], config=True)
    assert str(error.value).startswith(str(config)) and message in str(error.value)
    assert "\n" not in str(error.value)


def test_a_missing_config_names_the_file(tmp_path: Path) -> None:
    with pytest.raises(ArgsError, match="nope.yaml: cannot read config"):
        load_config(Options, tmp_path / "nope.yaml")


def test_check_reports_arguments_that_do_not_go_together(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as stop:
        _parse(["--count", "0"], check=lambda a: "--count must be at least 1" if a.count < 1 else None)
    assert stop.value.code == 2 and "prog: error: --count must be at least 1" in capsys.readouterr().err


def test_subcommands_each_read_their_own_dataclass() -> None:
    @dataclass(frozen=True, kw_only=True)
    class Build:
        """Build it."""

        out: Path = arg()
        seed: int = arg(0)

    @dataclass(frozen=True)
    class Tally:
        """Count it."""

        out: Path = arg(Path("o"))

    commands = {"build": Build, "tally": Tally}
    assert parse_command(commands, ["build", "--out", "x", "--seed", "2"], prog="p") == ("build", Build(out=Path("x"), seed=2))
    assert parse_command(commands, ["tally"], prog="p") == ("tally", Tally())
    with pytest.raises(SystemExit):
        parse_command(commands, ["tally", "--seed", "2"], prog="p")
