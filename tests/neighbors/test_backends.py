"""Every search backend returns exactly the brute-force result, ties by index."""

import functools
import json
import pickle

import numpy as np
import pytest

from skhash import ITQ, HammingNeighbors, hamming_distance, pack_bits
from skhash._kernels.jit import HAVE_NUMBA
from skhash.neighbors import merge_topk

try:
    import faiss  # noqa: F401

    HAVE_FAISS = True
except ImportError:  # pragma: no cover
    HAVE_FAISS = False
try:
    import torch

    HAVE_TORCH = True
except ImportError:  # pragma: no cover
    HAVE_TORCH = False

BACKENDS = [
    "numpy",
    pytest.param("numba", marks=pytest.mark.skipif(not HAVE_NUMBA, reason="numba")),
    pytest.param("mih", marks=pytest.mark.skipif(not HAVE_NUMBA, reason="numba")),
    pytest.param(
        "faiss",
        marks=[pytest.mark.faiss, pytest.mark.skipif(not HAVE_FAISS, reason="faiss")],
    ),
    pytest.param(
        "torch",
        marks=[pytest.mark.torch, pytest.mark.skipif(not HAVE_TORCH, reason="torch")],
    ),
]


def _oracle_knn(q, db, k):
    D = hamming_distance(q, db)
    idx = np.broadcast_to(np.arange(db.shape[0]), D.shape)
    order = np.lexsort((idx, D), axis=1)[:, :k]
    return np.take_along_axis(D, order, 1), order


def _oracle_radius(q, db, r):
    D = hamming_distance(q, db)
    out = []
    for row in D:
        sel = np.flatnonzero(row <= r)
        sel = sel[np.argsort(row[sel], kind="stable")]
        out.append((row[sel], sel))
    return out


def _random_codes(rng, n, n_bits, p):
    return pack_bits((rng.random((n, n_bits)) < p).astype(np.uint8))


@functools.cache
def _learned_codes(n_bits, n_db=600, n_q=40, seed=0):
    """ITQ codes of clustered real-valued data: many ties and duplicates."""
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(12, 20))
    X = centres[rng.integers(0, 12, n_db + n_q)] + 0.3 * rng.normal(
        size=(n_db + n_q, 20)
    )
    if n_bits > 20:  # ITQ needs n_bits <= n_features
        X = np.hstack([X, rng.normal(size=(len(X), n_bits - 20)) * 0.1])
    codes = ITQ(n_bits=n_bits, max_iter=5, random_state=0).fit(X).transform(X)
    return codes[:n_db], codes[n_db:]


def _check_knn(nn, q, db, k):
    dist, ind = nn.kneighbors(q, n_neighbors=k)
    d_ref, i_ref = _oracle_knn(q, db, k)
    np.testing.assert_array_equal(dist, d_ref)
    np.testing.assert_array_equal(ind, i_ref)
    assert dist.dtype == np.int32 and ind.dtype == np.int64


def _check_radius(nn, q, db, r):
    dists, inds = nn.radius_neighbors(q, radius=r)
    for (d_ref, i_ref), d, i in zip(_oracle_radius(q, db, r), dists, inds, strict=True):
        np.testing.assert_array_equal(i, i_ref)
        np.testing.assert_array_equal(d, d_ref)


