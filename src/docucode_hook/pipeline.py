"""Run the hook over files: scan, generate in batches across files, ground, insert, verify, write."""

from __future__ import annotations

import dataclasses
import difflib
import gc
import importlib
import warnings
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Callable, Iterator, Sequence

from docucode_hook.backends import Backend, Generation, get_backend
from docucode_hook.config import Config
from docucode_hook.code.records import FunctionContext, Style
from docucode_hook.docstrings.styles import StyleChoice, StyleRule, style_rule
from docucode_hook.cpus import usable_cpus
from docucode_hook.fileio import SourceError, SourceFile, read_source, write_source
from docucode_hook.finder import FileScan, Finding, Target, scan_source
from docucode_hook.backends.meanwhile import meanwhile

if TYPE_CHECKING:  # LibCST is for fix mode only; --check never imports it
    from docucode_hook.comments import CommentSite
    from docucode_hook.precision.confidence import Thresholds
    from docucode_hook.precision.prose import PartOrigin

Progress = Callable[[int], None]
# Who wrote a docstring's prose, and why the template did where another backend was configured.
Maker = tuple[str, "str | None"]


@dataclass(frozen=True)
class WrittenDocstring:
    """One docstring fix mode wrote (or ``--diff`` would write), and who wrote its prose."""

    line: int  # the def line in the new text
    name: str  # qualified name, e.g. Inventory.restock
    by: str  # "model", "server" or "template"; "refresh" for a stale docstring's sections; "convert"
    reason: str | None = None  # why the template stood in for the configured backend
    # Per part (summary, description, each entry): from the backend, derived from code, or dropped, and why.
    parts: tuple[PartOrigin, ...] = ()


@dataclass
class FileResult:
    """How one file ended: ``error`` set means it was left byte-for-byte untouched."""

    path: str
    findings: tuple[Finding, ...] = ()
    documented: int = 0
    total: int = 0
    skipped: tuple[str, ...] = ()  # the skip rule's reason for each definition left out
    docstrings: tuple[WrittenDocstring, ...] = ()  # inserted or refreshed
    commented: int = 0  # inline comments inserted (--comments)
    diff: str = ""
    error: str | None = None
    style: StyleChoice | None = None  # the file's docstring style and why (None when it could not be read)
    unconverted: tuple[tuple[int, str], ...] = ()  # (line, reason) for docstrings convert left as they are

    @property
    def changed(self) -> bool:
        """Whether the file's text changed (or would change, with ``--diff`` and ``--check``)."""
        return bool(self.diff)

    @property
    def written(self) -> int:
        """How many docstrings were written in this file."""
        return len(self.docstrings)


@dataclass
class _Work:
    source: SourceFile
    scan: FileScan
    texts: dict[int, str] = field(default_factory=dict)
    makers: dict[int, Maker] = field(default_factory=dict)
    parts: dict[int, tuple[PartOrigin, ...]] = field(default_factory=dict)


def _display(path: Path, root: Path) -> str:
    try:
        return path.resolve().relative_to(root).as_posix()
    except ValueError:
        return str(path)


def scan_file(
    path: Path, root: Path, config: Config, *, targets: bool = True, styles: StyleRule | None = None
) -> tuple[SourceFile | None, FileScan | None, FileResult]:
    """Read and scan one file; problems become a FileResult with ``error`` set."""
    shown = _display(path, root)
    result = FileResult(path=shown)
    try:
        source = read_source(path)
        scan = scan_source(source.text, shown, config, targets=targets, styles=styles)
    except SourceError as exc:
        result.error = str(exc)
        return None, None, result
    except SyntaxError as exc:
        result.error = f"syntax error at line {exc.lineno}: {exc.msg}"
        return None, None, result
    result.findings, result.documented, result.total = scan.findings, scan.documented, scan.total
    result.skipped = tuple(reason for _, reason in scan.skipped)
    result.style, result.unconverted = scan.style, scan.unconverted
    return source, scan, result


# Below this many files, starting worker processes costs more than it saves.
PARALLEL_CHECK_FILES = 64


def _check_file(path: Path, root: Path, config: Config, styles: StyleRule) -> FileResult:
    return scan_file(path, root, config, targets=False, styles=styles)[2]


