"""The round-trip bench on a small tree, and regressions for the bugs its full run found."""

from __future__ import annotations

import ast
import codecs
import json
import sys
from pathlib import Path

import pytest

from docucode_hook.cli import main as docucode

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "bench"))
import roundtrip  # noqa: E402  (a script directory, not a package)

CONFIG = '[tool.docucode]\nbackend = "template"\nskip_tests = false\n'

# Each of these made the fix mode write a docstring that its own second pass (and --check) called stale.
FIX_THEN_CLEAN = {
    "optional_return_none": "def find(key: str) -> int | None:\n    return None\n",
    "annotated_but_raises": "from typing import Any\n\n\ndef state() -> Any:\n    raise TypeError('no')\n",
    "generator_returns": (
        "from typing import Generator\n\n\n"
        "def protocol(item: int) -> Generator[None, object, object]:\n    return (yield)\n"
    ),
    "property_none": "class A:\n    @property\n    def colno(self) -> int | None:\n        return None\n",
    # Not stale but a crash: a verb-only name whose subject has no words (IndexError in the
    # template; jax/_src/state/discharge.py in the 10,200-file run).
    "verb_only_name_underscore_parameter": "def get(_):\n    return 1\n\n\ndef run(*_, **__):\n    pass\n",
}


@pytest.mark.parametrize("source", FIX_THEN_CLEAN.values(), ids=FIX_THEN_CLEAN.keys())
def test_fixed_file_passes_its_own_check(tmp_path, monkeypatch, capsys, source) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "pyproject.toml").write_text(CONFIG + "include_classes = true\n")
    (tmp_path / "mod.py").write_text(source)
    assert docucode(["mod.py"]) == 1, capsys.readouterr().err
    assert '"""' in (tmp_path / "mod.py").read_text()
    assert docucode(["--check", "mod.py"]) == 0, capsys.readouterr().out
    assert docucode(["mod.py"]) == 0


def _doc(text: str, indent: str = "    ") -> str:
    return f'{indent}"""' + text.replace("\n", f"\n{indent}") + f'\n{indent}"""\n'


