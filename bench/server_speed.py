"""Functions/s through the server backend against a local llama.cpp server, and a commit's hook latency with it (issue 21).

Both against the built-in path (the shipped model on CTranslate2 int8), in the same run, on
the same functions, so the numbers compare as ratios on whatever machine runs them:

1. Throughput: the stdlib functions of ``bench/throughput.py``, written by the server backend
   (completions API, the shipped model's GGUF export served by llama-cpp-python's server)
   with 1, 2 and 4 requests in flight, and by the model backend; no docstring cache.
2. Latency: ``pre-commit run`` on the 3 staged files / 10 functions of
   ``bench/hook_latency.py``, in a cold process with an empty docstring cache, the hook
   configured for the server, then for the shipped model, taking turns.

Run (about 2 to 3 minutes on the 2-core machine; ``make engine`` first)::

    PYTHONPATH=src:. python bench/server_speed.py --functions 32 --repeat 3
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Sequence

from bench.hook_latency import precommit_env, snapshot_hook_repo, stage_files
from bench.llama_engine import ENGINE_PYTHON, llama_server
from bench.throughput import bench_contexts

CONCURRENCY = (1, 2, 4)


# The context the server runs the model with (--n_ctx), given as README's configuration gives it:
# llama-cpp-python's server does not say it, and an unfitted prompt over it is refused (HTTP 400).
SERVED_CONTEXT = 512


def server_config(url: str, concurrency: int) -> Any:
    from docucode_hook.config import Config

    return Config(backend="server", server_url=url, server_api="completions", server_concurrency=concurrency,
                  server_context=SERVED_CONTEXT, cache=False)


def timed_generate(backend: Any, contexts: Sequence[Any]) -> tuple[float, list[Any]]:
    from docucode_hook.code.records import Style

    started = time.perf_counter()
    generations = backend.generate(list(contexts), Style.GOOGLE)
    return time.perf_counter() - started, generations


def throughput(url: str, contexts: Sequence[Any]) -> list[dict[str, Any]]:
    """One row per way of writing the functions: functions/s, and how many got no text."""
    import warnings

    from docucode_hook.backends.model import ModelBackend
    from docucode_hook.backends.server import ServerBackend
    from docucode_hook.config import Config

    rows = []
    ct2 = ModelBackend(Config(cache=False))
    ct2.engine()  # loaded (and converted on first use) before the clock starts, as the server's model is
    seconds, generations = timed_generate(ct2, contexts)
    rows.append({"path": "model backend, CTranslate2 int8 (built in)", "seconds": seconds,
                 "missing": sum(g is None for g in generations)})
    texts = None
    for concurrency in CONCURRENCY:
        backend = ServerBackend(server_config(url, concurrency))
        backend.model_id()  # the /v1/models question, once, outside the clock
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            seconds, generations = timed_generate(backend, contexts)
        these = [g.text if g else None for g in generations]
        rows.append({"path": f"server backend, {concurrency} in flight", "seconds": seconds,
                     "missing": sum(g is None for g in generations), "warnings": [str(w.message) for w in caught],
                     "same_text_as_1": texts is None or these == texts})
        texts = texts or these
    for row in rows:
        row["functions_per_s"] = len(contexts) / row["seconds"]
    return rows


def _run(args: Sequence[str], cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess:
    done = subprocess.run(list(args), cwd=cwd, env=env, capture_output=True, text=True)
    return done


def latency(url: str, repeat: int) -> dict[str, list[float]]:
    """Wall seconds of ``pre-commit run`` per configuration, ``repeat`` times each, taking turns."""
    work = Path(tempfile.mkdtemp(prefix="docucode-server-latency-"))
    env = precommit_env(work)
    (work / "hook").mkdir()
    rev = snapshot_hook_repo(work / "hook", env)
    configs = {"llama.cpp server (completions)":
               (f'[tool.docucode]\nbackend = "server"\nserver-url = "{url}"\nserver-api = "completions"\n'
                f"server-context = {SERVED_CONTEXT}\n"),
               "shipped model, CTranslate2 int8": "[tool.docucode]\n"}
    repos = {}
    for index, (name, config) in enumerate(configs.items()):
        repo = work / f"user-{index}"
        repo.mkdir()
        _run(["git", "init", "-q"], repo, env)
        (repo / ".pre-commit-config.yaml").write_text(
            f"repos:\n  - repo: {work / 'hook'}\n    rev: {rev}\n    hooks:\n      - id: docucode\n")
        (repo / "pyproject.toml").write_text(config)
        _run(["git", "add", "-A"], repo, env)
        _run(["git", "commit", "-qm", "config"], repo, env)
        _run([sys.executable, "-m", "pre_commit", "install-hooks"], repo, env)  # untimed: once per machine
        repos[name] = repo

    def hook_run(name: str, cache: Path) -> float:
        repo = repos[name]
        _run(["git", "reset", "-q", "--hard"], repo, env)
        _run(["git", "clean", "-qfd"], repo, env)
        stage_files(repo, env)
        started = time.perf_counter()
        done = subprocess.run([sys.executable, "-m", "pre_commit", "run"], cwd=repo, capture_output=True,
                              text=True, env={**env, "DOCUCODE_CACHE_DIR": str(cache)})
        wall = time.perf_counter() - started
        if done.returncode != 1 or "files were modified" not in done.stdout or "warning" in done.stdout:
            raise SystemExit(f"unexpected hook result ({name}):\n{done.stdout}\n{done.stderr}")
        return wall

    built_in = list(configs)[1]
    hook_run(built_in, work / "warm")  # untimed: converts the shipped model, once per machine
    walls: dict[str, list[float]] = {name: [] for name in configs}
    for attempt in range(repeat):
        for index, name in enumerate(configs):
            cache = work / f"cache-{attempt}-{index}"  # no docstrings cached; the converted model is there
            shutil.copytree(work / "warm" / "models", cache / "models")
            walls[name].append(hook_run(name, cache))
    shutil.rmtree(work, ignore_errors=True)
    return walls


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--functions", type=int, default=32)
    parser.add_argument("--repeat", type=int, default=3, help="hook runs per configuration")
    parser.add_argument("--outtype", default="q8_0", help="GGUF weight type served")
    args = parser.parse_args(argv)
    if not ENGINE_PYTHON.is_file():
        parser.error(f"{ENGINE_PYTHON} is missing: run `make engine` first")
    from docucode_hook.backends.loading import DEFAULT_MODEL_DIR
    from train.gguf_file import write_gguf

    contexts = bench_contexts(args.functions)
    with tempfile.TemporaryDirectory() as directory:
        model = write_gguf(DEFAULT_MODEL_DIR, Path(directory) / f"docucode-small-{args.outtype}.gguf", args.outtype)
        with llama_server(model, "--n_ctx", str(SERVED_CONTEXT)) as served:
            rows = throughput(served.url, contexts)
            walls = latency(served.url.removesuffix("/v1"), args.repeat)
    print(f"{platform.node()} ({os.cpu_count()} CPUs), {time.strftime('%Y-%m-%d')}, {len(contexts)} functions\n")
    print("| path | s | functions/s | vs built-in | no text | same text as 1 in flight |")
    print("|---|---|---|---|---|---|")
    built_in = rows[0]["functions_per_s"]
    for row in rows:
        same = "" if "same_text_as_1" not in row else ("yes" if row["same_text_as_1"] else "no")
        print(f"| {row['path']} | {row['seconds']:.1f} | {row['functions_per_s']:.2f} | "
              f"{row['functions_per_s'] / built_in:.2f}x | {row['missing']} | {same} |")
    for row in rows:
        for message in row.get("warnings", []):
            print(f"\n{row['path']}: warning: {message}")
    print("\n| hook on a commit (10 functions) | median s | runs |")
    print("|---|---|---|")
    for name, values in walls.items():
        print(f"| {name} | {statistics.median(values):.2f} | {', '.join(f'{v:.2f}' for v in values)} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
