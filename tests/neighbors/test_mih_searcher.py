"""The multi-index hashing searcher: scan fallback, work statistics, bit order."""

import numpy as np
import pytest

from skhash import ITQ, hamming_distance
from skhash._kernels.jit import HAVE_NUMBA

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
        d, i, stats = s.kneighbors(q, k, n_jobs=2, return_stats=True)
        d_ref, i_ref = _oracle(q, db, k)
        np.testing.assert_array_equal(d, d_ref)
        np.testing.assert_array_equal(i, i_ref)
        assert stats.shape == (len(q), 3)
        if max_work == 0:
            # Every query not answered by its first probe falls back to a scan.
            assert ((stats[:, 2] == 1) | (stats[:, 0] == 1)).all()
            assert stats[:, 2].sum() > 0
        else:
            assert stats[:, 2].sum() == 0
        assert (stats[:, 0] >= 1).all()


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


@pytest.mark.parametrize("tabulated", [True, False])
def test_mih_knn_exact_in_any_level_order(monkeypatch, tabulated):
    # Without cost tables (substrings too long to tabulate) the levels are
    # ordered by estimated costs instead: a different order, the same answer.
    from skhash._kernels import mih as tables
    from skhash.neighbors import _mih

    if not tabulated:
        monkeypatch.setattr(tables, "MAX_COST_BITS", 0)
    codes = _codes(64, 3000, seed=5)
    db, q = codes[:2900], codes[2900:]
    s = _mih.MIHSearcher(db, n_substrings=5, max_work=10**12)
    assert s.costs.shape[1] == (tables.COST_LEVELS if tabulated else 0)
    for k in (1, 10, 40):
        d, i = s.kneighbors(q, k, n_jobs=2)
        d_ref, i_ref = _oracle(q, db, k)
        np.testing.assert_array_equal(d, d_ref)
        np.testing.assert_array_equal(i, i_ref)


def test_shares_the_database_of_a_scan():
    """Built on a scan backend's database, MIH reuses its words and width."""
    from skhash.neighbors._mih import MIHSearcher
    from skhash.neighbors._numba_brute import NumbaBruteSearcher

    codes = _codes(128, 1500, seed=11)
    scan = NumbaBruteSearcher(codes[:1400])
    s = MIHSearcher(scan.db, max_work=0)
    assert s.db is scan.db and s._scanner.db is scan.db
    assert s.n_bits_used == scan.db.n_bits
    d, i = s.kneighbors(codes[1400:], 5)
    d_ref, i_ref = _oracle(codes[1400:], codes[:1400], 5)
    np.testing.assert_array_equal(d, d_ref)
    np.testing.assert_array_equal(i, i_ref)
