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


def test_default_substrings_round_up():
    from skhash.neighbors._mih import default_n_substrings

    assert default_n_substrings(64, 1_000_000) == 4  # 64 / 19.9 = 3.2
    assert default_n_substrings(64, 2**16) == 4
    assert default_n_substrings(128, 2**16) == 8
    assert default_n_substrings(8, 10) == 3


@pytest.mark.parametrize("n_bits,p", [(16, 0.5), (64, 0.5), (64, 0.1), (128, 0.5)])
def test_knn_select_kernel_matches_oracle(n_bits, p):
    """The large-k running counting selection, called directly (the searcher
    uses it only for k >= 256 on databases of more than 200 k codes)."""
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
