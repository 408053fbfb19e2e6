"""Multi-index hashing internals: scan fallback, work statistics, substrings."""

import numpy as np
import pytest

from skhash import ITQ, hamming_distance
from skhash.neighbors._jit import HAVE_NUMBA

pytestmark = pytest.mark.skipif(not HAVE_NUMBA, reason="numba")


def _codes(n_bits, n, seed):
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(8, n_bits))
    X = centres[rng.integers(0, 8, n)] + 0.4 * rng.normal(size=(n, n_bits))
    return ITQ(n_bits=n_bits, max_iter=3, random_state=0).fit(X).transform(X)


def _oracle(q, db, k):
    D = hamming_distance(q, db)
    idx = np.broadcast_to(np.arange(db.shape[0]), D.shape)
    order = np.lexsort((idx, D), axis=1)[:, :k]
    return np.take_along_axis(D, order, 1), order


@pytest.mark.parametrize("n_bits", [24, 64, 72])
@pytest.mark.parametrize("max_work", [0, 10**12])
def test_mih_knn_exact_with_and_without_scan_fallback(n_bits, max_work):
    from skhash.neighbors._mih import MIHSearcher

    codes = _codes(n_bits, 3000, seed=n_bits)
    db, q = codes[:2900], codes[2900:]
    s = MIHSearcher(db, max_work=max_work)
    for k in (1, 7, 40):
        d, i = s.kneighbors(q, k, n_jobs=2)
        d_ref, i_ref = _oracle(q, db, k)
        np.testing.assert_array_equal(d, d_ref)
        np.testing.assert_array_equal(i, i_ref)
        stats = s.last_stats_
        assert stats.shape == (len(q), 3)
        if max_work == 0:
            # Every query not answered by its first probe falls back to a scan.
            assert ((stats[:, 2] == 1) | (stats[:, 0] == 1)).all()
            assert stats[:, 2].sum() > 0
        else:
            assert stats[:, 2].sum() == 0
        assert (stats[:, 0] >= 1).all()


def test_default_substrings_follow_the_fitted_rule():
    from skhash.neighbors._mih import default_n_substrings

    # m = round(b / (log2(n) - 6)): the fastest m of the sweeps in
    # doc/benchmarks_search.rst (64 bits: 7 / 5 / 5 / 4 at 50k / 250k / 1M /
    # 4M codes; 32 bits at 1M: 2; 128 bits at 1M: 9).
    assert default_n_substrings(64, 50_000) == 7
    assert default_n_substrings(64, 250_000) == 5
    assert default_n_substrings(64, 1_000_000) == 5
    assert default_n_substrings(64, 4_000_000) == 4
    assert default_n_substrings(32, 1_000_000) == 2
    assert default_n_substrings(128, 1_000_000) == 9
    # substrings are at most 24 bits, at least one bit
    assert default_n_substrings(256, 2**40) == 11
    assert default_n_substrings(8, 10) == 8


def test_radius_substrings_cover_the_radius():
    from skhash.neighbors._mih import radius_n_substrings

    assert radius_n_substrings(64, 1_000_000, 0) == 4  # 64 / 19.9 rounded up
    assert radius_n_substrings(64, 1_000_000, 5) == 6  # radius + 1
    assert radius_n_substrings(8, 10, 20) == 8  # at most one bit each


@pytest.mark.parametrize("n_bits,p", [(16, 0.5), (64, 0.5), (64, 0.1), (128, 0.5)])
def test_knn_select_kernel_matches_oracle(n_bits, p):
    """The large-k running counting selection, called directly (the searcher
    uses it for k >= ``SELECT_MIN_K``)."""
    from skhash._kernels.bits import codes_to_words
    from skhash.neighbors._database import transpose_words
    from skhash.neighbors._numba_kernels import knn_select

    rng = np.random.default_rng(n_bits)
    db = np.packbits(rng.random((3000, n_bits)) < p, axis=1)
    q = db[:50].copy()
    q[::3] ^= 1
    for k in (1, 10, 300, 1000):
        d = np.empty((len(q), k), np.int32)
        i = np.empty((len(q), k), np.int64)
        knn_select(
            np.ascontiguousarray(codes_to_words(q)), transpose_words(db), k, 7, d, i
        )
        d_ref, i_ref = _oracle(q, db, k)
        np.testing.assert_array_equal(d, d_ref)
        np.testing.assert_array_equal(i, i_ref + 7)


@pytest.mark.parametrize("adversarial", [False, True])
def test_knn_select_sampled_start_is_exact(adversarial):
    """``knn_select`` starts from a threshold guessed on evenly spaced blocks.

    On 40 blocks of 512 codes and k = 300 it samples blocks 0 and 20. In the
    adversarial database those two blocks hold the only close codes, 120 in
    all, so the guess (distance 0) has fewer than k codes below it and the
    kernel must scan those queries again; a kernel that trusted the guess
    would return fewer than k real neighbours.
    """
    from skhash._kernels.bits import codes_to_words
    from skhash.neighbors import _numba_kernels as K
    from skhash.neighbors._database import transpose_words

    n = 40 * K.CODE_BLOCK
    rng = np.random.default_rng(5)
    db = np.packbits(rng.random((n, 64)) < 0.5, axis=1)
    q = np.packbits(rng.random((6, 64)) < 0.5, axis=1)
    if adversarial:
        q[:3] = 0
        for block in (0, 20):
            db[block * K.CODE_BLOCK : block * K.CODE_BLOCK + 60] = 0
    for k in (300, 1000):
        assert K.SAMPLE_EXPECTED * n / (k * K.CODE_BLOCK) <= 40 * K.SAMPLE_MAX_FRACTION
        d = np.empty((len(q), k), np.int32)
        i = np.empty((len(q), k), np.int64)
        K.knn_select(
            np.ascontiguousarray(codes_to_words(q)), transpose_words(db), k, 0, d, i
        )
        d_ref, i_ref = _oracle(q, db, k)
        np.testing.assert_array_equal(d, d_ref, err_msg=f"k={k}")
        np.testing.assert_array_equal(i, i_ref, err_msg=f"k={k}")


