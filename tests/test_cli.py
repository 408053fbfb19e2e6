"""The ``skhash`` command end to end on tiny data, bad input included."""

import csv
import json
import subprocess
import sys

import joblib
import numpy as np
import pytest
from sklearn.datasets import load_digits
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from skhash import LSH, HammingNeighbors, hamming_distance
from skhash.cli import available_methods, main
from skhash.cli._io import _atomic_write
from skhash.datasets import read_ivecs, retrieval_split
from skhash.metrics import precision_recall_curve, precision_within_radius


def write_fvecs(path, X):
    X = np.asarray(X, dtype="<f4")
    rows = np.hstack([np.full((len(X), 1), X.shape[1], "<i4").view("<f4"), X])
    rows.tofile(path)


def write_ivecs(path, X):
    X = np.asarray(X, dtype="<i4")
    np.hstack([np.full((len(X), 1), X.shape[1], "<i4"), X]).tofile(path)


def run(argv, capsys):
    status = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return status, out, err


def listing(folder):
    return sorted(p.name for p in folder.iterdir())


@pytest.fixture
def features(tmp_path):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(120, 40)).astype(np.float32)
    path = tmp_path / "base.fvecs"
    write_fvecs(path, X)
    return X, path


# ---------------------------------------------------------------- fit/encode/search


def test_fit_encode_search_fvecs_end_to_end(tmp_path, features, capsys):
    X, data = features
    model = tmp_path / "model.joblib"
    status, out, _ = run(
        ["fit", data, "-o", model, "--method", "lsh", "--n-bits", "16", "-q"], capsys
    )
    assert status == 0, out
    assert "16 bits (2 bytes a code), 120 database codes" in out
    pipe = joblib.load(model)
    expected = make_pipeline(StandardScaler(), LSH(n_bits=16, random_state=0))
    expected_codes = expected.fit(X).transform(X)
    np.testing.assert_array_equal(pipe[:-1].transform(X), expected_codes)
    np.testing.assert_array_equal(pipe[-1]._fit_codes, expected_codes)

    queries = tmp_path / "query.fvecs"
    write_fvecs(queries, X[:7] + 0.01)
    codes = tmp_path / "q.npy"
    status, out, _ = run(
        ["encode", model, queries, "-o", codes, "--batch-size", "3", "-q"], capsys
    )
    assert status == 0
    q_codes = np.load(codes)
    assert q_codes.dtype == np.uint8 and q_codes.shape == (7, 2)
    np.testing.assert_array_equal(q_codes, expected.transform(X[:7] + 0.01))

    nn = HammingNeighbors().fit(expected_codes)
    d_ref, i_ref = nn.kneighbors(q_codes, n_neighbors=5)
    for suffix in (".npz", ".npy", ".ivecs", ".csv"):
        result = tmp_path / f"nbrs{suffix}"
        status, out, err = run(
            ["search", model, codes, "-o", result, "-k", "5"], capsys
        )
        assert status == 0, err
        if suffix == ".npz":
            with np.load(result) as z:
                np.testing.assert_array_equal(z["indices"], i_ref)
                np.testing.assert_array_equal(z["distances"], d_ref)
        elif suffix == ".npy":
            np.testing.assert_array_equal(np.load(result), i_ref)
        elif suffix == ".ivecs":
            np.testing.assert_array_equal(read_ivecs(result), i_ref)
        else:
            with open(result) as f:
                rows = list(csv.DictReader(f))
            assert len(rows) == 35
            assert [int(r["index"]) for r in rows] == i_ref.ravel().tolist()
            assert [int(r["distance"]) for r in rows] == d_ref.ravel().tolist()
            assert [int(r["rank"]) for r in rows[:5]] == [0, 1, 2, 3, 4]


