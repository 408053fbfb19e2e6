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
from skhash.neighbors._database import as_database
from skhash.neighbors._merge import merge_radius, merge_topk

#: Bytes of the per-block distance matrix (queries x database). Together with the
#: uint64 temporary of ``distance_block`` this bounds the memory of a search.
BLOCK_BYTES = 1 << 26


class BruteSearcher:
    """Exhaustive search over a database of packed codes.

    The database is stored once as word-transposed ``uint64`` (each 64-bit word
    of all codes contiguous). Queries are processed in blocks so that the
    distance block never exceeds ``block_bytes``; blocks run in parallel
    threads (NumPy releases the GIL). A memory-mapped database is not copied:
    it is read ``chunk_rows`` codes at a time (padded per chunk), each chunk's
    top-k is merged into the running top-k, so memory does not depend on the
    database size.

    Parameters
    ----------
    codes : ndarray of uint8, shape (n_db, n_bytes), or CodeDatabase
        Database codes.
    block_bytes : int
        Memory budget of one distance block.
    chunk_rows : int or None
        Chunk size of a memory-mapped database (None: ``MMAP_CHUNK_ROWS``).
    """

    #: Valid ``algorithm_params`` (checked by HammingNeighbors before building).
    _parameter_constraints: dict = {
        "block_bytes": [IntInterval(1, None, closed="left")],
        "chunk_rows": [None, IntInterval(1, None, closed="left")],
    }

    name = "brute"

    def __init__(self, codes, block_bytes=BLOCK_BYTES, chunk_rows=None):
        self.db = as_database(codes, chunk_rows=chunk_rows)
        self.n_db, self.n_bytes = self.db.n_db, self.db.n_bytes
        self.max_dist = self.db.max_dist
        self.dtype = distance_dtype(self.max_dist)
        itemsize = np.dtype(self.dtype).itemsize
        width = self.n_db if self.db.in_memory else min(self.n_db, self.db.chunk_rows)
        self.block_rows = max(1, int(block_bytes // (itemsize * max(width, 1))))

    def _blocks(self, n_q):
        return [
            (s, min(s + self.block_rows, n_q)) for s in range(0, n_q, self.block_rows)
        ]

    def _distances(self, q_words, db_t):
        out = np.empty((q_words.shape[0], db_t.shape[1]), dtype=self.dtype)
        return distance_block(q_words, db_t, out)

    def kneighbors(self, codes, k, n_jobs=None):
        """k nearest codes of each query, by (distance, index)."""
        q_words = codes_to_words(codes)
        n_q = q_words.shape[0]
        if n_q == 0:
            return np.empty((0, k), np.int32), np.empty((0, k), np.int64)
        best_d = best_i = None
        with Parallel(n_jobs=n_jobs, prefer="threads") as parallel:
            for offset, db_t in self.db.chunks():
                kc = min(k, db_t.shape[1])

                def run(s, e, db_t=db_t, kc=kc):
                    return topk_rows(
                        self._distances(q_words[s:e], db_t), kc, self.max_dist
                    )

                parts = parallel(delayed(run)(s, e) for s, e in self._blocks(n_q))
                d = np.concatenate([p[0] for p in parts])
                i = np.concatenate([p[1] for p in parts])
                if offset:
                    i += offset
                if best_d is None:
                    best_d, best_i = d, i
                else:
                    kk = min(k, best_d.shape[1] + kc)
                    best_d, best_i = merge_topk([best_d, d], [best_i, i], kk)
        if best_d is None:  # empty memory-mapped database: no chunk
            return np.empty((n_q, 0), np.int32), np.empty((n_q, 0), np.int64)
        return best_d, best_i

    def radius_neighbors(self, codes, radius, n_jobs=None):
        """All codes within ``radius`` (inclusive) of each query."""
        q_words = codes_to_words(codes)
        n_q = q_words.shape[0]
        dist_parts, ind_parts = [], []
        with Parallel(n_jobs=n_jobs, prefer="threads") as parallel:
            for offset, db_t in self.db.chunks():

                def run(s, e, db_t=db_t):
                    return radius_rows(self._distances(q_words[s:e], db_t), radius)

                parts = parallel(delayed(run)(s, e) for s, e in self._blocks(n_q))
                dist_parts.append([d for p in parts for d in p[0]])
                ind_parts.append([i + offset for p in parts for i in p[1]])
        if not dist_parts:  # empty memory-mapped database: no chunk
            return [np.empty(0, np.int32)] * n_q, [np.empty(0, np.int64)] * n_q
        if len(dist_parts) == 1:
            return dist_parts[0], ind_parts[0]
        return merge_radius(dist_parts, ind_parts)