# Opt-in refresh_stale, shaped after the files of the 2,500-file run that it made unstable
# (refused: "a second pass would change ..."): (source, texts kept verbatim, texts gone).
REFRESH_CASES = {
    "numpy_see_also_raises_added (joblib.dump)": (
        "def dump(value, filename, compress=0):\n" + _doc(
            "Persist an arbitrary Python object into one file.\n\nParameters\n----------\nvalue: any Python object\n"
            "    The object to store.\nfilename: str\n    The file.\ncompress: int\n    Level.\n\nReturns\n-------\n"
            "filenames: list of strings\n    The list of file names.\n\nSee Also\n--------\njoblib.load : "
            "function to load a file.\n\nNotes\n-----\nMemmapping on load cannot be used.\n\n\nExamples\n--------\n>>> 1\n1"
        ) + "    if compress < 0:\n        raise ValueError(compress)\n    return [filename]\n",
        ["See Also\n--------\njoblib.load : function to load a file.", "Notes\n-----\nMemmapping on load cannot be used.\n\n\n",
         "Returns\n-------\nfilenames: list of strings\n", "Raises\n------\nValueError\n"],
        ["Seealso"],
    ),
    "google_raises_entry_on_next_line_and_prose_after (h11 next_event)": (
        "def next_event(self):\n" + _doc(
            "Parse the next event out of our receive buffer, update our internal\nstate, and return it.\n\n"
            "Returns:\n    : One of three things:\n\n    1) An event object.\n\nRaises:\n    RemoteProtocolError:\n"
            "        The peer has misbehaved.\n\nIf this method raises any exception then it also sets\n"
            ":attr:`Connection.their_state` to :data:`ERROR` -- see\n:ref:`error-handling` for discussion."
        ) + "    try:\n        return self._extract()\n    except BaseException:\n        self._error()\n        raise\n",
        ["update our internal\nstate, and return it.", "Returns:\n    : One of three things:\n\n    1) An event object.",
         ":attr:`Connection.their_state` to :data:`ERROR` -- see\n:ref:`error-handling` for discussion.",
         "    BaseException: If the operation cannot be completed."],
        [],
    ),
    "raises_of_a_decorator_dropped (networkx find_cliques_recursive)": (
        "def find_cliques_recursive(G, nodes=None):\n" + _doc(
            "Returns all maximal cliques.\n\nParameters\n----------\nG : NetworkX graph\nnodes : list, optional (default=None)\n"
            "    Nodes.\n\nReturns\n-------\niterator\n    Cliques.\n\nRaises\n------\nNetworkXNotImplemented\n"
            "    If `G` is directed.\n\nValueError\n    If `nodes` is not a clique.\n\nSee Also\n--------\nfind_cliques"
        ) + "    if nodes:\n        raise ValueError(nodes)\n    return iter([])\n",
        ["ValueError\n    If `nodes` is not a clique.", "See Also\n--------\nfind_cliques", "G : NetworkX graph\n"],
        ["NetworkXNotImplemented"],
    ),
    "generator_returns_becomes_yields (networkx enumerate_all_cliques)": (
        "def enumerate_all_cliques(G):\n" + _doc(
            "Returns all cliques.\n\nParameters\n----------\nG : NetworkX graph\n    A graph.\n\nReturns\n-------\n"
            "iterator\n    An iterator over cliques, each of which is a list of nodes in\n    `G`.\n\nNotes\n-----\nSlow."
        ) + "    yield from G\n",
        ["Yields\n------\nAn iterator over cliques, each of which is a list of nodes in\n    `G`.\n\nNotes\n-----\nSlow."],
        ["Returns\n"],
    ),
    "unindented_numpy_descriptions (networkx remove_edge)": (
        "class PlanarEmbedding:\n    def remove_edge(self, u, v):\n" + _doc(
            "Remove the edge between u and v.\n\nParameters\n----------\nu, v : nodes\nRemove the half-edges (u, v) and "
            "(v, u).\n\nRaises\n------\nNetworkXError\nIf there is not an edge between u and v.\n\nSee Also\n--------\n"
            "remove_edges_from : Remove a sequence of edges", "        "
        ) + "        raise nx.NetworkXError(u)\n",
        ["See Also\n--------\nremove_edges_from : Remove a sequence of edges"],
        [],
    ),
    "prose_line_read_as_a_sphinx_field (h11 send_with_data_passthrough)": (
        "def send_with_data_passthrough(self, event: Event) -> Optional[List[bytes]]:\n" + _doc(
            "Identical to :meth:`send`, except that in situations where\n:attr:`Data.data`. See :ref:`sendfile`."
        ) + "    if event is None:\n        raise LocalProtocolError('x')\n    return None\n",
        ["Identical to :meth:`send`, except that in situations where\n:attr:`Data.data`. See :ref:`sendfile`.\n\nArgs:\n"],
        [":param"],
    ),
    "google_type_with_a_colon (h11 receive_data)": (
        "def receive_data(self, data: bytes) -> None:\n" + _doc(
            "Add data to our internal receive buffer.\n\nArgs:\n    data (:term:`bytes-like object`):\n"
            "        The new data that was just received.\n\nRaises:\n    RuntimeError:\n        Always."
        ) + "    if data:\n        raise RuntimeError(data)\n",
        ["data (bytes): The new data that was just received.", "Raises:\n    RuntimeError:\n        Always."],
        ["term:"],
    ),
    "sphinx_fields_stay_one_list": (
        "def fetch(url: str, retries: int = 3) -> bytes:\n" + _doc(
            "Download a page.\n\n.. note:: Slow.\n\n:param link: Old name.\n:returns: The body.\n:rtype: bytes"
        ) + "    return b''\n",
        [".. note:: Slow.\n\n:param url: The url.\n:type url: str\n", ":returns: The body.\n:rtype: bytes"],
        ["link"],
    ),
    "numpy_other_parameters_merged": (
        "def plot(x, color=None):\n" + _doc(
            "Plot it.\n\nParameters\n----------\nx : array\n    Data.\n\nOther Parameters\n----------------\n"
            "colour : str\n    Old spelling.\ncolor : str\n    Line colour.\n\nReferences\n----------\n.. [1] A paper."
        ) + "    return x\n",
        ["x : array\n    Data.\ncolor : str\n    Line colour.", "References\n----------\n.. [1] A paper."],
        ["colour : str", "Old spelling", "Other Parameters"],
    ),
    # The 10,200-file run on the GPU machine (Python 3.12): a NumPy "Warns" section is listed by
    # docstring_parser under ``raises``; once refresh had added the Raises section the finder called
    # the warning "documented but never raised".
    "numpy_warns_is_not_raises (numpy polyfit, scipy find_peaks)": (
        "def polyfit(x, y, deg):\n" + _doc(
            "Least squares polynomial fit.\n\nParameters\n----------\nx : array_like\n    Points.\ny : array_like\n"
            "    Values.\ndeg : int\n    Degree.\n\nReturns\n-------\np : ndarray\n    Coefficients.\n\nWarns\n-----\n"
            "RankWarning\n    The rank of the coefficient matrix is deficient.\n\nSee Also\n--------\npolyval"
        ) + "    if deg < 0:\n        raise ValueError('expected deg >= 0')\n    if len(x) != len(y):\n"
        "        raise TypeError('expected x and y to have same length')\n"
        "    warnings.warn('Polyfit may be poorly conditioned', RankWarning)\n    return x\n",
        ["Raises\n------\nValueError\n", "TypeError\n",
         "Warns\n-----\nRankWarning\n    The rank of the coefficient matrix is deficient.\n\nSee Also\n--------\npolyval"],
        [],
    ),
    # Epydoc fields (Cython): refresh wrote a Google section next to them, and the next pass read
    # the Google section (the configured style, tried first) and no longer saw the @param/@return lines.
    "epydoc_param_added_in_place (Cython find_versioned_file)": (
        "def find_versioned_file(directory, filename, suffix, _current_version=30):\n" + _doc(
            "\nSearch a directory for versioned pxd files.\n\n@param directory: the directory to search\n"
            "@param filename: the filename without suffix\n@param suffix: the filename extension\n"
            "@return: the file path if found, or None\n"
        ) + "    return directory or None\n",
        ["@param suffix: the filename extension\n@param _current_version: The current version. Defaults to 30.\n"
         "@return: the file path if found, or None"],
        ["Args:", "Returns:"],
    ),
    "epydoc_yield_added (Cython CCodeWriter.label_interceptor)": (
        "class CCodeWriter:\n    def label_interceptor(self, new_labels, orig_labels, trace=True):\n" + _doc(
            "\nHelper for generating multiple label interceptor code blocks.\n\n"
            "@param new_labels: the new labels that should be intercepted\n"
            "@param orig_labels: the original labels that we should dispatch to after the\n"
            "    interception\n@param trace: add a trace line for the pos marker or not\n", "        "
        ) + "        for label, orig_label in zip(new_labels, orig_labels):\n            yield (label, orig_label)\n",
        ["@param orig_labels: the original labels that we should dispatch to after the\n    interception\n"
         "@param trace: add a trace line for the pos marker or not\n@yield: The label interceptor."],
        ["Yields:", "Args:"],
    ),
    "epydoc_fields_rewritten_in_place": (
        "def open_path(path: str, *args, mode='r'):\n" + _doc(
            "Open a file.\n\n@param name: the old name of the path\n@type name: str\n@note: Slow.\n"
            "@return: nothing\n@raise errors.Gone: when it is gone"
        ) + "    if not path:\n        raise errors.BadPath(path)\n    return open(path, mode)\n",
        ["@param path: The path.\n@type path: str\n@param args: Additional positional arguments.\n"
         "@param mode: The mode. Defaults to 'r'.\n@note: Slow.\n@return: nothing\n"
         "@raise BadPath: If the operation cannot be completed."],
        ["name", "Gone", "Args:"],
    ),
}