def test_search_radius_and_code_file_index(tmp_path, capsys):
    rng = np.random.default_rng(1)
    db = rng.integers(0, 256, size=(50, 2), dtype=np.uint8)
    q = rng.integers(0, 256, size=(4, 2), dtype=np.uint8)
    np.save(tmp_path / "db.npy", db)
    np.save(tmp_path / "q.npy", q)
    out = tmp_path / "r.npz"
    status, _, err = run(
        ["search", tmp_path / "db.npy", tmp_path / "q.npy", "-o", out, "--radius", 6],
        capsys,
    )
    assert status == 0, err
    D = hamming_distance(q, db)
    with np.load(out) as z:
        indptr, ind, dist = z["indptr"], z["indices"], z["distances"]
    for i in range(len(q)):
        got = ind[indptr[i] : indptr[i + 1]]
        assert sorted(got.tolist()) == np.flatnonzero(D[i] <= 6).tolist()
        np.testing.assert_array_equal(dist[indptr[i] : indptr[i + 1]], D[i, got])
    status, _, err = run(
        [
            "search",
            tmp_path / "db.npy",
            tmp_path / "q.npy",
            "-o",
            tmp_path / "r.csv",
            "--radius",
            "6",
        ],
        capsys,
    )
    assert status == 0
    with open(tmp_path / "r.csv") as f:
        assert len(list(csv.DictReader(f))) == int((D <= 6).sum())
    # a variable number of neighbours cannot go to a fixed-width format
    status, _, err = run(
        [
            "search",
            tmp_path / "db.npy",
            tmp_path / "q.npy",
            "-o",
            tmp_path / "r.npy",
            "--radius",
            "6",
        ],
        capsys,
    )
    assert status == 2 and "--radius" in err


def test_fit_separate_database_and_labels(tmp_path, capsys):
    X, y = load_digits(return_X_y=True)
    np.save(tmp_path / "train.npy", X[:300])
    np.save(tmp_path / "db.npy", X[300:500])
    np.savetxt(tmp_path / "y.txt", y[:300], fmt="%d")
    model = tmp_path / "m.joblib"
    status, _, err = run(
        [
            "fit",
            tmp_path / "train.npy",
            "-o",
            model,
            "--database",
            tmp_path / "db.npy",
            "--labels",
            tmp_path / "y.txt",
            "--n-bits",
            "8",
            "--param",
            "max_iter=5",
            "--no-scale",
            "-q",
        ],
        capsys,
    )
    assert status == 0, err
    pipe = joblib.load(model)
    assert len(pipe) == 2 and pipe[0].max_iter == 5
    assert pipe[-1].n_samples_fit_ == 200
    np.testing.assert_array_equal(pipe[-1]._fit_codes, pipe[:-1].transform(X[300:500]))


# ------------------------------------------------------------------ bad input


@pytest.mark.parametrize(
    "make, message",
    [
        (lambda d: d / "missing.npy", "does not exist"),
        (
            lambda d: (d / "x.txt").write_text("1 2\n") and d / "x.txt",
            "unsupported format",
        ),
        (
            lambda d: (d / "bad.npy").write_bytes(b"not numpy") and d / "bad.npy",
            "not a valid .npy",
        ),
        (lambda d: np.save(d / "one.npy", np.zeros(5)) or d / "one.npy", "2-D"),
        (lambda d: np.save(d / "e.npy", np.zeros((0, 3))) or d / "e.npy", "empty"),
        (lambda d: np.save(d / "n.npy", np.full((4, 3), np.nan)) or d / "n.npy", "NaN"),
        (
            lambda d: np.save(d / "s.npy", np.array([["a", "b"]])) or d / "s.npy",
            "numbers",
        ),
        (
            lambda d: (
                (d / "t.fvecs").write_bytes(b"\x03\x00\x00\x00\x00\x00")
                and d / "t.fvecs"
            ),
            "not a valid .fvecs",
        ),
        (lambda d: d, "folder"),
    ],
)
def test_fit_rejects_bad_data_and_writes_nothing(tmp_path, capsys, make, message):
    src = tmp_path / "in"
    src.mkdir()
    data = make(src)
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    status, out, err = run(["fit", data, "-o", out_dir / "m.joblib"], capsys)
    assert status == 2
    assert err.startswith("skhash fit: error:") and message in err
    assert listing(out_dir) == []


def test_fit_bad_options(tmp_path, features, capsys):
    _, data = features
    cases = [
        (["--method", "nope"], "unknown method 'nope'"),
        (["--n-bits", "0"], "--n-bits"),
        (["--param", "oops"], "NAME=VALUE"),
        (["--param", "bogus=1"], "bogus"),
        (["--method", "PCAH", "--n-bits", "64"], "n_bits"),
        (["--labels", tmp_path / "nolabels.npy"], "does not exist"),
    ]
    for extra, message in cases:
        status, _, err = run(["fit", data, "-o", tmp_path / "m.joblib", *extra], capsys)
        assert status == 2, extra
        assert message in err, (extra, err)
    np.save(tmp_path / "y.npy", np.zeros(3))
    status, _, err = run(
        ["fit", data, "-o", tmp_path / "m.joblib", "--labels", tmp_path / "y.npy"],
        capsys,
    )
    assert status == 2 and "one label" in err
    for bad_out, message in [
        (tmp_path / "m.txt", "unsupported extension"),
        (tmp_path / "nodir" / "m.joblib", "does not exist"),
    ]:
        status, _, err = run(["fit", data, "-o", bad_out], capsys)
        assert status == 2 and message in err
    assert not any(
        p.suffix == ".joblib" or p.name.endswith(".tmp") for p in tmp_path.iterdir()
    )


