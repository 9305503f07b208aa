"""Wall time of one ``git commit``'s hook run: 3 staged files, 10 new functions, default model.

What a developer waits for: ``pre-commit run`` over the staged files in a cold process, with
the shipped model and an empty docstring cache (a re-run after review hits the cache). The
hook environment is installed once, untimed, as pre-commit does on first use, and so is the
shipped model's conversion to CTranslate2, which happens once per machine (that first run is
timed on its own)::

    python bench/hook_latency.py --repeat 3 --out /tmp/hook_latency.json
    python bench/hook_latency.py --repeat 5 --baseline main --skip-torch   # and main's hook, turn about

Then, in separate cold processes, where the time goes: interpreter + imports, model load,
generation of the 10 docstrings, and the rest (scan, ground, insert, verify, write); and the
same generation through the transformers runtime (torch), which the hook avoids.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path
from typing import Sequence

CHECKOUT = Path(__file__).resolve().parents[1]

FILES = {
    "shop/cart.py": '''
        def add_item(cart: dict, sku: str, quantity: int = 1) -> dict:
            cart[sku] = cart.get(sku, 0) + quantity
            return cart


        def remove_item(cart: dict, sku: str) -> None:
            if sku not in cart:
                raise KeyError(sku)
            del cart[sku]


        def total(cart: dict, prices: dict) -> float:
            return sum(prices[sku] * n for sku, n in cart.items())


        def is_empty(cart: dict) -> bool:
            return not cart
    ''',
    "shop/pricing.py": '''
        def apply_discount(price: float, percent: float) -> float:
            if not 0 <= percent <= 100:
                raise ValueError("percent out of range")
            return price * (1 - percent / 100)


        def round_price(price: float, step: float = 0.05) -> float:
            return round(price / step) * step


        def price_table(prices: dict) -> list:
            return sorted(prices.items(), key=lambda item: item[1])
    ''',
    "shop/report.py": '''
        import csv


        def write_report(rows: list, path: str) -> None:
            with open(path, "w", newline="") as handle:
                csv.writer(handle).writerows(rows)


        def read_report(path: str) -> list:
            with open(path, newline="") as handle:
                return list(csv.reader(handle))


        def iter_large(rows: list, minimum: float):
            for row in rows:
                if float(row[1]) >= minimum:
                    yield row
    ''',
}

PHASES = """
import json, sys, time
t0 = time.perf_counter()
from docucode_hook.backends.model import ModelBackend
from docucode_hook.config import Config
from docucode_hook.code.records import Style
from docucode_hook.code.contexts import iter_contexts
t1 = time.perf_counter()
contexts = [c for path in sys.argv[2:] for c in iter_contexts(open(path).read(), path)]
backend = ModelBackend(Config(runtime=sys.argv[1], cache=False, batch_size=10), quantize_4bit=False)
engine = backend.engine()
t2 = time.perf_counter()
backend.generate(contexts, Style.GOOGLE)
t3 = time.perf_counter()
print(json.dumps({"imports": t1 - t0, "load": t2 - t1, "generate": t3 - t2, "functions": len(contexts)}))
"""


def _run(args: Sequence[str], cwd: Path, env: dict, check: bool = True) -> subprocess.CompletedProcess:
    done = subprocess.run(list(args), cwd=cwd, env=env, capture_output=True, text=True)
    if check and done.returncode != 0:
        raise SystemExit(f"{' '.join(args)} failed ({done.returncode}):\n{done.stdout}\n{done.stderr}")
    return done


def precommit_env(work: Path) -> dict[str, str]:
    """The environment the timed commits run in: pre-commit's own home under ``work``, no global
    git config, a fixed author; no PYTHONPATH, so each hook environment runs the code pre-commit
    installed in it."""
    return {**{k: v for k, v in os.environ.items() if k != "PYTHONPATH"},
            "PRE_COMMIT_HOME": str(work / "pre-commit"), "GIT_CONFIG_GLOBAL": os.devnull,
            "GIT_AUTHOR_NAME": "b", "GIT_AUTHOR_EMAIL": "b@example.com",
            "GIT_COMMITTER_NAME": "b", "GIT_COMMITTER_EMAIL": "b@example.com"}


def snapshot_hook_repo(dest: Path, env: dict, rev: str | None = None) -> str:
    """This checkout's working tree (or its commit ``rev``) as a git repo, as pre-commit would fetch it;
    returns the snapshot's rev."""
    if rev is not None:
        archive = subprocess.run(["git", "archive", rev], cwd=CHECKOUT, capture_output=True, check=True).stdout
        subprocess.run(["tar", "-x", "-C", str(dest)], input=archive, check=True)
    else:
        listed = _run(["git", "ls-files", "-co", "--exclude-standard", "-z"], CHECKOUT, env).stdout.split("\0")
        for name in filter(None, listed):
            if (CHECKOUT / name).is_file():
                (dest / name).parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(CHECKOUT / name, dest / name)
    _run(["git", "init", "-q"], dest, env)
    _run(["git", "add", "-A"], dest, env)
    _run(["git", "commit", "-qm", "snapshot"], dest, env)
    return _run(["git", "rev-parse", "HEAD"], dest, env).stdout.strip()