@contextmanager
def _without_cyclic_gc() -> Iterator[None]:
    """A scan makes no reference cycles, so reference counting frees each AST; the cyclic
    collector would only re-walk the live ones, a fifth of --check's time on a large tree."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def check_paths(paths: Sequence[Path], root: Path, config: Config) -> list[FileResult]:
    """``--check``: the fast ast pass only; LibCST and the backends are never touched.

    A large tree is scanned in worker processes (``ast.parse`` is most of the time and holds
    the GIL); results come back in the order of ``paths``.
    """
    check = partial(_check_file, root=root, config=config, styles=style_rule(config, root))
    workers = min(usable_cpus(), len(paths) // PARALLEL_CHECK_FILES)
    if workers < 2:
        with _without_cyclic_gc():
            return [check(path) for path in paths]
    # Small chunks: when one worker is done the other has at most one chunk left, which with
    # 91-file chunks on transformers was up to 0.9 s of CPU (16 files: 0.24 s at most).
    chunksize = max(1, min(16, len(paths) // (workers * 16)))
    from concurrent.futures import ProcessPoolExecutor  # 15 ms of imports a fix run never needs

    with _without_cyclic_gc(), ProcessPoolExecutor(workers, initializer=gc.disable) as pool:
        return list(pool.map(check, paths, chunksize=chunksize))


def _load_backend(config: Config) -> Backend:
    try:
        return get_backend(config)
    except Exception as exc:  # a missing model or runtime must not stop the hook
        warnings.warn(f"backend {config.backend!r} unavailable ({exc}); using the template backend", stacklevel=2)
        return get_backend(config.replace(backend="template"))


def confidence_gates(config: Config, backend: Backend | None) -> Thresholds:
    """The confidence gates of the model that writes: the ones calibrated for it, or none.

    The ``thresholds`` option when set; else the shipped model's (``docucode.json`` in its
    directory) where the shipped model writes, run here without adapter or served under its
    name; else a local model directory's own ``docucode.json``; else no gate: thresholds
    calibrated for one model say nothing about another's log-probabilities.
    """
    from docucode_hook.precision.confidence import (
        NO_GATES,
        THRESHOLDS_FILE,
        Thresholds,
        ThresholdsError,
        configured_thresholds,
        load_thresholds,
    )

    if backend is None or backend.name == "template":
        return Thresholds()  # no log-probabilities: no gate reads them
    from docucode_hook.backends.loading import DEFAULT_MODEL_DIR, resolve_model

    try:
        if config.thresholds is not None:
            return configured_thresholds(config.thresholds)
        if backend.name == "server":
            from docucode_hook.backends.served import serves_shipped_model
            from docucode_hook.backends.server import ServerBackend, ServerError

            try:
                shipped = isinstance(backend, ServerBackend) and serves_shipped_model(backend.model_id())
            except ServerError:  # the backend reports it, and writes nothing to gate
                return NO_GATES
            return load_thresholds(DEFAULT_MODEL_DIR) if shipped else NO_GATES
        if config.adapter:  # an adapter makes another model than the one its base was calibrated for
            return NO_GATES
        ref, local = resolve_model(config.model)
        if local and (Path(ref) / THRESHOLDS_FILE).is_file():
            return load_thresholds(ref)
    except ThresholdsError as exc:
        warnings.warn(f"{exc}; no confidence gate applies", stacklevel=2)
    except Exception:  # the backend itself reports a model it cannot load
        pass
    return NO_GATES


def _generated(
    targets: Sequence[Target], backend: Backend | None, config: Config, progress: Progress | None
) -> list[tuple[Generation, Maker]]:
    """Raw text for each target (all "missing"), batched per style (the prompt names it), and who wrote it."""
    from docucode_hook.backends.template import TemplateBackend
    from docucode_hook.backends.cache import DocstringCache, generate_cached

    cache = DocstringCache() if config.cache else None
    stand_in = f"{config.backend} backend unavailable" if backend is not None and backend.name != config.backend else None
    raw: list[Generation | None] = [None] * len(targets)
    makers: list[Maker] = [("template", None)] * len(targets)
    by_style: dict[Style, list[int]] = {}
    for index, target in enumerate(targets):
        by_style.setdefault(target.style, []).append(index)
    for style, indices in by_style.items():
        for start in range(0, len(indices), config.batch_size):
            chunk = indices[start : start + config.batch_size]
            batch = [targets[index].context for index in chunk]
            try:
                texts = generate_cached(backend, batch, style, cache)
            except Exception as exc:  # e.g. a model that fails to load: degrade, never stop the commit
                if isinstance(backend, TemplateBackend):
                    # The fallback itself failed: calling it again would only raise the same error a
                    # second time ("During handling of the above exception ..."). That is a bug here.
                    raise
                warnings.warn(f"backend {backend.name!r} failed ({exc}); using the template backend", stacklevel=2)
                stand_in = f"{backend.name} backend failed"
                backend = TemplateBackend()
                texts = generate_cached(backend, batch, style, cache)
            for index, text in zip(chunk, texts):
                raw[index], makers[index] = text, (backend.name, stand_in)
            if progress:
                progress(len(batch))
    failed = [index for index, generation in enumerate(raw) if generation is None]
    if failed and backend is not None and backend.name != "template":
        warnings.warn(f"{len(failed)} function(s) fell back to the template backend", stacklevel=2)
    for index in failed:
        target = targets[index]
        (raw[index],) = TemplateBackend().generate([target.context], target.style)
        makers[index] = ("template", f"no usable text from the {makers[index][0]} backend")
    return list(zip(raw, makers))


def _texts_for(
    targets: Sequence[Target], backend: Backend | None, config: Config, progress: Progress | None
) -> list[tuple[str, Maker, tuple[PartOrigin, ...]]]:
    """Docstring text for every target, its maker and its parts' origins: new ones generated in
    batches and grounded, stale ones refreshed, converted ones as the scan converted them."""
    from docucode_hook.precision.grounding import ground
    from docucode_hook.precision.prose import GroundingOptions
    from docucode_hook.precision.refresh import refresh_sections

    options = GroundingOptions(config.max_line_length, config.placeholders, confidence_gates(config, backend))
    fresh = [t for t in targets if t.reason == "missing"]
    # In target order: line numbers repeat across files, so texts are matched by position.
    generated = iter(_generated(fresh, backend, config, progress) if fresh else ())

    def text_for(target: Target) -> tuple[str, Maker, tuple[PartOrigin, ...]]:
        ctx: FunctionContext = target.context
        if target.reason == "restyle":
            return target.text or "", ("convert", None), ()
        if target.reason == "stale":
            existing = target.text or ctx.docstring or ""
            return refresh_sections(existing, ctx, target.style), ("refresh", None), ()
        generation, maker = next(generated)
        grounded = ground(generation.text, ctx, target.style, generation=generation, options=options)
        return grounded.text, maker, grounded.parts

    return [text_for(t) for t in targets]


def _wanted(scan: FileScan, convert_only: bool) -> FileScan:
    """The scan with only the conversions as targets under ``--convert``."""
    if not convert_only:
        return scan
    return dataclasses.replace(scan, targets=tuple(t for t in scan.targets if t.reason == "restyle"))


def _rewrite(work: _Work, config: Config, styles: StyleRule, convert_only: bool = False) -> str:
    """New source text, verified: parses, only docstrings changed, a second pass is a no-op."""
    from docucode_hook.docstrings.insert import insert_docstrings
    from docucode_hook.docstrings.verify import UnsafeEdit, assert_only_docstrings_changed

    old = work.source.text
    new = insert_docstrings(old, work.texts)
    assert_only_docstrings_changed(old, new)
    again = _wanted(scan_source(new, work.scan.path, config, styles=styles), convert_only)
    if again.targets:
        left = ", ".join(t.context.qualname for t in again.targets)
        raise UnsafeEdit(f"a second pass would change {left} again")
    return new


def _diff(path: str, old: str, new: str) -> str:
    lines = difflib.unified_diff(
        old.splitlines(keepends=True), new.splitlines(keepends=True), f"a/{path}", f"b/{path}"
    )
    return "".join(lines)


def _comment_texts(sites: Sequence[CommentSite], backend: Backend | None, config: Config) -> list[str | None] | None:
    """Raw comment text per site from a model backend; None (one warning) when there is none."""
    from docucode_hook.backends import PromptBackend

    if backend is None:
        backend = _load_backend(config)
    if not isinstance(backend, PromptBackend):
        # The template backend knows only what the code says, which is no comment worth writing.
        warnings.warn(f"--comments needs a model backend, not {backend.name!r}: no comments written", stacklevel=2)
        return None
    return backend.generate_prompts([site.prompt for site in sites])  # the backend batches them


def _add_comments(pending: list[tuple[FileResult, str]], backend: Backend | None, config: Config) -> list[str]:
    """Each file's text with comments above its complex blocks, or as it was where that is unsafe."""
    from docucode_hook.comments import apply_comments, find_comment_sites
    from docucode_hook.docstrings.verify import UnsafeEdit

    sites = [find_comment_sites(text, config) for _, text in pending]
    wanted = [site for per_file in sites for site in per_file]
    texts = iter(_comment_texts(wanted, backend, config) or []) if wanted else iter(())
    out = []
    for (result, text), per_file in zip(pending, sites):
        raw = [next(texts, None) for _ in per_file]
        try:
            text, result.commented = apply_comments(text, per_file, raw, config)
        except UnsafeEdit as exc:  # the docstrings are still good: keep them, drop the comments
            warnings.warn(f"{result.path}: comments left out: {exc}", stacklevel=2)
        out.append(text)
    return out