def test_supervised_method_needs_labels(tmp_path, features, capsys):
    supervised = [
        n
        for n, (cls, kind) in available_methods().items()
        if kind == "hasher" and cls().__sklearn_tags__().target_tags.required
    ]
    if not supervised:
        pytest.skip("no supervised hasher exported yet")
    _, data = features
    status, _, err = run(
        ["fit", data, "-o", tmp_path / "m.joblib", "--method", supervised[0]], capsys
    )
    assert status == 2 and "--labels" in err


def test_encode_and_search_bad_input(tmp_path, features, capsys):
    X, data = features
    model = tmp_path / "m.joblib"
    argv = ["fit", data, "-o", model, "--method", "LSH", "--n-bits", "16", "-q"]
    assert run(argv, capsys)[0] == 0
    np.save(tmp_path / "narrow.npy", X[:, :5])
    (tmp_path / "junk.joblib").write_bytes(b"garbage")
    joblib.dump({"not": "a model"}, tmp_path / "dict.joblib")
    out = tmp_path / "out"
    out.mkdir()
    cases = [
        (
            ["encode", model, tmp_path / "narrow.npy", "-o", out / "c.npy"],
            "has 5 features per row but the model was fitted on 40",
        ),
        (
            ["encode", tmp_path / "junk.joblib", data, "-o", out / "c.npy"],
            "not a model written by `skhash fit`",
        ),
        (
            ["encode", tmp_path / "dict.joblib", data, "-o", out / "c.npy"],
            "not a hashing pipeline",
        ),
        (
            ["encode", tmp_path / "nomodel.joblib", data, "-o", out / "c.npy"],
            "does not exist",
        ),
        (["encode", model, data, "-o", out / "c.fvecs"], "unsupported extension"),
        (
            ["encode", model, data, "-o", out / "c.npy", "--batch-size", "0"],
            "--batch-size",
        ),
    ]
    for argv, message in cases:
        status, _, err = run(argv, capsys)
        assert status == 2 and message in err, (argv, err)
    assert listing(out) == []

    assert run(["encode", model, data, "-o", tmp_path / "c.npy", "-q"], capsys)[0] == 0
    np.save(tmp_path / "float_q.npy", X[:3])
    np.save(tmp_path / "wide.npy", np.zeros((3, 3), np.uint8))
    cases = [
        (
            ["search", model, tmp_path / "float_q.npy", "-o", out / "n.npz"],
            "packed codes are uint8",
        ),
        (
            ["search", model, tmp_path / "wide.npy", "-o", out / "n.npz"],
            "3 bytes wide but the index",
        ),
        (
            ["search", model, tmp_path / "c.npy", "-o", out / "n.npz", "-k", "1000"],
            "exceeds the 120 codes",
        ),
        (
            ["search", model, tmp_path / "c.npy", "-o", out / "n.json"],
            "unsupported extension",
        ),
        (
            [
                "search",
                tmp_path / "dict.joblib",
                tmp_path / "c.npy",
                "-o",
                out / "n.npz",
            ],
            "not a fitted search index",
        ),
        (
            [
                "search",
                tmp_path / "float_q.npy",
                tmp_path / "c.npy",
                "-o",
                out / "n.npz",
            ],
            "packed codes are uint8",
        ),
    ]
    for argv, message in cases:
        status, _, err = run(argv, capsys)
        assert status == 2 and message in err, (argv, err)
    assert listing(out) == []


def test_failed_write_leaves_old_file_and_no_temporary(
    tmp_path, features, capsys, monkeypatch
):
    _, data = features
    model = tmp_path / "m.joblib"
    model.write_bytes(b"previous content")

    def broken_dump(obj, f):
        f.write(b"half a model")
        raise OSError("disk full")

    monkeypatch.setattr(joblib, "dump", broken_dump)
    with pytest.raises(OSError, match="disk full"):
        main(["fit", str(data), "-o", str(model), "-q"])
    assert model.read_bytes() == b"previous content"
    assert listing(tmp_path) == ["base.fvecs", "m.joblib"]


