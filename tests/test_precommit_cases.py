"""Awkward commits through the real pre-commit and git: partial staging, renames, deletions, non-Python, exclude.

All cases share one hook repo and PRE_COMMIT_HOME (session fixtures in conftest.py), so the
hook environment is installed once.
"""

from __future__ import annotations

import re
from pathlib import Path

from precommit_support import PRE_COMMIT, run as _run, user_repo
from test_precommit import UNDOCUMENTED

from docucode_hook.docstrings.verify import assert_only_docstrings_changed, docstring_values

LATER = "\n\ndef later(x):\n    return x * 2\n"


def _installed_repo(tmp_path: Path, env, hook_repo, config_extra: str = "") -> Path:
    repo = user_repo(tmp_path / "user", env, hook_repo)
    if config_extra:
        config = repo / ".pre-commit-config.yaml"
        config.write_text(config.read_text() + config_extra)
    _run([*PRE_COMMIT, "install"], repo, env)
    _run(["git", "add", "-A"], repo, env)
    _run(["git", "commit", "-qm", "setup", "--no-verify"], repo, env)
    return repo


def _commit(repo: Path, env, message: str = "change"):
    return _run(["git", "commit", "-m", message], repo, env, check=False)


def _stopped_by_hook(done) -> bool:
    return done.returncode != 0 and "files were modified by this hook" in done.stdout + done.stderr


def test_partially_staged_file_only_staged_content_is_touched(tmp_path, env, hook_repo) -> None:
    repo = _installed_repo(tmp_path, env, hook_repo)
    path = repo / "geometry.py"
    # Far enough apart that git's context lines of the unstaged hunks do not touch the docstring.
    padding = "".join(f"UNIT_{n} = {n}\n" for n in range(8))
    path.write_text("SCALE = 1\n" + padding + "\n\n" + UNDOCUMENTED + "\n\n" + padding.replace("UNIT", "RATIO"))
    _run(["git", "add", "geometry.py"], repo, env)
    staged = path.read_text()
    path.write_text(staged.replace("SCALE = 1", "SCALE = 2") + LATER)  # unstaged: top and bottom of the file

    done = _commit(repo, env)
    assert _stopped_by_hook(done), done.stdout + done.stderr
    after = path.read_text()
    assert "SCALE = 2" in after and "def later(x):\n    return x * 2\n" in after  # the unstaged work is back
    documented = docstring_values(after)
    assert any("width" in text for text in documented.values())  # the staged function got its docstring
    later_line = after[: after.index("def later")].count("\n") + 1
    assert later_line not in documented  # the unstaged function was never shown to the hook
    assert _run(["git", "show", ":geometry.py"], repo, env).stdout == staged  # the index is the author's
    assert_only_docstrings_changed(staged.replace("SCALE = 1", "SCALE = 2") + LATER, after)


def test_renamed_file_is_fixed_under_its_new_name(tmp_path, env, hook_repo) -> None:
    repo = _installed_repo(tmp_path, env, hook_repo)
    (repo / "old.py").write_text(UNDOCUMENTED)
    _run(["git", "add", "old.py"], repo, env)
    _run(["git", "commit", "-qm", "old", "--no-verify"], repo, env)
    _run(["git", "mv", "old.py", "new.py"], repo, env)

    assert _stopped_by_hook(_commit(repo, env))
    assert not (repo / "old.py").exists()
    assert_only_docstrings_changed(UNDOCUMENTED, (repo / "new.py").read_text())
    assert '"""' in (repo / "new.py").read_text()
    _run(["git", "add", "new.py"], repo, env)
    assert _commit(repo, env).returncode == 0


def test_deleted_file_commits_cleanly(tmp_path, env, hook_repo) -> None:
    repo = _installed_repo(tmp_path, env, hook_repo)
    (repo / "gone.py").write_text(UNDOCUMENTED)
    (repo / "kept.py").write_text(UNDOCUMENTED)
    _run(["git", "add", "-A"], repo, env)
    _run(["git", "commit", "-qm", "two files", "--no-verify"], repo, env)
    _run(["git", "rm", "-q", "gone.py"], repo, env)

    done = _commit(repo, env, "remove gone.py")
    assert done.returncode == 0, done.stdout + done.stderr
    assert (repo / "kept.py").read_text() == UNDOCUMENTED  # not staged, so not the hook's business
    assert "gone.py" not in _run(["git", "ls-files"], repo, env).stdout


def test_non_python_files_are_left_alone(tmp_path, env, hook_repo) -> None:
    repo = _installed_repo(tmp_path, env, hook_repo)
    files = {
        "notes.txt": UNDOCUMENTED,
        "tool": "#!/usr/bin/env python\n" + UNDOCUMENTED,  # pre-commit calls it python; we document *.py only
        "stub.pyi": "def area(width: float, height: float) -> float: ...\n",
    }
    for name, text in files.items():
        (repo / name).write_text(text)
    _run(["git", "add", "-A"], repo, env)

    done = _commit(repo, env, "non-python")
    assert done.returncode == 0, done.stdout + done.stderr
    for name, text in files.items():
        assert (repo / name).read_text() == text