@pytest.mark.parametrize("algorithm", BACKENDS)
@pytest.mark.parametrize("n_bits", [1, 5, 8, 13, 32, 64, 70, 128, 256])
def test_random_codes_match_brute_force(algorithm, n_bits):
    rng = np.random.default_rng(n_bits)
    p = 0.2 if n_bits > 8 else 0.5  # skewed bits: many ties
    db, q = _random_codes(rng, 500, n_bits, p), _random_codes(rng, 30, n_bits, p)
    nn = HammingNeighbors(algorithm=algorithm).fit(db)
    for k in (1, 7, 100, 500):
        _check_knn(nn, q, db, k)
    for r in (0, 1, 3, n_bits // 3):
        _check_radius(nn, q, db, r)


@pytest.mark.parametrize("algorithm", BACKENDS)
@pytest.mark.parametrize("n_bits", [6, 16, 24, 48])
def test_learned_codes_match_brute_force(algorithm, n_bits):
    db, q = _learned_codes(n_bits, seed=n_bits)
    nn = HammingNeighbors(algorithm=algorithm).fit(db)
    for k in (1, 10, 64):
        _check_knn(nn, q, db, k)
    for r in (0, 2, 5):
        _check_radius(nn, q, db, r)


@pytest.mark.parametrize("algorithm", BACKENDS)
def test_self_query_and_pickle(algorithm):
    rng = np.random.default_rng(1)
    db = _random_codes(rng, 120, 12, 0.3)  # 12 bits, 120 codes: duplicates
    nn = HammingNeighbors(n_neighbors=5, algorithm=algorithm).fit(db)
    ref = HammingNeighbors(n_neighbors=5, algorithm="numpy").fit(db)
    d, i = nn.kneighbors()
    d_ref, i_ref = ref.kneighbors()
    np.testing.assert_array_equal(i, i_ref)
    np.testing.assert_array_equal(d, d_ref)
    assert not (i == np.arange(120)[:, None]).any()
    rd, ri = nn.radius_neighbors(radius=2)
    rd_ref, ri_ref = ref.radius_neighbors(radius=2)
    for a, b in zip(ri, ri_ref, strict=True):
        np.testing.assert_array_equal(a, b)
    clone = pickle.loads(pickle.dumps(nn))
    d2, i2 = clone.kneighbors(db[:9])
    d3, i3 = ref.kneighbors(db[:9])
    np.testing.assert_array_equal(i2, i3)
    np.testing.assert_array_equal(d2, d3)
    assert clone.algorithm_ == nn.algorithm_


@pytest.mark.skipif(not HAVE_NUMBA, reason="numba")
def test_numba_kernels_heap_and_count_paths_and_chunks():
    """Both selections (heap, counting) and a database searched in chunks."""
    from skhash.neighbors._numba_brute import NumbaBruteSearcher

    rng = np.random.default_rng(3)
    db, q = _random_codes(rng, 5000, 24, 0.3), _random_codes(rng, 70, 24, 0.3)
    for k in (3, 24, 400):  # 400 * 200 >= 5000: counting selection
        for chunk_rows in (None, 777):
            s = NumbaBruteSearcher(db, chunk_rows=chunk_rows)
            if chunk_rows:
                s.db.in_memory, s.db._db_t = False, None
            d, i = s.kneighbors(q, k, n_jobs=2)
            d_ref, i_ref = _oracle_knn(q, db, k)
            np.testing.assert_array_equal(i, i_ref)
            np.testing.assert_array_equal(d, d_ref)
            rd, ri = s.radius_neighbors(q, 5)
            for (dr, ir), a, b in zip(_oracle_radius(q, db, 5), rd, ri, strict=True):
                np.testing.assert_array_equal(b, ir)
                np.testing.assert_array_equal(a, dr)


@pytest.mark.skipif(not HAVE_NUMBA, reason="numba")
@pytest.mark.parametrize("n_substrings", [2, 3, 5, 8])
def test_mih_substrings(n_substrings):
    db, q = _learned_codes(40, n_db=800, seed=7)
    nn = HammingNeighbors(
        algorithm="mih", algorithm_params={"n_substrings": n_substrings}
    ).fit(db)
    assert len(nn._searcher.lengths) == n_substrings
    for k in (1, 5, 50):
        _check_knn(nn, q, db, k)
    for r in (0, 1, 4, 9):
        _check_radius(nn, q, db, r)


def test_mih_rejects_too_long_substrings():
    db, _ = _learned_codes(40, n_db=50, seed=7)
    with pytest.raises(ValueError, match="n_substrings=1"):
        HammingNeighbors(algorithm="mih", algorithm_params={"n_substrings": 1}).fit(db)


def test_auto_reports_choice(capsys):
    rng = np.random.default_rng(4)
    db = _random_codes(rng, 50, 16, 0.5)
    nn = HammingNeighbors(verbose=1).fit(db)
    out = capsys.readouterr().out
    assert nn.algorithm_ in ("numba", "numpy")
    assert f"algorithm={nn.algorithm_!r}" in out


@pytest.mark.skipif(not HAVE_NUMBA, reason="numba")
def test_auto_uses_mih_for_radius_on_large_databases(capsys, monkeypatch):
    from skhash.neighbors import _backends

    monkeypatch.setattr(_backends, "MIH_MIN_SAMPLES", 100)
    db, q = _learned_codes(32, n_db=400, seed=2)
    # no radius given: no index (the searcher may only ever see k-NN queries)
    assert HammingNeighbors().fit(db)._radius_index is None
    nn = HammingNeighbors(radius=2, verbose=1).fit(db)
    # the radius index is built in fit, on the scan's database
    assert "multi-index hashing" in capsys.readouterr().out
    assert nn._radius_index is not None
    assert nn._radius_index.db is nn._searcher.db
    assert nn._radius_searcher(2) is nn._radius_index
    _check_radius(nn, q, db, 2)
    for r in (0, 1, 3, 7):  # other radii: the index or the scan, same result
        _check_radius(nn, q, db, r)


def test_bad_algorithm_params():
    db = pack_bits(np.eye(8, dtype=np.uint8))
    with pytest.raises(ValueError, match="algorithm_params"):
        HammingNeighbors(algorithm="numpy", algorithm_params={"bogus": 1}).fit(db)


def test_merge_topk_is_exact():
    rng = np.random.default_rng(5)
    db, q = _random_codes(rng, 900, 10, 0.5), _random_codes(rng, 20, 10, 0.5)
    parts = [(0, 300), (300, 650), (650, 900)]
    ds, is_ = [], []
    for a, b in parts:
        d, i = _oracle_knn(q, db[a:b], 40)
        ds.append(d)
        is_.append(i + a)
    d, i = merge_topk(ds, is_, 40)
    d_ref, i_ref = _oracle_knn(q, db, 40)
    np.testing.assert_array_equal(i, i_ref)
    np.testing.assert_array_equal(d, d_ref)


@pytest.mark.gpu
@pytest.mark.torch
def test_torch_cuda_matches_brute_force():
    if not HAVE_TORCH or not torch.cuda.is_available():
        pytest.skip("needs a CUDA device")
    rng = np.random.default_rng(6)
    db, q = _random_codes(rng, 20000, 256, 0.3), _random_codes(rng, 300, 256, 0.3)
    nn = HammingNeighbors(algorithm="torch", device="cuda").fit(db)
    assert nn._searcher.device.startswith("cuda")
    _check_knn(nn, q, db, 100)
    _check_radius(nn, q, db, 60)


SCAN_BACKENDS = [
    "numpy",
    pytest.param("numba", marks=pytest.mark.skipif(not HAVE_NUMBA, reason="numba")),
    pytest.param(
        "faiss",
        marks=[pytest.mark.faiss, pytest.mark.skipif(not HAVE_FAISS, reason="faiss")],
    ),
]


@pytest.mark.parametrize("algorithm", SCAN_BACKENDS)
def test_memory_mapped_database_is_not_copied(tmp_path, algorithm, monkeypatch):
    """A np.load(..., mmap_mode="r") database is searched in chunks, exactly."""
    from skhash.neighbors import _database

    monkeypatch.setattr(_database, "MMAP_CHUNK_ROWS", 333)
    rng = np.random.default_rng(8)
    db, q = _random_codes(rng, 1000, 72, 0.3), _random_codes(rng, 25, 72, 0.3)
    np.save(tmp_path / "db.npy", db)
    mm = np.load(tmp_path / "db.npy", mmap_mode="r")
    nn = HammingNeighbors(algorithm=algorithm).fit(mm)
    searcher = nn._searcher
    database = searcher.db
    assert not database.in_memory and database._db_t is None
    assert database.chunk_rows == 333
    assert getattr(searcher, "index", None) is None  # faiss: no index of its own
    assert _database.is_memory_mapped(nn._fit_codes)
    for k in (1, 50, 700):
        _check_knn(nn, q, db, k)
    _check_radius(nn, q, db, 12)
    d, i = nn.kneighbors(n_neighbors=4)
    ref = HammingNeighbors(n_neighbors=4, algorithm="numpy").fit(db).kneighbors()
    np.testing.assert_array_equal(i, ref[1])


@pytest.mark.parametrize("n_bits", [20, 72, 100])
def test_numpy_backend_memmap_chunks_equal_in_memory(tmp_path, n_bits):
    """The NumPy backend scans a np.memmap in chunks (padded per chunk) and
    merges them exactly: same neighbours as the in-memory array, ties across
    chunk borders broken by database index."""
    rng = np.random.default_rng(n_bits)
    db = _random_codes(rng, 700, n_bits, 0.05)  # sparse bits: many ties
    db[::9] = db[0]  # exact duplicates of query 0 in every chunk
    q = np.concatenate([db[:1], _random_codes(rng, 20, n_bits, 0.05)])
    assert db.shape[1] % 8  # widths that need padding to 64-bit words
    mm = np.memmap(tmp_path / "db.bin", np.uint8, "w+", shape=db.shape)
    mm[:] = db
    mm.flush()
    mm = np.memmap(tmp_path / "db.bin", np.uint8, "r", shape=db.shape)
    params = {"chunk_rows": 64, "block_bytes": 200}
    nn = HammingNeighbors(algorithm="numpy", algorithm_params=params).fit(mm)
    assert not nn._searcher.db.in_memory and nn._searcher.db._db_t is None
    ref = HammingNeighbors(algorithm="numpy").fit(db)
    assert ref._searcher.db.in_memory
    for k in (1, 30, 78, 79, 100, 700):  # 78 copies of db[0]: ties at the k-th
        d, i = nn.kneighbors(
            q,
            n_neighbors=k,
        )
        d_ref, i_ref = ref.kneighbors(q, n_neighbors=k)
        np.testing.assert_array_equal(i, i_ref)
        np.testing.assert_array_equal(d, d_ref)
        m = min(k, 78)  # at least 78 codes at distance 0 from query 0
        assert (d[0, :m] == 0).all()
        if k >= 30:  # the tied codes span several chunks of 64
            assert len(np.unique(i[0, :m] // 64)) > 1
        _check_knn(nn, q, db, k)
    _check_radius(nn, q, db, 3)
    rd, ri = nn.radius_neighbors(q, radius=3)
    rd_ref, ri_ref = ref.radius_neighbors(q, radius=3)
    for a, b, c, e in zip(rd, ri, rd_ref, ri_ref, strict=True):
        np.testing.assert_array_equal(b, e)
        np.testing.assert_array_equal(a, c)


@pytest.mark.parametrize("algorithm", ["auto", "numpy"])
def test_save_load_roundtrip(tmp_path, algorithm):
    from skhash.neighbors import load_index, save_index
    from skhash.neighbors._database import is_memory_mapped

    rng = np.random.default_rng(9)
    db, q = _random_codes(rng, 300, 20, 0.4), _random_codes(rng, 10, 20, 0.4)
    y = rng.integers(0, 3, 300)
    nn = HammingNeighbors(n_neighbors=6, radius=3, algorithm=algorithm).fit(db, y)
    path = save_index(nn, tmp_path / "index")
    for mmap_mode in (None, "r"):
        nn2 = load_index(path, mmap_mode=mmap_mode)
        assert nn2.get_params() == nn.get_params()
        assert is_memory_mapped(nn2._fit_codes) == (mmap_mode == "r")
        for a, b in zip(nn.kneighbors(q), nn2.kneighbors(q), strict=True):
            np.testing.assert_array_equal(a, b)
        np.testing.assert_array_equal(nn.predict(q), nn2.predict(q))
        assert nn2.score(q, y[:10]) == nn.score(q, y[:10])
    assert load_index(path, n_jobs=2).n_jobs == 2
    with pytest.raises(ValueError, match="mmap_mode"):
        load_index(path, mmap_mode="w+")
    (tmp_path / "index" / "params.json").write_text('{"format": 99}')
    with pytest.raises(ValueError, match="saved HammingNeighbors"):
        load_index(path)


@pytest.mark.faiss
@pytest.mark.skipif(not HAVE_FAISS, reason="faiss")
@pytest.mark.parametrize("n_bits", [20, 64, 72])
def test_faiss_memmap_chunks_equal_numba_and_in_memory(tmp_path, n_bits):
    """FAISS on a memmap: one temporary index per chunk, merged with ties by
    index; the same neighbours as the in-memory index and the other backends,
    and pickling keeps the memmap unindexed."""
    rng = np.random.default_rng(n_bits)
    db = _random_codes(rng, 700, n_bits, 0.05)  # sparse bits: many ties
    db[::9] = db[0]  # exact duplicates of query 0 in every chunk
    q = np.concatenate([db[:1], _random_codes(rng, 20, n_bits, 0.05)])
    np.save(tmp_path / "db.npy", db)
    mm = np.load(tmp_path / "db.npy", mmap_mode="r")
    nn = HammingNeighbors(algorithm="faiss", algorithm_params={"chunk_rows": 64})
    nn.fit(mm)
    assert nn._searcher.index is None and not nn._searcher.db.in_memory
    refs = [HammingNeighbors(algorithm="faiss").fit(db)]
    refs.append(HammingNeighbors(algorithm="numba" if HAVE_NUMBA else "numpy"))
    refs[-1].fit(db)
    assert refs[0]._searcher.index is not None
    for k in (1, 30, 78, 79, 700):  # 78 copies of db[0]: ties at the k-th
        d, i = nn.kneighbors(q, n_neighbors=k)
        for ref in refs:
            d_ref, i_ref = ref.kneighbors(q, n_neighbors=k)
            np.testing.assert_array_equal(i, i_ref)
            np.testing.assert_array_equal(d, d_ref)
    for r in (0, 3):
        rd, ri = nn.radius_neighbors(q, radius=r)
        for ref in refs:
            rd_ref, ri_ref = ref.radius_neighbors(q, radius=r)
            for a, b, c, e in zip(rd, ri, rd_ref, ri_ref, strict=True):
                np.testing.assert_array_equal(b, e)
                np.testing.assert_array_equal(a, c)
    clone = pickle.loads(pickle.dumps(nn))
    np.testing.assert_array_equal(clone.kneighbors(q)[1], nn.kneighbors(q)[1])


def _state(nn):
    """What the estimator holds: attribute names and object identities."""
    return {k: id(v) for k, v in vars(nn).items()}, {
        k: id(v) for k, v in vars(nn._searcher).items()
    }


@pytest.mark.parametrize("algorithm", ["auto", *BACKENDS])
def test_queries_do_not_change_the_estimator(algorithm, monkeypatch):
    """Every structure a query needs is built in fit (the radius index too)."""
    from skhash.neighbors import _backends

    monkeypatch.setattr(_backends, "MIH_MIN_SAMPLES", 100)
    db, q = _learned_codes(32, n_db=400, seed=2)
    nn = HammingNeighbors(n_neighbors=3, radius=2, algorithm=algorithm).fit(db)
    before = _state(nn)
    radius_index = getattr(nn, "_radius_index", None)
    nn.kneighbors(q)
    nn.kneighbors()
    nn.radius_neighbors(q, radius=2)
    nn.radius_neighbors(q, radius=9)
    nn.kneighbors(q, n_neighbors=300)
    assert _state(nn) == before
    assert nn._radius_index is radius_index
    if algorithm == "auto" and nn.algorithm_ == "numba":
        assert radius_index is not None


_MEMORY_CHILD = r"""
import json, sys
import numpy as np
from skhash.neighbors import HammingNeighbors

path, algorithm, params = sys.argv[1], sys.argv[2], json.loads(sys.argv[3])

def kb(field):
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field):
                return int(line.split()[1])

db = np.load(path, mmap_mode="r")
q = np.asarray(db[:50]).copy()
# imports and compiled kernels first (the same paths as below), so that only
# the search is measured
warm = HammingNeighbors(algorithm=algorithm).fit(np.asarray(db[:8192]))
warm.kneighbors(q[:2])
warm.radius_neighbors(q[:2], radius=3)
with open("/proc/self/clear_refs", "w") as f:
    f.write("5")  # reset the RSS high-water mark
before, file_before = kb("VmRSS:"), kb("RssFile:")
nn = HammingNeighbors(algorithm=algorithm, algorithm_params=params).fit(db)
nn.kneighbors(q)
nn.radius_neighbors(q[:5], radius=3)
# pages of the mapped file count in the RSS; the rest is what the search holds
print((kb("VmHWM:") - before - (kb("RssFile:") - file_before)) / 1024)
"""


def _clear_refs_works():
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
    except OSError:
        return False
    return True


@pytest.mark.skipif(not _clear_refs_works(), reason="needs Linux /proc")
@pytest.mark.parametrize(
    "algorithm, params",
    [
        ("numpy", {"chunk_rows": 1 << 17, "block_bytes": 1 << 20}),
        pytest.param(
            "numba",
            {"chunk_rows": 1 << 17},
            marks=pytest.mark.skipif(not HAVE_NUMBA, reason="numba"),
        ),
        pytest.param(
            "faiss",
            {"chunk_rows": 1 << 17},
            marks=[
                pytest.mark.faiss,
                pytest.mark.skipif(not HAVE_FAISS, reason="faiss"),
            ],
        ),
    ],
)
def test_memory_mapped_search_memory_is_bounded_by_the_chunk(
    tmp_path, algorithm, params
):
    """A memory-mapped database of 32 MiB is searched holding a few MiB.

    Peak resident memory beyond the mapped file's pages (the RSS high-water
    mark, as ``benchmarks/bench_memmap_memory.py`` measures it) stays far
    below the database size: no backend copies it.
    """
    import subprocess
    import sys

    n, n_bytes = 1 << 22, 8  # 32 MiB
    mm = np.lib.format.open_memmap(
        tmp_path / "db.npy", mode="w+", dtype=np.uint8, shape=(n, n_bytes)
    )
    rng = np.random.default_rng(0)
    for s in range(0, n, 1 << 20):
        mm[s : s + (1 << 20)] = rng.integers(0, 256, (1 << 20, n_bytes), np.uint8)
    mm.flush()
    del mm
    out = subprocess.run(
        [
            sys.executable,
            "-c",
            _MEMORY_CHILD,
            str(tmp_path / "db.npy"),
            algorithm,
            json.dumps(params),
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    extra_mb = float(out.stdout.strip().splitlines()[-1])
    assert extra_mb < 12, f"{algorithm}: {extra_mb:.1f} MiB beyond the mapped file"