def test_atomic_write_replaces_whole_file(tmp_path):
    path = tmp_path / "a.bin"
    path.write_bytes(b"old")
    _atomic_write(path, lambda f: f.write(b"new content"))
    assert path.read_bytes() == b"new content"
    assert listing(tmp_path) == ["a.bin"]


# ---------------------------------------------------------------------- bench


def test_bench_digits_matches_library_metrics(tmp_path, capsys):
    out = tmp_path / "res"
    status, text, err = run(
        [
            "bench",
            "--methods",
            "LSH",
            "PQ",
            "--n-bits",
            "8",
            "16",
            "--n-queries-per-class",
            "3",
            "--output-dir",
            out,
            "--no-plot",
        ],
        capsys,
    )
    assert status == 0, err
    assert "[4/4]" in err and "200 queries" not in text and "30 queries" in text
    assert listing(out) == ["results.csv", "results.json"]
    with open(out / "results.csv") as f:
        rows = list(csv.DictReader(f))
    assert [(r["method"], r["n_bits"]) for r in rows] == [
        ("LSH", "8"),
        ("LSH", "16"),
        ("PQ", "8"),
        ("PQ", "16"),
    ]
    doc = json.loads((out / "results.json").read_text())
    assert doc["command"].startswith("skhash bench --methods LSH PQ")
    assert doc["environment"]["cpu_count"] >= 1
    assert doc["results"][2]["precision_r2"] is None  # quantizer: no Hamming ball

    # the same protocol computed independently with the library
    X, y = load_digits(return_X_y=True)
    s = retrieval_split(y, n_query_per_class=3, database="rest", random_state=0)
    pipe = make_pipeline(StandardScaler(), LSH(n_bits=16, random_state=0))
    db_codes = pipe.fit(X[s.database]).transform(X[s.database])
    q_codes = pipe.transform(X[s.query])
    nn = HammingNeighbors().fit(db_codes, y[s.database])
    assert float(rows[1]["mAP"]) == pytest.approx(nn.score(q_codes, y[s.query]))
    D = hamming_distance(q_codes, db_codes)
    assert float(rows[1]["precision_r2"]) == pytest.approx(
        precision_within_radius(y[s.query], y[s.database], D, radius=2)
    )
    curve = next(c for c in doc["pr_curves"] if c["n_bits"] == 16)
    precision, recall, _ = precision_recall_curve(
        y[s.query], y[s.database], D, n_bits=16
    )
    np.testing.assert_allclose(curve["precision"], precision)
    np.testing.assert_allclose(curve["recall"], recall)


def test_bench_times_search_after_a_warm_up(tmp_path, capsys, monkeypatch):
    # The first search call of each kind compiles numba kernels: it must not
    # count as search time, and its duration is reported once on its own line.
    import time

    from skhash import QuantizedNeighbors

    for cls in (HammingNeighbors, QuantizedNeighbors):
        original = cls.kneighbors
        first = {"call": True}

        def slow_first(self, *a, _orig=original, _first=first, **kw):
            if _first["call"]:
                _first["call"] = False
                time.sleep(0.5)  # stands for the JIT compilation
            return _orig(self, *a, **kw)

        monkeypatch.setattr(cls, "kneighbors", slow_first)
    out = tmp_path / "res"
    status, text, err = run(
        ["bench", "--methods", "LSH", "PQ", "--n-bits", "8", "16"]
        + ["--n-queries-per-class", "3", "--output-dir", out, "--no-plot"],
        capsys,
    )
    assert status == 0, err
    doc = json.loads((out / "results.json").read_text())
    assert all(r["search_s"] < 0.4 for r in doc["results"]), doc["results"]
    warm = [line for line in text.splitlines() if "first search call" in line]
    assert len(warm) == 2 and "hasher" in warm[0] and "quantizer" in warm[1]
    assert doc["warmup_s"]["hasher"] >= 0.5 and doc["warmup_s"]["quantizer"] >= 0.5


