"""benchmarks/: the declared registry matches the scripts; the harness helpers.

Fast: the scripts are parsed, never run.
"""

import ast
import importlib.util
from pathlib import Path

import numpy as np
import pytest

REPO = Path(__file__).resolve().parents[1]
BENCHMARKS = REPO / "benchmarks"

pytestmark = pytest.mark.skipif(
    not (BENCHMARKS / "reproduce.py").is_file(),
    reason="benchmarks/ ships with the source checkout only",
)


def _module(name):
    spec = importlib.util.spec_from_file_location(
        f"_benchmarks_{name}", BENCHMARKS / f"{name}.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def reproduce():
    return _module("reproduce")


@pytest.fixture(scope="module")
def registry():
    return _module("registry")


@pytest.fixture(scope="module")
def harness():
    return _module("_common")


def test_every_script_is_declared_and_every_entry_has_a_script(reproduce):
    entries = reproduce.load_registry()
    undeclared, missing = reproduce.check_registry(entries)
    assert undeclared == [], (
        f"add these scripts to benchmarks/registry.py: {undeclared}"
    )
    assert missing == [], f"registry.py declares scripts that do not exist: {missing}"


def test_entries_are_complete(registry):
    names = [e.name for e in registry.REGISTRY]
    assert len(names) == len(set(names)), "entry names must be unique"
    for e in registry.REGISTRY:
        assert e.kind in registry.KINDS, e.name
        assert e.summary, e.name
        assert all(isinstance(a, str) for a in e.args), e.name
        assert e.command.startswith(f"python benchmarks/{e.script}"), e.name
        if e.kind == "reproduction":
            assert e.paper and e.table and e.doc, (
                f"{e.name}: a reproduction names its paper, table and page"
            )
        if e.doc:
            assert (REPO / "doc" / e.doc).is_file(), f"{e.name}: no doc/{e.doc}"


def _private_imports(path):
    """``(module, name)`` of every import of a private skhash module."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module:
            mods = [(node.module, a.name) for a in node.names]
        elif isinstance(node, ast.Import):
            mods = [(a.name, None) for a in node.names]
        else:
            continue
        for module, name in mods:
            parts = module.split(".")
            if parts[0] != "skhash":
                continue
            # a private module on the path, or a private name imported
            if any(p.startswith("_") for p in parts[1:]) or (name or "").startswith(
                "_"
            ):
                found.add((module, name))
    return found


def _covers(declared, module, name):
    return module in declared or (name is not None and f"{module}.{name}" in declared)


def test_private_imports_are_declared_kernel_level(registry):
    by_script = {}
    for e in registry.REGISTRY:
        by_script.setdefault(e.script, set()).update(e.kernel_level)
    for script, declared in sorted(by_script.items()):
        imports = _private_imports(BENCHMARKS / script)
        undeclared = sorted(
            f"{m}.{n}" if n else m for m, n in imports if not _covers(declared, m, n)
        )
        assert not undeclared, (
            f"{script} imports private modules {undeclared}: use the public API, "
            "or declare a kernel-level comparison in registry.py"
        )
        unused = sorted(
            k
            for k in declared
            if not any(k in (m, f"{m}.{n}" if n else m) for m, n in imports)
        )
        assert not unused, f"{script}: kernel_level lists {unused}, never imported"


def test_harness_imports_only_public_api():
    assert _private_imports(BENCHMARKS / "_common.py") == set()
    assert _private_imports(BENCHMARKS / "reproduce.py") == set()


def test_reproduce_list_prints_the_registry(reproduce, registry, capsys):
    assert reproduce.main(["--list"]) == 0
    out = capsys.readouterr().out
    for e in registry.REGISTRY:
        assert f"{e.name}  [{e.kind}]" in out
        assert e.command in out
    assert reproduce.main(["--list", "--reproduction-only", "-k", "deep"]) == 0
    out = capsys.readouterr().out
    assert "deep-cifar10-dsh" in out and "deep-pixels" not in out


def test_time_alternating_warms_up_then_alternates(harness):
    order = []
    calls = {"a": lambda: order.append("a") or 1, "b": lambda: order.append("b") or 2}
    first, seconds = harness.time_alternating(calls, repeats=3)
    assert first == {"a": 1, "b": 2}
    assert order == ["a", "b"] * 4
    assert {k: len(v) for k, v in seconds.items()} == {"a": 3, "b": 3}
    assert harness.median([3.0, 1.0, 2.0]) == 2.0
    first, _ = harness.time_alternating(calls, repeats=1, warmup=False)
    assert first == {"a": None, "b": None}


def test_time_alternating_options(harness):
    order = []
    calls = {"a": lambda: order.append("a"), "b": lambda: order.append("b")}
    setup = {"b": lambda: order.append("setup b")}
    warmup = {"a": lambda: order.append("warm a") or 7}
    first, seconds = harness.time_alternating(
        calls, {"a": 3, "b": 1}, warmup, setup=setup, alternate=True
    )
    assert first == {"a": 7, "b": None}
    assert order == ["warm a", "a", "setup b", "b", "a", "a"]
    assert {k: len(v) for k, v in seconds.items()} == {"a": 3, "b": 1}
    order.clear()
    harness.time_alternating(calls, 3, warmup=False, alternate=True)
    assert order == ["a", "b", "b", "a", "a", "b"]


def test_load_dataset_by_name(harness):
    X, y = harness.load_dataset("digits")
    assert X.shape == (1797, 64) and y.shape == (1797,)
    rng = np.random.default_rng(0)
    X, y = harness.load_dataset("synthetic", n_samples=50, rng=rng)
    X0, Xq = harness.synthetic(40, 10, np.random.default_rng(0))
    assert y is None and X.dtype == np.float32
    np.testing.assert_array_equal(X, np.vstack([X0, Xq]))
    with pytest.raises(ValueError, match="unknown dataset"):
        harness.load_dataset("nope")
    with pytest.raises(ValueError, match="train/test"):
        harness.load_dataset("digits", "train")
    with pytest.raises(ValueError, match="n_samples"):
        harness.load_dataset("synthetic")


def test_label_map_scores_hashers_and_quantizers(harness):
    from skhash import LSH, PQ, HammingNeighbors

    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(200, 8)), rng.integers(0, 3, 200)
    lsh = LSH(n_bits=16, random_state=0).fit(X[:100])
    nn = HammingNeighbors().fit(lsh.transform(X[20:]), y[20:])
    expected = nn.score(lsh.transform(X[:20]), y[:20])
    assert harness.label_map(lsh, X[:20], y[:20], X[20:], y[20:]) == expected
    pq = PQ(n_bits=8, n_clusters=16, random_state=0).fit(X[:100])
    m = harness.label_map(pq, X[:20], y[:20], X[20:], y[20:], quantizer=True)
    assert 0 <= m <= 1


def test_write_json(harness, tmp_path):
    harness.write_json(tmp_path / "rows.json", [{"a": 1.5}])
    assert (tmp_path / "rows.json").read_text() == '[\n {\n  "a": 1.5\n }\n]'
