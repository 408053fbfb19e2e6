"""The compiled Hamming scan kernels, called directly, against a brute-force oracle."""

import numpy as np
import pytest

from skhash import hamming_distance
from skhash._kernels.jit import HAVE_NUMBA

pytestmark = pytest.mark.skipif(not HAVE_NUMBA, reason="numba")


def _oracle(q, db, k):
    D = hamming_distance(q, db)
    idx = np.broadcast_to(np.arange(db.shape[0]), D.shape)
    order = np.lexsort((idx, D), axis=1)[:, :k]
    return np.take_along_axis(D, order, 1), order


@pytest.mark.parametrize("n_bits,p", [(16, 0.5), (64, 0.5), (64, 0.1), (128, 0.5)])
def test_knn_select_kernel_matches_oracle(n_bits, p):
    """The large-k running counting selection, called directly (the searcher
    uses it for k >= ``SELECT_MIN_K``)."""
    from skhash._kernels.bits import codes_to_words, transpose_words
    from skhash._kernels.hamming_numba import knn_select

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
    from skhash._kernels import hamming_numba as K
    from skhash._kernels.bits import codes_to_words, transpose_words

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
    from skhash._kernels.bits import codes_to_words, transpose_words
    from skhash._kernels.hamming_numba import knn_select

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