def test_exclude_in_the_users_pre_commit_config_is_honoured(tmp_path, env, hook_repo) -> None:
    repo = _installed_repo(tmp_path, env, hook_repo, config_extra="        exclude: ^vendor/\n")
    (repo / "vendor").mkdir()
    (repo / "vendor" / "lib.py").write_text(UNDOCUMENTED)
    (repo / "app.py").write_text(UNDOCUMENTED)
    _run(["git", "add", "-A"], repo, env)

    assert _stopped_by_hook(_commit(repo, env))
    assert (repo / "vendor" / "lib.py").read_text() == UNDOCUMENTED
    assert '"""' in (repo / "app.py").read_text()


def test_stopped_commit_names_the_functions_and_the_next_step(tmp_path, env, hook_repo) -> None:  # noqa: F811
    repo = _installed_repo(tmp_path, env, hook_repo)
    (repo / "geometry.py").write_text(UNDOCUMENTED + LATER)
    _run(["git", "add", "-A"], repo, env)

    done = _commit(repo, env)
    assert _stopped_by_hook(done), done.stdout + done.stderr
    output = done.stdout + done.stderr
    new = (repo / "geometry.py").read_text().splitlines()
    later_line = next(n for n, line in enumerate(new, 1) if line.startswith("def later"))
    assert "  geometry.py:1 area\n" in output and f"  geometry.py:{later_line} later\n" in output
    assert "docucode: review the changes (git diff), then git add and commit again" in output


def test_unstaged_edit_next_to_the_docstring_is_reported_before_pre_commit_undoes_it(
    tmp_path, env, hook_repo  # noqa: F811
) -> None:
    repo = _installed_repo(tmp_path, env, hook_repo)
    path = repo / "geometry.py"
    path.write_text(UNDOCUMENTED)
    _run(["git", "add", "geometry.py"], repo, env)
    edited = UNDOCUMENTED.replace("return width * height", "return abs(width * height)")
    path.write_text(edited)  # unstaged, on the line right under where the docstring goes

    done = _commit(repo, env)
    output = done.stdout + done.stderr
    assert done.returncode != 0
    assert "Stashed changes conflicted with hook auto-fixes" in output  # pre-commit undid the fix...
    assert path.read_text() == edited  # ...so the working tree holds no docstring, only the edit
    assert ("docucode: warning: geometry.py: unstaged edits next to the new docstrings; pre-commit will undo "
            "the docstrings (stage the file first, see README: Unstaged edits)") in output

    # The way out the README gives: stage the edit too, then commit.
    _run(["git", "add", "geometry.py"], repo, env)
    assert _stopped_by_hook(second := _commit(repo, env)), second.stdout + second.stderr
    assert "warning" not in second.stdout + second.stderr
    assert_only_docstrings_changed(edited, path.read_text())
    _run(["git", "add", "geometry.py"], repo, env)
    assert _commit(repo, env).returncode == 0


def test_unstaged_edit_far_from_the_docstring_gets_no_warning(tmp_path, env, hook_repo) -> None:  # noqa: F811
    repo = _installed_repo(tmp_path, env, hook_repo)
    path = repo / "geometry.py"
    padding = "".join(f"UNIT_{n} = {n}\n" for n in range(8))
    path.write_text(UNDOCUMENTED + "\n\n" + padding)
    _run(["git", "add", "geometry.py"], repo, env)
    path.write_text(UNDOCUMENTED + "\n\n" + padding + LATER)

    done = _commit(repo, env)
    assert _stopped_by_hook(done) and "Stashed changes conflicted" not in done.stdout + done.stderr
    assert "warning" not in done.stdout + done.stderr
    assert '"""' in path.read_text() and "def later" in path.read_text()


def _readme_block(heading: str, language: str) -> str:
    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")
    section = readme[readme.index(heading) :]
    start = section.index(f"```{language}\n") + len(f"```{language}\n")
    return section[start : section.index("```", start)]


def test_quick_start_config_works_as_written(tmp_path, env, hook_repo) -> None:  # noqa: F811
    """The README's config, with this checkout standing in for the project's URL: autoupdate pins it, commit runs it."""
    repo_path, rev = hook_repo
    config = _readme_block("## Quick start", "yaml")
    url = re.search(r"repo: (\S+)", config).group(1)
    repo = tmp_path / "user"
    repo.mkdir()
    _run(["git", "init", "-q"], repo, env)
    (repo / ".pre-commit-config.yaml").write_text(config.replace(url, str(repo_path)))
    (repo / "pyproject.toml").write_text('[tool.docucode]\nbackend = "template"\n')
    commands = [line.split("#")[0].strip() for line in _readme_block("## Quick start", "bash").splitlines()]
    setup = [c for c in commands if c.startswith("pre-commit ") and c.split()[1] in ("autoupdate", "install")]
    assert [c.split()[1] for c in setup] == ["autoupdate", "install"]
    for command in setup:
        _run([*PRE_COMMIT, *command.replace(url, str(repo_path)).split()[1:]], repo, env)
    assert f"rev: {rev}" in (repo / ".pre-commit-config.yaml").read_text()  # no tag yet: main's commit

    (repo / "geometry.py").write_text(UNDOCUMENTED)
    _run(["git", "add", "-A"], repo, env)
    assert _stopped_by_hook(_commit(repo, env))
    assert '"""' in (repo / "geometry.py").read_text()