def test_bench_plots(tmp_path, capsys):
    pytest.importorskip("matplotlib")
    status, _, err = run(
        [
            "bench",
            "--methods",
            "ITQ",
            "--n-bits",
            "8",
            "--n-queries-per-class",
            "2",
            "--output-dir",
            tmp_path,
            "--plot",
            "-q",
        ],
        capsys,
    )
    assert status == 0, err
    assert listing(tmp_path) == [
        "map_vs_bits.png",
        "pr_curve.png",
        "results.csv",
        "results.json",
    ]
    assert (tmp_path / "pr_curve.png").read_bytes()[:4] == b"\x89PNG"


def test_bench_path_datasets(tmp_path, capsys):
    rng = np.random.default_rng(0)
    # a TEXMEX-style folder with its own ground truth
    folder = tmp_path / "tiny"
    folder.mkdir()
    base = rng.normal(size=(80, 6))
    query = rng.normal(size=(5, 6))
    write_fvecs(folder / "tiny_base.fvecs", base)
    write_fvecs(folder / "tiny_query.fvecs", query)
    gt = np.argsort(((query[:, None] - base[None]) ** 2).sum(-1), axis=1)[:, :10]
    write_ivecs(folder / "tiny_groundtruth.ivecs", gt)
    status, text, err = run(
        [
            "bench",
            "--dataset",
            folder,
            "--methods",
            "LSH",
            "--n-bits",
            "8",
            "--output-dir",
            tmp_path / "r1",
            "--no-plot",
            "-q",
        ],
        capsys,
    )
    assert status == 0, err
    assert "first 10 neighbours of tiny_groundtruth.ivecs" in text
    # an .npz with labels, and a bare feature file (Euclidean ground truth)
    np.savez(tmp_path / "lab.npz", X=rng.normal(size=(60, 4)), y=np.repeat([0, 1], 30))
    np.save(tmp_path / "feat.npy", rng.normal(size=(60, 4)))
    for ds in ("lab.npz", "feat.npy"):
        status, text, err = run(
            [
                "bench",
                "--dataset",
                tmp_path / ds,
                "--methods",
                "LSH",
                "--n-bits",
                "8",
                "--n-queries-per-class",
                "2",
                "--n-queries",
                "5",
                "--n-true-neighbors",
                "5",
                "--output-dir",
                tmp_path / ds.replace(".", "_"),
                "--no-plot",
                "-q",
            ],
            capsys,
        )
        assert status == 0, err
        row = json.loads((tmp_path / ds.replace(".", "_") / "results.json").read_text())
        assert 0 < row["results"][0]["mAP"] <= 1


def test_bench_bad_input(tmp_path, capsys):
    (tmp_path / "afile").write_text("x")
    np.savez(tmp_path / "noy.npz", X=np.zeros((5, 2)))
    cases = [
        (["--methods", "NotAMethod"], "unknown method"),
        (["--dataset", tmp_path / "nowhere"], "neither one of digits"),
        (["--dataset", tmp_path / "noy.npz"], "needs arrays 'X'"),
        (["--output-dir", tmp_path / "afile"], "is a file"),
        (["--n-bits", "0"], "--n-bits"),
        (["--protocol", "cifar10-dsh"], "digits has no named protocol"),
        (["--dataset", "mnist", "--data-home", tmp_path / "empty"], "SKHASH_DATA"),
        (["--dataset", "mnist", "--protocol", "fashion-mnist-dsh"], "does not belong"),
        (["--dataset", "mnist", "--protocol", "nope"], "does not belong"),
    ]
    for extra, message in cases:
        status, _, err = run(["bench", "-q", "--no-plot", *extra], capsys)
        assert status == 2, extra
        assert message in err, (extra, err)


def _toy_benchmarks(folder):
    """A benchmarks/ folder: the real reproduce.py and registry, toy entries."""
    from pathlib import Path

    real = Path(__file__).resolve().parents[1] / "benchmarks"
    folder.mkdir(parents=True)
    (folder / "reproduce.py").write_text((real / "reproduce.py").read_text())
    (folder / "registry.py").write_text(
        (real / "registry.py").read_text() + "\nREGISTRY = (\n"
        '    Entry("ok", "bench_ok.py", "reproduction", "Toy table", ("--x", "2"),'
        ' paper="P", table="T", doc="reproduction_toy.rst"),\n'
        '    Entry("broken", "bench_broken.py", "measurement", "Fails"),\n'
        ")\n"
    )
    (folder / "_common.py").write_text("VALUE = 3\n")
    (folder / "bench_ok.py").write_text(
        '"""Toy table."""\nimport sys\nfrom _common import VALUE\n'
        'print("table", VALUE, *sys.argv[1:])\n'
    )
    (folder / "bench_broken.py").write_text('"""Fails."""\nraise SystemExit(3)\n')
    (folder / "bench_undeclared.py").write_text("raise SystemExit('must not run')\n")
    (folder / "helper.py").write_text("raise SystemExit('must not run')\n")
    return folder


