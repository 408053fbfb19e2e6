"""Exact brute-force Hamming search with compiled numba kernels (``fast`` extra)."""

import numpy as np

from skhash._kernels.bits import codes_to_words
from skhash._kernels.jit import HAVE_NUMBA, numba_threads
from skhash._validation import IntInterval
from skhash.neighbors._database import as_database
from skhash.neighbors._merge import merge_radius, merge_topk

#: Use counting selection instead of the heap when ``k * COUNT_RATIO >= n_db``
#: (counting is faster at k = 1000 on 100k codes, the heap on 1M codes).
COUNT_RATIO = 200

#: Otherwise the running counting selection (``knn_select``) for ``k`` at least
#: this, the heap (``knn_heap``) below: on 1M random codes the two are even at
#: k = 10 and select is faster from k = 30 (``doc/benchmarks_search.rst``).
SELECT_MIN_K = 32


def _kernels():
    if not HAVE_NUMBA:
        raise ImportError(
            "algorithm='numba' needs numba: pip install 'skhash[fast]' "
            "(or use algorithm='brute', the NumPy backend)."
        )
    from skhash._kernels import hamming_numba

    return hamming_numba


class NumbaBruteSearcher:
    """Exhaustive search with the blocked numba kernels.

    Parameters
    ----------
    codes : ndarray of uint8, shape (n_db, n_bytes), or CodeDatabase
        Database codes; a memory-mapped array is searched in chunks, not copied.
    chunk_rows : int or None
        Chunk size of a memory-mapped database.
    """

    #: Valid ``algorithm_params`` (checked by HammingNeighbors before building).
    _parameter_constraints: dict = {
        "chunk_rows": [None, IntInterval(1, None, closed="left")]
    }

    name = "numba"

    def __init__(self, codes, chunk_rows=None):
        _kernels()
        self.db = as_database(codes, chunk_rows=chunk_rows)
        self.n_db = self.db.n_db

    def kneighbors(self, codes, k, n_jobs=None):
        """k nearest codes of each query, by (distance, index)."""
        K = _kernels()
        q_words = np.ascontiguousarray(codes_to_words(codes))
        n_q = q_words.shape[0]
        dists, inds = [], []
        with numba_threads(n_jobs):
            for offset, db_t in self.db.chunks():
                kc = min(k, db_t.shape[1])
                out_d = np.empty((n_q, kc), np.int32)
                out_i = np.empty((n_q, kc), np.int64)
                if n_q:
                    if kc * COUNT_RATIO >= db_t.shape[1]:
                        small = self.db.max_dist <= 255
                        K.knn_count(q_words, db_t, kc, offset, small, out_d, out_i)
                    elif kc >= SELECT_MIN_K:
                        K.knn_select(q_words, db_t, kc, offset, out_d, out_i)
                    else:
                        K.knn_heap(q_words, db_t, kc, offset, out_d, out_i)
                dists.append(out_d)
                inds.append(out_i)
        if len(dists) == 1:
            return dists[0], inds[0]
        return merge_topk(dists, inds, k)

    def radius_neighbors(self, codes, radius, n_jobs=None):
        """All codes within ``radius`` (inclusive) of each query."""
        K = _kernels()
        q_words = np.ascontiguousarray(codes_to_words(codes))
        n_q = q_words.shape[0]
        r = int(min(np.floor(radius), self.db.max_dist))
        dist_parts, ind_parts = [], []
        with numba_threads(n_jobs):
            for offset, db_t in self.db.chunks():
                counts = np.zeros(n_q, np.int64)
                if n_q:
                    K.radius_count(q_words, db_t, r, counts)
                starts = np.zeros(n_q + 1, np.int64)
                np.cumsum(counts, out=starts[1:])
                out_d = np.empty(starts[-1], np.int32)
                out_i = np.empty(starts[-1], np.int64)
                if n_q:
                    K.radius_fill(q_words, db_t, r, offset, starts, out_d, out_i)
                dist_parts.append(np.split(out_d, starts[1:-1]))
                ind_parts.append(np.split(out_i, starts[1:-1]))
        if len(dist_parts) == 1:
            return dist_parts[0], ind_parts[0]
        return merge_radius(dist_parts, ind_parts)


def warm_up():
    """Compile (or load from numba's cache) the kernels on a toy problem.

    The first search after installing skhash compiles the kernels (a few
    seconds per word type); later processes load them from numba's on-disk
    cache. Call this at start-up to take that cost before the first query.

    Examples
    --------
    >>> from skhash.neighbors import warm_up
    >>> warm_up()  # doctest: +SKIP
    """
    rng = np.random.default_rng(0)
    n_db = 8192  # k = 3: heap, k = 40: running selection, k = 60: counting
    for n_bytes in (8, 16):
        db = rng.integers(0, 256, (n_db, n_bytes), dtype=np.uint8)
        s = NumbaBruteSearcher(db)
        for k in (3, SELECT_MIN_K + 8, 60):
            s.kneighbors(db[:2], k)
        s.radius_neighbors(db[:2], 2)