def fix_paths(
    paths: Sequence[Path],
    root: Path,
    config: Config,
    *,
    write: bool = True,
    progress_factory: Callable[[int], Progress] | None = None,
    convert_only: bool = False,
) -> list[FileResult]:
    """Fix mode (``write=True``) or ``--diff`` (``write=False``); with ``convert_only``
    (``--convert``), only the docstrings in another style are rewritten, into the file's style."""
    from docucode_hook.docstrings.verify import UnsafeEdit

    if convert_only:
        config = config.replace(convert=True, comments=False)
    styles = style_rule(config, root)
    results: list[FileResult] = []
    work: list[tuple[_Work, FileResult]] = []
    for path in paths:
        source, scan, result = scan_file(path, root, config, styles=styles)
        results.append(result)
        scan = _wanted(scan, convert_only) if scan is not None else None
        if source is not None and scan is not None and (scan.targets or config.comments):
            work.append((_Work(source, scan), result))
    if not work:
        return results
    targets = [t for w, _ in work for t in w.scan.targets]
    missing = sum(t.reason == "missing" for t in targets)
    # Refreshing stale sections needs no model, so a model is loaded only for missing docstrings.
    backend = _load_backend(config) if missing else None
    progress = progress_factory(missing) if progress_factory and missing else None
    # LibCST's import (0.14 s) happens while the model generates, if it does (see meanwhile.py).
    with meanwhile(partial(importlib.import_module, "docucode_hook.docstrings.insert")):
        texts = iter(_texts_for(targets, backend, config, progress) if targets else ())
    rewritten: list[tuple[_Work, FileResult, str]] = []
    for item, result in work:
        made = {t.context.lineno: next(texts) for t in item.scan.targets}
        item.texts = {line: text for line, (text, _, _) in made.items()}
        item.makers = {line: maker for line, (_, maker, _) in made.items()}
        item.parts = {line: parts for line, (_, _, parts) in made.items()}
        try:
            new = _rewrite(item, config, styles, convert_only) if item.texts else item.source.text
            rewritten.append((item, result, new))
        except UnsafeEdit as exc:
            result.error = f"not written: {exc}"
    if config.comments and rewritten:
        commented = _add_comments([(result, new) for _, result, new in rewritten], backend, config)
        rewritten = [(item, result, new) for (item, result, _), new in zip(rewritten, commented)]
    for item, result, new in rewritten:
        result.diff = _diff(result.path, item.source.text, new)
        if not result.diff:
            continue
        result.docstrings = _written(item, new)
        try:
            if write:
                write_source(item.source, new)
        except SourceError as exc:
            # write_source's reasons already say "not written"; say it once.
            result.error = str(exc) if "not written" in str(exc) else f"not written: {exc}"
            result.diff = ""
            result.docstrings, result.commented = (), 0
    return results


def _written(item: _Work, new: str) -> tuple[WrittenDocstring, ...]:
    """What was written where: each def line as the reader of the new text finds it."""
    names = {t.context.lineno: t.context.qualname for t in item.scan.targets}
    # Only docstrings and comment lines were added, so a def line sits in an unchanged run of lines.
    runs = difflib.SequenceMatcher(None, item.source.text.splitlines(), new.splitlines(), autojunk=False)
    moved = {old: new_start + old - old_start
             for old_start, new_start, size in runs.get_matching_blocks()
             for old in range(old_start + 1, old_start + size + 1)}
    return tuple(
        WrittenDocstring(moved.get(line, line), names[line], *item.makers[line], item.parts[line])
        for line in sorted(item.texts)
    )