@pytest.mark.parametrize("n_bits", [1, 7, 64, 200, 256])
@pytest.mark.parametrize("n", [700, 1100])
def test_knn_select_edge_cases(n_bits, n):
    """Sub-block skipping in ``knn_select``: partial blocks (n not a multiple
    of 64 or 512), k near n, more k than distinct distances, heavy ties."""
    from skhash._kernels.bits import codes_to_words
    from skhash.neighbors._database import transpose_words
    from skhash.neighbors._numba_kernels import knn_select

    rng = np.random.default_rng(n_bits + n)
    db = np.packbits(rng.random((n, n_bits)) < 0.05, axis=1)
    db[rng.integers(0, n, n // 3)] = 0  # many exact duplicates: ties by index
    q = np.vstack([db[:5], np.packbits(rng.random((5, n_bits)) < 0.5, axis=1)])
    for k in (1, 2, 65, 513, n - 1, n):
        d = np.empty((len(q), k), np.int32)
        i = np.empty((len(q), k), np.int64)
        knn_select(
            np.ascontiguousarray(codes_to_words(q)), transpose_words(db), k, 0, d, i
        )
        d_ref, i_ref = _oracle(q, db, k)
        np.testing.assert_array_equal(d, d_ref, err_msg=f"k={k}")
        np.testing.assert_array_equal(i, i_ref, err_msg=f"k={k}")


@pytest.mark.parametrize("n_bits", [16, 64, 100, 128])
def test_mih_bit_reordering_is_exact(n_bits):
    """The substring bit order changes the tables, never the results."""
    from skhash.neighbors._mih import MIHSearcher

    codes = _codes(n_bits, 3000, seed=3 + n_bits)
    db, q = codes[:2900], codes[2900:]
    on = MIHSearcher(db, reorder_bits=True)
    off = MIHSearcher(db, reorder_bits=False)
    assert off.perm_ is None
    if on.perm_ is not None:
        assert sorted(on.perm_) == list(range(8 * db.shape[1]))
    for k in (1, 10, 50):
        d_ref, i_ref = _oracle(q, db, k)
        for s in (on, off):
            d, i = s.kneighbors(q, k, n_jobs=2)
            np.testing.assert_array_equal(d, d_ref)
            np.testing.assert_array_equal(i, i_ref)
    for r in (0, 3, 9):
        for s in (on, off):
            dd, ii = s.radius_neighbors(q, r)
            D = hamming_distance(q, db)
            for row, d, i in zip(D, dd, ii, strict=True):
                sel = np.flatnonzero(row <= r)
                sel = sel[np.argsort(row[sel], kind="stable")]
                np.testing.assert_array_equal(i, sel)
                np.testing.assert_array_equal(d, row[sel])


def test_substring_bit_order_separates_copies_and_keeps_distances():
    from skhash.neighbors._mih import permute_bits, substring_bit_order

    rng = np.random.default_rng(0)
    bits = rng.integers(0, 2, (4000, 8), dtype=np.uint8)
    # bits 8-15 copy bits 0-7: a substring holding a bit and its copy would
    # have half its keys empty, so each substring takes one copy of each.
    codes = np.packbits(np.hstack([bits, bits]), axis=1)
    perm = substring_bit_order(codes, [8, 8])
    assert sorted(perm) == list(range(16))
    assert sorted(perm[:8] % 8) == list(range(8))
    assert sorted(perm[8:] % 8) == list(range(8))
    # bits past sum(lengths) keep their place
    perm = substring_bit_order(codes, [5, 5])
    assert list(perm[10:]) == list(range(10, 16))
    p = permute_bits(codes, perm)
    np.testing.assert_array_equal(
        hamming_distance(p[:50], p), hamming_distance(codes[:50], codes)
    )


def test_level_costs_match_enumeration():
    from itertools import combinations

    from skhash.neighbors._mih import level_costs

    rng = np.random.default_rng(0)
    length = 6
    keys = rng.integers(0, 1 << length, 300)
    counts = np.bincount(keys, minlength=1 << length)
    costs = level_costs(keys, length, n_levels=4)
    for key in range(1 << length):
        for r in range(4):
            flips = [sum(1 << b for b in c) for c in combinations(range(length), r)]
            expected = sum(counts[key ^ f] for f in flips) + len(flips)
            assert costs[r, key] == expected


@pytest.mark.parametrize("tabulated", [True, False])
def test_mih_knn_exact_in_any_level_order(monkeypatch, tabulated):
    # Without cost tables (substrings too long to tabulate) the levels are
    # ordered by estimated costs instead: a different order, the same answer.
    from skhash.neighbors import _mih

    if not tabulated:
        monkeypatch.setattr(_mih, "MAX_COST_BITS", 0)
    codes = _codes(64, 3000, seed=5)
    db, q = codes[:2900], codes[2900:]
    s = _mih.MIHSearcher(db, n_substrings=5, max_work=10**12)
    assert s.costs.shape[1] == (_mih.COST_LEVELS if tabulated else 0)
    for k in (1, 10, 40):
        d, i = s.kneighbors(q, k, n_jobs=2)
        d_ref, i_ref = _oracle(q, db, k)
        np.testing.assert_array_equal(d, d_ref)
        np.testing.assert_array_equal(i, i_ref)
