"""Exact brute-force Hamming search in bounded memory (NumPy backend)."""

import numpy as np
from joblib import Parallel, delayed

from skhash._kernels.bits import codes_to_words
from skhash._kernels.hamming import (
    distance_block,
    distance_dtype,
    radius_rows,
    topk_rows,
)
from skhash._validation import IntInterval

#: Bytes of the per-block distance matrix (queries x database). Together with the
#: uint64 temporary of ``distance_block`` this bounds the memory of a search.
BLOCK_BYTES = 1 << 26


class BruteSearcher:
    """Exhaustive search over a database of packed codes.

    The database is stored once as word-transposed ``uint64`` (each 64-bit word
    of all codes contiguous). Queries are processed in blocks so that the
    distance block never exceeds ``block_bytes``; blocks run in parallel
    threads (NumPy releases the GIL).

    Parameters
    ----------
    codes : ndarray of uint8, shape (n_db, n_bytes)
        Database codes.
    block_bytes : int
        Memory budget of one distance block.
    """

    #: Valid ``algorithm_params`` (checked by HammingNeighbors before building).
    _parameter_constraints: dict = {
        "block_bytes": [IntInterval(1, None, closed="left")]
    }

    name = "brute"

    def __init__(self, codes, block_bytes=BLOCK_BYTES):
        self.n_db, self.n_bytes = codes.shape
        self.max_dist = 8 * self.n_bytes
        self.dtype = distance_dtype(self.max_dist)
        self.db_words_t = np.ascontiguousarray(codes_to_words(codes).T)
        itemsize = np.dtype(self.dtype).itemsize
        self.block_rows = max(1, int(block_bytes // (itemsize * max(self.n_db, 1))))

    def _blocks(self, n_q):
        return [
            (s, min(s + self.block_rows, n_q)) for s in range(0, n_q, self.block_rows)
        ]

    def _distances(self, q_words):
        out = np.empty((q_words.shape[0], self.n_db), dtype=self.dtype)
        return distance_block(q_words, self.db_words_t, out)

    def kneighbors(self, codes, k, n_jobs=None):
        """k nearest codes of each query, by (distance, index)."""
        q_words = codes_to_words(codes)
        n_q = q_words.shape[0]

        def run(s, e):
            return topk_rows(self._distances(q_words[s:e]), k, self.max_dist)

        parts = Parallel(n_jobs=n_jobs, prefer="threads")(
            delayed(run)(s, e) for s, e in self._blocks(n_q)
        )
        if not parts:
            return np.empty((0, k), np.int32), np.empty((0, k), np.int64)
        return (
            np.concatenate([p[0] for p in parts]),
            np.concatenate([p[1] for p in parts]),
        )

    def radius_neighbors(self, codes, radius, n_jobs=None):
        """All codes within ``radius`` (inclusive) of each query."""
        q_words = codes_to_words(codes)

        def run(s, e):
            return radius_rows(self._distances(q_words[s:e]), radius)

        parts = Parallel(n_jobs=n_jobs, prefer="threads")(
            delayed(run)(s, e) for s, e in self._blocks(q_words.shape[0])
        )
        dists = [d for p in parts for d in p[0]]
        inds = [i for p in parts for i in p[1]]
        return dists, inds
