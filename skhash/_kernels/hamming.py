"""Hamming distance kernels on packed codes (NumPy ``bitwise_count``)."""

import numpy as np

from skhash._kernels.bits import codes_to_words


def pairwise_hamming(words_a, words_b, out=None):
    """Dense Hamming distance matrix between two ``uint64`` word arrays.

    Parameters
    ----------
    words_a : ndarray of uint64, shape (n_a, n_words)
    words_b : ndarray of uint64, shape (n_b, n_words)
    out : ndarray of int32, shape (n_a, n_b), optional
        Preallocated output.

    Returns
    -------
    dist : ndarray of int32, shape (n_a, n_b)
    """
    n_a, n_words = words_a.shape
    n_b = words_b.shape[0]
    if out is None:
        out = np.zeros((n_a, n_b), dtype=np.int32)
    else:
        out[...] = 0
    tmp = np.empty((n_a, n_b), dtype=np.uint64)
    cnt = np.empty((n_a, n_b), dtype=np.uint8)
    for w in range(n_words):
        np.bitwise_xor(words_a[:, w, None], words_b[None, :, w], out=tmp)
        np.bitwise_count(tmp, out=cnt)
        out += cnt
    return out


def hamming_codes(codes_a, codes_b):
    """Dense Hamming distance matrix between two packed code arrays."""
    return pairwise_hamming(codes_to_words(codes_a), codes_to_words(codes_b))
