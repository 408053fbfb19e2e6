"""Optional FAISS backend (``faiss`` extra): exact ``IndexBinaryFlat`` search."""

import numpy as np

from skhash._kernels.jit import n_threads
from skhash._validation import IntInterval
from skhash.neighbors._database import as_database
from skhash.neighbors._merge import merge_radius, merge_topk


def _import_faiss():
    try:
        import faiss
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ImportError(
            "algorithm='faiss' needs faiss: pip install 'skhash[faiss]'."
        ) from exc
    return faiss


class _omp_threads:
    def __init__(self, faiss, n_jobs):
        self.faiss, self.n = faiss, n_threads(n_jobs)

    def __enter__(self):
        self.old = self.faiss.omp_get_max_threads()
        self.faiss.omp_set_num_threads(self.n)

    def __exit__(self, *exc):
        self.faiss.omp_set_num_threads(self.old)
        return False


def _flat_index(faiss, codes):
    index = faiss.IndexBinaryFlat(8 * codes.shape[1])
    index.add(codes)
    return index


def _index_kneighbors(index, codes, k):
    """Exact top ``k`` of one index by (distance, index): search, then re-rank."""
    n_q = codes.shape[0]
    out_d = np.empty((n_q, k), np.int32)
    out_i = np.empty((n_q, k), np.int64)
    D, _ = index.search(codes, k)
    t = D[:, k - 1].astype(np.int64)
    for tv in np.unique(t):
        rows = np.flatnonzero(t == tv)
        lims, RD, RI = index.range_search(codes[rows], int(tv + 1))
        for j, q in enumerate(rows):
            d = RD[lims[j] : lims[j + 1]]
            i = RI[lims[j] : lims[j + 1]]
            order = np.lexsort((i, d))[:k]
            out_d[q] = d[order]
            out_i[q] = i[order]
    return out_d, out_i


def _index_radius(index, codes, r, offset=0):
    """Every code within ``r`` (inclusive) of each query, by (distance, index)."""
    lims, D, I = index.range_search(codes, int(r + 1))
    dists, inds = [], []
    for q in range(codes.shape[0]):
        d = D[lims[q] : lims[q + 1]].astype(np.int32)
        i = I[lims[q] : lims[q + 1]].astype(np.int64) + offset
        order = np.lexsort((i, d))
        dists.append(d[order])
        inds.append(i[order])
    return dists, inds


class FaissSearcher:
    """Exact search with ``faiss.IndexBinaryFlat``, re-ranked to our tie rule.

    FAISS keeps an arbitrary subset of the codes tied at the k-th distance and
    its ``range_search`` is strict (``d < radius``). So k-NN is two passes:
    ``search`` gives each query's k-th distance ``t`` (every code closer than
    ``t`` is then in its result), and ``range_search`` with radius ``t + 1``
    (queries grouped by ``t``) returns all codes at distance ``<= t``, of which
    the first ``k`` by (distance, index) are kept. Radius search passes
    ``floor(radius) + 1``.

    A database in memory is added to one index, which holds its own copy of
    the codes and is serialised with ``faiss.serialize_index_binary`` when
    pickled. A memory-mapped database is not copied: each search adds
    ``chunk_rows`` codes at a time to a temporary index, and the exact results
    of the chunks are merged (:func:`~skhash.neighbors.merge_topk`,
    :func:`~skhash.neighbors.merge_radius`), so memory is bounded by the chunk.

    Parameters
    ----------
    codes : ndarray of uint8, shape (n_db, n_bytes), or CodeDatabase
        Database codes.
    chunk_rows : int or None
        Chunk size of a memory-mapped database (None: ``MMAP_CHUNK_ROWS``).
    """

    #: Valid ``algorithm_params`` (checked by HammingNeighbors before building).
    _parameter_constraints: dict = {
        "chunk_rows": [None, IntInterval(1, None, closed="left")]
    }

    name = "faiss"

    def __init__(self, codes, chunk_rows=None):
        faiss = _import_faiss()
        self.db = as_database(codes, chunk_rows=chunk_rows, transpose=False)
        self.n_db, self.n_bytes = self.db.n_db, self.db.n_bytes
        self.max_dist = self.db.max_dist
        self.index = None
        if self.db.in_memory:
            self.index = _flat_index(faiss, np.ascontiguousarray(self.db.codes))

    def _search(self, faiss, search):
        """``search(index, offset)`` over the database: one index, or one per chunk."""
        if self.index is not None:
            return [search(self.index, 0)]
        out = []
        for offset, piece in self.db.code_chunks():
            # One temporary index at a time: built, searched, freed.
            out.append(search(_flat_index(faiss, piece), offset))
        return out

    def kneighbors(self, codes, k, n_jobs=None):
        """k nearest codes of each query, by (distance, index)."""
        faiss = _import_faiss()
        codes = np.ascontiguousarray(codes)
        n_q = codes.shape[0]
        if n_q == 0:
            return np.empty((0, k), np.int32), np.empty((0, k), np.int64)

        def search(index, offset):
            d, i = _index_kneighbors(index, codes, min(k, index.ntotal))
            return d, i + offset

        with _omp_threads(faiss, n_jobs):
            parts = self._search(faiss, search)
        dists, inds = [p[0] for p in parts], [p[1] for p in parts]
        if not dists:  # empty memory-mapped database: no chunk
            return np.empty((n_q, 0), np.int32), np.empty((n_q, 0), np.int64)
        if len(dists) == 1:
            return dists[0], inds[0]
        return merge_topk(dists, inds, k)

    def radius_neighbors(self, codes, radius, n_jobs=None):
        """All codes within ``radius`` (inclusive), by (distance, index)."""
        faiss = _import_faiss()
        codes = np.ascontiguousarray(codes)
        r = int(min(np.floor(radius), self.max_dist))
        if codes.shape[0] == 0:
            return [], []
        with _omp_threads(faiss, n_jobs):
            parts = self._search(
                faiss, lambda index, offset: _index_radius(index, codes, r, offset)
            )
        dist_parts, ind_parts = [p[0] for p in parts], [p[1] for p in parts]
        if not dist_parts:  # empty memory-mapped database: no chunk
            n_q = codes.shape[0]
            return [np.empty(0, np.int32)] * n_q, [np.empty(0, np.int64)] * n_q
        if len(dist_parts) == 1:
            return dist_parts[0], ind_parts[0]
        return merge_radius(dist_parts, ind_parts)

    def __getstate__(self):
        state = self.__dict__.copy()
        if self.index is not None:
            state["index"] = _import_faiss().serialize_index_binary(self.index)
        return state

    def __setstate__(self, state):
        state = dict(state)
        if state.get("index") is not None:
            state["index"] = _import_faiss().deserialize_index_binary(state["index"])
        self.__dict__.update(state)