@pytest.mark.parametrize("case", REFRESH_CASES.values(), ids=REFRESH_CASES.keys())
def test_refreshed_docstrings_are_stable(tmp_path, monkeypatch, capsys, case) -> None:
    """Refresh keeps what it need not change verbatim; a second run and --check find nothing left."""
    source, kept, gone = case
    monkeypatch.chdir(tmp_path)
    (tmp_path / "pyproject.toml").write_text(CONFIG + "refresh_stale = true\nskip_private = false\n")
    (tmp_path / "mod.py").write_text(source)
    assert docucode(["mod.py"]) == 1, capsys.readouterr().err
    fixed = (tmp_path / "mod.py").read_text()
    tree = ast.parse(fixed)
    docstring = next(ast.get_docstring(node) for node in ast.walk(tree) if isinstance(node, ast.FunctionDef))
    for text in kept:
        assert text in docstring, docstring
    for text in gone:
        assert text not in docstring, docstring
    assert docucode(["mod.py"]) == 0, capsys.readouterr().err  # the second pass changes nothing
    assert (tmp_path / "mod.py").read_text() == fixed
    assert docucode(["--check", "mod.py"]) == 0, capsys.readouterr().out


def test_a_type_with_a_colon_is_left_out_of_the_google_line(tmp_path, monkeypatch, capsys) -> None:
    """hypothesis/database.py::_db_for_path: ``Literal[":memory:"]`` cut the ``name (type): text`` line in two."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "pyproject.toml").write_text(CONFIG + "skip_private = false\n")
    (tmp_path / "mod.py").write_text(
        "from typing import Literal\n\n\n"
        "def _db_for_path(path: str | Literal[\":memory:\"] | None = None) -> \"ExampleDatabase\":\n"
        "    if path == \":memory:\":\n        raise HypothesisException(path)\n    return make(path)\n"
    )
    assert docucode(["mod.py"]) == 1, capsys.readouterr().err
    fixed = (tmp_path / "mod.py").read_text()
    assert "    path: Passed to `make`. Defaults to None.\n" in fixed  # the type is left out of the line
    assert docucode(["mod.py"]) == 0 and docucode(["--check", "mod.py"]) == 0, capsys.readouterr()


def _tree(root: Path) -> None:
    """A handful of files of every awkward kind the bench must get through cleanly."""
    (root / "pkg").mkdir()
    (root / "pkg" / "__init__.py").write_bytes(b"")
    (root / "pkg" / "crlf.py").write_bytes(b"def f(a, b):\r\n    # keep me\r\n    return a + b\r\n")
    (root / "pkg" / "bom.py").write_bytes(codecs.BOM_UTF8 + "def g(x):\n    return 'é' * x\n".encode())
    (root / "pkg" / "latin.py").write_bytes(b"# -*- coding: latin-1 -*-\ndef h():\n    return '\xe9'\n")
    (root / "pkg" / "broken.py").write_bytes(b"def oops(:\n    pass\n")
    (root / "pkg" / "undecodable.py").write_bytes(b"def k():\n    return '\xff'\n")
    for name, source in FIX_THEN_CLEAN.items():
        (root / "pkg" / f"{name}.py").write_text(source)


def test_bench_on_a_small_tree_counts_everything(tmp_path, capsys) -> None:
    _tree(tmp_path)
    counts = tmp_path.parent / f"{tmp_path.name}.json"
    assert roundtrip.main([str(tmp_path), "--jobs", "1", "--chunk", "3", "--json", str(counts)]) == 0
    out = capsys.readouterr().out
    files = 6 + len(FIX_THEN_CLEAN)  # _tree's own six and one per FIX_THEN_CLEAN case
    assert f"files                 {files}" in out
    assert "failures              0" in out
    assert "skipped (original unusable) 2" in out
    assert "syntax error" in out and "not valid" in out
    total = json.loads(counts.read_text())["total"]
    assert (total["files"], total["corrupted"], total["crashes"], total["refused_usable"]) == (files, 0, 0, 0)
    assert sum(total["skipped"].values()) == 2 and total["warnings"] == {}


def test_bench_with_the_shipped_model_counts_what_the_template_wrote_instead(tmp_path, capsys) -> None:
    # A signature longer than the model's 512 positions: the template documents that function.
    params = ", ".join(f"p{i}" for i in range(400))
    (tmp_path / "a.py").write_text("def add(a, b):\n    return a + b\n")
    (tmp_path / "b.py").write_text(f"def wide({params}):\n    return p0\n")
    (tmp_path / "c.py").write_text("def left_out():\n    pass\n")
    counts = tmp_path.parent / f"{tmp_path.name}.json"
    argv = [str(tmp_path), "--backend", "model", "--model-jobs", "1", "--start", "0", "--limit", "2", "--json", str(counts)]
    assert roundtrip.main(argv) == 0

    total = json.loads(counts.read_text())["total"]
    assert (total["files"], total["corrupted"], total["crashes"], total["refused_usable"]) == (2, 0, 0, 0)
    assert total["by_template"] >= 1
    assert any("too long for the model's" in message for message in total["warnings"])
    assert "the template wrote" in capsys.readouterr().out


def test_model_subset_is_spread_over_the_tree() -> None:
    paths = [Path(f"{i:03}.py") for i in range(100)]
    assert roundtrip.model_subset(paths, 4) == [Path("000.py"), Path("025.py"), Path("050.py"), Path("075.py")]
    assert roundtrip.model_subset(paths, None) == paths == roundtrip.model_subset(paths, 500)


def test_corruption_check_catches_a_changed_body(tmp_path) -> None:
    path = tmp_path / "m.py"
    original = b"def f():\r\n    # why\r\n    return 1\r\n"
    path.write_bytes(b'def f():\r\n    """Doc."""\r\n    # why\r\n    return 1\r\n')
    assert roundtrip.corruption(original, path) is None
    path.write_bytes(b"def f():\n    # why\n    return 1\n")
    assert "newline" in roundtrip.corruption(original, path)
    path.write_bytes(b"def f():\r\n    return 1\r\n")
    assert roundtrip.corruption(original, path) == "comments changed"
    path.write_bytes(b"def f():\r\n    # why\r\n    return 2\r\n")
    assert "code other than docstrings changed" in roundtrip.corruption(original, path)


@pytest.mark.slow
def test_real_project_backfill_keeps_its_own_tests_passing() -> None:
    import realproject

    assert realproject.main(["more-itertools==11.2.1"]) == 0  # needs PyPI for the sdist and the hook env