def test_bench_reproduce_runs_the_registry(tmp_path, capsys):
    bench = _toy_benchmarks(tmp_path / "benchmarks")
    out = tmp_path / "out"
    status = main(
        [
            "bench",
            "--reproduce",
            "--benchmarks-dir",
            str(bench),
            "--output-dir",
            str(out),
            "-q",
        ]
    )
    capsys.readouterr()
    assert status == 1  # one script failed
    summary = json.loads((out / "summary.json").read_text())
    by_name = {s["name"]: s for s in summary["scripts"]}
    assert set(by_name) == {"ok", "broken"}  # declared entries only, in order
    assert [s["name"] for s in summary["scripts"]] == ["ok", "broken"]
    assert by_name["ok"]["returncode"] == 0
    assert by_name["ok"]["command"] == "python benchmarks/bench_ok.py --x 2"
    assert by_name["ok"]["kind"] == "reproduction"
    assert by_name["ok"]["doc"] == "reproduction_toy.rst"
    assert by_name["broken"]["returncode"] == 3
    assert (out / "ok.txt").read_text().strip() == "table 3 --x 2"
    assert "reproduction_toy.rst" in (out / "summary.md").read_text()
    assert main(["bench", "--reproduce", "--benchmarks-dir", str(tmp_path)]) == 2


def test_bench_reproduce_from_a_source_checkout(tmp_path, capsys, monkeypatch):
    import skhash.cli._bench as bench_cmd

    bench = _toy_benchmarks(tmp_path / "checkout" / "benchmarks")
    monkeypatch.setattr(bench_cmd, "_source_benchmarks_dir", lambda: bench)
    out = tmp_path / "out"
    status, _, _ = run(["bench", "--reproduce", "-o", out, "-q"], capsys)
    assert status == 1  # the toy registry has a failing entry
    assert (out / "ok.txt").read_text().strip() == "table 3 --x 2"


def test_bench_reproduce_from_an_installed_package(tmp_path, capsys, monkeypatch):
    import skhash.cli._bench as bench_cmd

    site = tmp_path / "site-packages"
    (site / "skhash").mkdir(parents=True)
    monkeypatch.setattr(
        bench_cmd, "_source_benchmarks_dir", lambda: site / "benchmarks"
    )
    status, out, err = run(
        ["bench", "--reproduce", "-o", tmp_path / "out", "-q"], capsys
    )
    assert status == 2
    assert "ship with the skhash source checkout" in err
    assert "--benchmarks-dir" in err
    assert not (tmp_path / "out").exists()


def _data_home():
    import os
    from pathlib import Path

    env = os.environ.get("SKHASH_DATA")
    home = Path(env) if env else Path(__file__).resolve().parents[2] / "shared" / "data"
    if not (home / "mnist").is_dir():
        pytest.skip(f"real data not found at {home} (set SKHASH_DATA)")
    return home


@pytest.mark.data
@pytest.mark.slow
def test_bench_real_mnist(tmp_path, capsys):
    status, text, err = run(
        [
            "bench",
            "--dataset",
            "mnist",
            "--data-home",
            _data_home(),
            "--methods",
            "LSH",
            "ITQ",
            "--n-bits",
            "16",
            "--output-dir",
            tmp_path,
            "--no-plot",
            "-q",
        ],
        capsys,
    )
    assert status == 0, err
    doc = json.loads((tmp_path / "results.json").read_text())
    assert [r["n_queries"] for r in doc["results"]] == [1000, 1000]
    assert [r["n_database"] for r in doc["results"]] == [69000, 69000]
    lsh, itq = (r["mAP"] for r in doc["results"])
    assert 0.1 < lsh < itq < 1  # chance is 0.1; ITQ beats LSH on MNIST


# ----------------------------------------------------------------------- misc


