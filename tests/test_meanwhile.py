"""Work done while CTranslate2 generates: run once inside a generation, never outside its block, never harmful."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from docucode_hook.backends.convert import convert_to_ct2
from docucode_hook.backends.ct2 import CT2Engine, load_ct2
from docucode_hook.backends.meanwhile import meanwhile, run_queued

from conftest import SAMPLE_SOURCE

PROMPTS = ["def add(a, b):\n    return a + b\n### Docstring\n", "class Stack:\n    def push(self, item):\n        pass\n"]


@pytest.fixture(scope="module")
def engine(tiny_model_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> CT2Engine:
    converted = convert_to_ct2(tiny_model_dir, tmp_path_factory.mktemp("ct2") / "tiny-int8", "int8")
    return CT2Engine(load_ct2(converted, "int8"), max_new_tokens=24, repetition_penalty=1.0)


def test_a_queued_task_runs_once_during_the_next_generation_and_changes_no_token(engine: CT2Engine):
    ids = engine.encode(PROMPTS)
    alone = engine.generate(ids, [False, False])
    ran: list[int] = []
    with meanwhile(lambda: ran.append(len(ran))):
        assert ran == []  # queued, not run
        first = engine.generate(ids, [False, False])
        second = engine.generate(ids, [False, False])
    assert ran == [0]
    assert first == second == alone


def test_a_task_no_generation_ran_is_dropped_at_the_end_of_its_block(engine: CT2Engine):
    ran: list[str] = []
    with meanwhile(lambda: ran.append("late")):
        pass
    run_queued()
    engine.generate(engine.encode(PROMPTS[:1]), [False])
    assert ran == []


def test_a_failing_task_leaves_the_generation_and_later_tasks_alone(engine: CT2Engine):
    ids = engine.encode(PROMPTS)
    alone = engine.generate(ids, [False, False])
    ran: list[str] = []

    def broken() -> None:
        raise ImportError("no such module")

    with meanwhile(broken, lambda: ran.append("next")):
        assert engine.generate(ids, [False, False]) == alone
    assert ran == ["next"]


def test_the_hook_imports_libcst_while_the_model_generates(tiny_model_dir: Path, tmp_path: Path):
    """In a fresh process, as a commit runs it: LibCST is not loaded when generation starts, and is when it ends."""
    path = tmp_path / "helpers.py"
    path.write_text(SAMPLE_SOURCE)
    code = textwrap.dedent(f"""
        import sys
        from pathlib import Path
        from docucode_hook.backends.ct2 import CT2Engine
        from docucode_hook.config import Config
        from docucode_hook.pipeline import fix_paths

        generate, seen = CT2Engine.generate, []
        def watched(self, *args):
            seen.append("libcst" in sys.modules)
            rows = generate(self, *args)
            seen.append("libcst" in sys.modules)
            return rows
        CT2Engine.generate = watched
        path = Path({str(path)!r})
        results = fix_paths([path], path.parent, Config(model={str(tiny_model_dir)!r}, max_new_tokens=8, cache=False))
        assert results[0].written and not results[0].error, results
        print(seen)
    """)
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[False, True]"