def user_repo(root: Path, hook_repo: Path, rev: str, env: dict) -> Path:
    root.mkdir()
    _run(["git", "init", "-q"], root, env)
    (root / ".pre-commit-config.yaml").write_text(
        f"repos:\n  - repo: {hook_repo}\n    rev: {rev}\n    hooks:\n      - id: docucode\n"
    )
    _run(["git", "add", "-A"], root, env)
    _run(["git", "commit", "-qm", "config"], root, env)
    return root


def stage_files(repo: Path, env: dict) -> None:
    for name, text in FILES.items():
        (repo / name).parent.mkdir(parents=True, exist_ok=True)
        (repo / name).write_text(textwrap.dedent(text).lstrip())
    _run(["git", "add", "-A"], repo, env)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--out", type=Path)
    parser.add_argument("--skip-torch", action="store_true", help="do not time the transformers runtime")
    parser.add_argument("--baseline", metavar="REV", help="also time the hook at this commit, the two taking turns")
    args = parser.parse_args(argv)

    work = Path(tempfile.mkdtemp(prefix="docucode-latency-"))
    env = precommit_env(work)
    (work / "hook").mkdir()
    rev = snapshot_hook_repo(work / "hook", env)
    repo = user_repo(work / "user", work / "hook", rev, env)
    _run([sys.executable, "-m", "pre_commit", "install-hooks"], repo, env)  # untimed: once per machine
    baseline_repo = None
    if args.baseline:
        (work / "baseline-hook").mkdir()
        baseline_rev = snapshot_hook_repo(work / "baseline-hook", env, args.baseline)
        baseline_repo = user_repo(work / "baseline-user", work / "baseline-hook", baseline_rev, env)
        _run([sys.executable, "-m", "pre_commit", "install-hooks"], baseline_repo, env)

    def commit(cache: Path, repo: Path = repo) -> float:
        _run(["git", "reset", "-q", "--hard"], repo, env)
        _run(["git", "clean", "-qfd"], repo, env)
        stage_files(repo, env)
        env["DOCUCODE_CACHE_DIR"] = str(cache)
        started = time.perf_counter()
        done = _run([sys.executable, "-m", "pre_commit", "run"], repo, env, check=False)
        wall = time.perf_counter() - started
        if done.returncode != 1 or "files were modified" not in done.stdout or "warning" in done.stdout:
            raise SystemExit(f"unexpected hook result:\n{done.stdout}\n{done.stderr}")
        return wall

    first_use = commit(work / "first-use")  # converts the shipped model into the cache
    walls, baseline_walls = [], []
    for attempt in range(args.repeat):
        cache = work / f"cache-{attempt}"  # no docstrings cached; the converted model is there
        shutil.copytree(work / "first-use" / "models", cache / "models")
        walls.append(commit(cache))
        if baseline_repo is not None:
            baseline_walls.append(commit(work / f"baseline-cache-{attempt}", baseline_repo))

    paths = [str(repo / name) for name in FILES]
    _run(["git", "reset", "-q", "--hard"], repo, env)
    stage_files(repo, env)
    python = sys.executable
    phases = {}
    for runtime in ("ctranslate2",) if args.skip_torch else ("ctranslate2", "transformers"):
        started = time.perf_counter()
        this_checkout = {**env, "PYTHONPATH": str(CHECKOUT / "src")}  # the phases of this tree's code
        out = _run([python, "-c", PHASES, runtime, *paths], repo, this_checkout).stdout
        phases[runtime] = {**json.loads(out.splitlines()[-1]), "process_wall": time.perf_counter() - started}

    result = {"pre_commit_run_wall_s": walls, "median_s": statistics.median(walls), "first_use_s": first_use,
              "phases": phases, "cpus": os.cpu_count(), "python": sys.version.split()[0],
              "load_average": os.getloadavg() if hasattr(os, "getloadavg") else None}
    print(f"pre-commit run, 3 files / 10 functions, cold process and cache: "
          f"median {result['median_s']:.2f} s over {len(walls)} ({', '.join(f'{w:.2f}' for w in walls)}); "
          f"first use on the machine (converting the model): {first_use:.2f} s")
    if baseline_walls:
        ratios = [b / w for w, b in zip(walls, baseline_walls)]
        result.update(baseline=args.baseline, baseline_wall_s=baseline_walls, baseline_ratio=statistics.median(ratios))
        print(f"the hook at {args.baseline}, turn about: median {statistics.median(baseline_walls):.2f} s "
              f"({', '.join(f'{w:.2f}' for w in baseline_walls)}); this tree is {result['baseline_ratio']:.2f}x as fast")
    print("\n| runtime | process wall s | imports s | model load s | generate s (10 functions) |\n|---|---:|---:|---:|---:|")
    for runtime, p in phases.items():
        print(f"| {runtime} | {p['process_wall']:.2f} | {p['imports']:.2f} | {p['load']:.2f} | {p['generate']:.2f} |")
    if args.out:
        args.out.write_text(json.dumps(result, indent=2))
    shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