def test_python_dash_m_and_help():
    res = subprocess.run(
        [sys.executable, "-m", "skhash", "search", "--help"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert "--n-neighbors" in res.stdout


def test_available_methods_lists_hashers_and_quantizers():
    methods = available_methods()
    assert methods["LSH"][1] == "hasher"
    assert "BaseHasher" not in methods and "HammingNeighbors" not in methods
    if "PQ" in methods:
        assert methods["PQ"][1] == "quantizer"


# ---------------------------------------------------------------- help texts


def _subparsers():
    import argparse

    from skhash.cli import _parser

    parser = _parser()
    action = next(
        a for a in parser._actions if isinstance(a, argparse._SubParsersAction)
    )
    return action.choices


def test_every_option_has_help_and_shows_its_default():
    import argparse

    commands = _subparsers()
    assert set(commands) == {"demo", "bench", "fit", "encode", "search"}
    for name, command in commands.items():
        formatter = command._get_formatter()
        for action in command._actions:
            if isinstance(action, argparse._HelpAction):
                continue
            label = f"{name} {'/'.join(action.option_strings) or action.dest}"
            assert action.help and action.help != argparse.SUPPRESS, label
            if not action.option_strings or action.nargs == 0 or action.required:
                continue  # arguments, flags and required options have no default
            # the help text as --help prints it states the default
            text = formatter._expand_help(action)
            assert "default" in text, (label, text)
            if action.default is not None:
                assert f"(default: {action.default})" in text, (label, text)


# ---------------------------------------------------------------- quantizers


@pytest.mark.parametrize("method", ["PQ", "OPQ"])
def test_fit_encode_search_with_a_quantizer(tmp_path, features, capsys, method):
    from skhash.quantization import OPQ, PQ, QuantizedNeighbors

    X, data = features
    model = tmp_path / "model.joblib"
    status, out, err = run(
        ["fit", data, "-o", model, "--method", method.lower(), "--n-bits", "16"]
        + ["--param", "n_clusters=16", "-q"],
        capsys,
    )
    assert status == 0, err
    assert "16 bits (4 codeword indices a code), 120 database codes" in out
    cls = {"PQ": PQ, "OPQ": OPQ}[method]
    expected = make_pipeline(
        StandardScaler(),
        QuantizedNeighbors(cls(n_bits=16, n_clusters=16, random_state=0)),
    ).fit(X)
    qn = expected[-1]
    pipe = joblib.load(model)
    assert isinstance(pipe[-1], QuantizedNeighbors)
    np.testing.assert_array_equal(pipe[-1].codes_, qn.codes_)

    queries = tmp_path / "query.fvecs"
    Q = X[:7] + 0.01
    write_fvecs(queries, Q)
    codes = tmp_path / "q.npy"
    status, out, err = run(
        ["encode", model, queries, "-o", codes, "--batch-size", "3", "-q"], capsys
    )
    assert status == 0, err
    assert "7 codes of 4 codeword indices (uint8)" in out
    q_codes = np.load(codes)
    assert q_codes.dtype == np.uint8 and q_codes.shape == (7, 4)
    np.testing.assert_array_equal(
        q_codes, qn.quantizer_.transform(expected[0].transform(Q))
    )

    d_ref, i_ref = qn.kneighbors(expected[0].transform(Q), n_neighbors=5)
    for suffix in (".npz", ".ivecs", ".csv"):
        result = tmp_path / f"nbrs{suffix}"
        status, out, err = run(
            ["search", model, queries, "-o", result, "-k", "5"], capsys
        )
        assert status == 0, err
        assert "asymmetric distance" in out
        if suffix == ".npz":
            with np.load(result) as z:
                np.testing.assert_array_equal(z["indices"], i_ref)
                np.testing.assert_allclose(z["distances"], d_ref)
        elif suffix == ".ivecs":
            np.testing.assert_array_equal(read_ivecs(result), i_ref)
        else:
            with open(result) as f:
                rows = list(csv.DictReader(f))
            assert [int(r["index"]) for r in rows] == i_ref.ravel().tolist()
            np.testing.assert_allclose(
                [float(r["distance"]) for r in rows], d_ref.ravel(), rtol=1e-6
            )


def test_quantizer_trained_on_one_set_indexes_another(tmp_path, capsys):
    from skhash.quantization import PQ

    rng = np.random.default_rng(1)
    X_train = rng.normal(size=(200, 8))
    X_db = rng.normal(size=(50, 8))
    np.save(tmp_path / "train.npy", X_train)
    np.save(tmp_path / "db.npy", X_db)
    model = tmp_path / "m.joblib"
    status, out, err = run(
        ["fit", tmp_path / "train.npy", "--database", tmp_path / "db.npy"]
        + ["-o", model, "--method", "PQ", "--n-bits", "8", "--no-scale"]
        + ["--param", "n_clusters=16", "-q"],
        capsys,
    )
    assert status == 0, err
    assert "50 database codes" in out
    pq = PQ(n_bits=8, n_clusters=16, random_state=0).fit(X_train)
    pipe = joblib.load(model)
    np.testing.assert_array_equal(pipe[-1].codes_, pq.transform(X_db))
    np.save(tmp_path / "q.npy", X_db[:3])
    status, _, err = run(
        ["search", model, tmp_path / "q.npy", "-o", tmp_path / "n.npy", "-k", "1"],
        capsys,
    )
    assert status == 0, err
    assert np.load(tmp_path / "n.npy").shape == (3, 1)


def test_quantizer_search_errors(tmp_path, features, capsys):
    X, data = features
    model = tmp_path / "model.joblib"
    status, _, err = run(
        ["fit", data, "-o", model, "--method", "PQ", "--n-bits", "16"]
        + ["--param", "n_clusters=16", "-q"],
        capsys,
    )
    assert status == 0, err
    codes = tmp_path / "codes.npy"
    assert run(["encode", model, data, "-o", codes, "-q"], capsys)[0] == 0
    result = tmp_path / "n.npz"
    cases = [
        (["search", model, codes, "-o", result], "looks like codes written by"),
        (["search", model, codes, "-o", result], "raw query features"),
        (["search", model, data, "-o", result, "--radius", "2"], "Hamming radius"),
        (["search", model, data, "-o", result, "-k", "121"], "exceeds the 120"),
        (["search", model, tmp_path, "-o", result], "is a folder"),
    ]
    for argv, message in cases:
        status, _, err = run(argv, capsys)
        assert status == 2, argv
        assert message in err, (argv, err)
        assert not result.exists()


def _image_model(X):
    """A fitted quantizer index whose first step is named as the image step."""
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import FunctionTransformer

    from skhash import PQ, QuantizedNeighbors

    pq = PQ(n_bits=8, n_clusters=16, random_state=0)
    return Pipeline(
        [("features", FunctionTransformer()), ("search", QuantizedNeighbors(pq))]
    ).fit(X)


def test_image_folder_and_model_must_match(tmp_path, features, capsys):
    """Check encode and search refuse a folder for a model fitted on features,
    and a feature file for a model fitted on images, with the same check."""
    X, data = features
    plain, images = tmp_path / "plain.joblib", tmp_path / "images.joblib"
    argv = ["fit", data, "-o", plain, "--method", "PQ", "--n-bits", "8"]
    assert run(argv + ["--param", "n_clusters=16", "-q"], capsys)[0] == 0
    joblib.dump(_image_model(X), images)
    folder = tmp_path / "photos"
    folder.mkdir()
    out = tmp_path / "out.npy"
    cases = [
        (["encode", plain, folder, "-o", out], "is a folder, but the model was fitted"),
        (["search", plain, folder, "-o", out], "is a folder, but the model was fitted"),
        (["encode", images, data, "-o", out], "pass a folder of images, not"),
        (["search", images, data, "-o", out], "pass a folder of query images, not"),
        (["encode", images, folder, "-o", out], "data folder"),
        (["search", images, folder, "-o", out], "queries folder"),
    ]
    for argv, message in cases:
        status, _, err = run(argv, capsys)
        assert status == 2, argv
        assert message in err, (argv, err)
        assert not out.exists()


# ---------------------------------------------------------------- bench -o


def test_bench_dash_o_names_the_output_folder(tmp_path, capsys):
    out = tmp_path / "runs" / "digits"
    status, stdout, err = run(
        ["bench", "-o", out, "--methods", "LSH", "--n-bits", "8", "--no-plot", "-q"],
        capsys,
    )
    assert status == 0, err
    assert listing(out) == ["results.csv", "results.json"]
    # checked before any work, as the outputs of the other commands
    (tmp_path / "afile").write_text("x")
    for bad in (tmp_path / "afile", tmp_path / "afile" / "sub"):
        status, stdout, err = run(["bench", "-o", bad, "--no-plot"], capsys)
        assert status == 2
        assert "is a file, not a folder" in err
        assert "loading" not in err and stdout == ""
