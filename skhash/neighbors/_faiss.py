"""Optional FAISS backend (``faiss`` extra): exact ``IndexBinaryFlat`` search."""

import numpy as np

from skhash.neighbors._jit import n_threads


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


class FaissSearcher:
    """Exact search with ``faiss.IndexBinaryFlat``, re-ranked to our tie rule.

    FAISS keeps an arbitrary subset of the codes tied at the k-th distance and
    its ``range_search`` is strict (``d < radius``). So k-NN is two passes:
    ``search`` gives each query's k-th distance ``t`` (every code closer than
    ``t`` is then in its result), and ``range_search`` with radius ``t + 1``
    (queries grouped by ``t``) returns all codes at distance ``<= t``, of which
    the first ``k`` by (distance, index) are kept. Radius search passes
    ``floor(radius) + 1``. The index is serialised with
    ``faiss.serialize_index_binary`` when pickled.

    Parameters
    ----------
    codes : ndarray of uint8, shape (n_db, n_bytes)
    """

    #: Valid ``algorithm_params`` (checked by HammingNeighbors before building).
    _parameter_constraints: dict = {}

    name = "faiss"

    def __init__(self, codes):
        faiss = _import_faiss()
        self.n_db, self.n_bytes = codes.shape
        self.max_dist = 8 * self.n_bytes
        self.index = faiss.IndexBinaryFlat(self.max_dist)
        self.index.add(np.ascontiguousarray(codes))

    def _range(self, codes, radius_exclusive):
        lims, D, I = self.index.range_search(codes, int(radius_exclusive))
        return lims, D, I

    def kneighbors(self, codes, k, n_jobs=None):
        """k nearest codes of each query, by (distance, index)."""
        faiss = _import_faiss()
        codes = np.ascontiguousarray(codes)
        n_q = codes.shape[0]
        out_d = np.empty((n_q, k), np.int32)
        out_i = np.empty((n_q, k), np.int64)
        if n_q == 0:
            return out_d, out_i
        with _omp_threads(faiss, n_jobs):
            D, _ = self.index.search(codes, k)
            t = D[:, k - 1].astype(np.int64)
            for tv in np.unique(t):
                rows = np.flatnonzero(t == tv)
                lims, RD, RI = self._range(codes[rows], tv + 1)
                for j, q in enumerate(rows):
                    d = RD[lims[j] : lims[j + 1]]
                    i = RI[lims[j] : lims[j + 1]]
                    order = np.lexsort((i, d))[:k]
                    out_d[q] = d[order]
                    out_i[q] = i[order]
        return out_d, out_i

    def radius_neighbors(self, codes, radius, n_jobs=None):
        """All codes within ``radius`` (inclusive), by (distance, index)."""
        faiss = _import_faiss()
        codes = np.ascontiguousarray(codes)
        r = int(min(np.floor(radius), self.max_dist))
        dists, inds = [], []
        if codes.shape[0] == 0:
            return dists, inds
        with _omp_threads(faiss, n_jobs):
            lims, D, I = self._range(codes, r + 1)
        for q in range(codes.shape[0]):
            d = D[lims[q] : lims[q + 1]].astype(np.int32)
            i = I[lims[q] : lims[q + 1]].astype(np.int64)
            order = np.lexsort((i, d))
            dists.append(d[order])
            inds.append(i[order])
        return dists, inds

    def __getstate__(self):
        faiss = _import_faiss()
        state = self.__dict__.copy()
        state["index"] = faiss.serialize_index_binary(self.index)
        return state

    def __setstate__(self, state):
        faiss = _import_faiss()
        state = dict(state)
        state["index"] = faiss.deserialize_index_binary(state["index"])
        self.__dict__.update(state)
