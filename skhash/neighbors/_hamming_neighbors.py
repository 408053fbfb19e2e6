"""Exact k-nearest-neighbour and radius search over packed binary codes."""

from numbers import Integral

import numpy as np
from sklearn.base import _fit_context
from sklearn.utils._param_validation import StrOptions
from sklearn.utils.validation import check_is_fitted, validate_data

from skhash._kernels.mih import radius_n_substrings
from skhash._validation import IntInterval
from skhash.neighbors import _backends
from skhash.neighbors._base import BaseSearcher, RadiusNeighborsMixin
from skhash.neighbors._validation import (
    RADIUS,
    check_code_type,
    check_codes,
    check_radius,
)


class HammingNeighbors(RadiusNeighborsMixin, BaseSearcher):
    """Exact nearest-neighbour search over packed binary codes.

    The search step of a hashing pipeline: ``fit`` stores the database codes
    (and their labels), ``kneighbors`` and ``radius_neighbors`` return integer
    Hamming distances and database indices sorted by distance with ties broken
    by database index, exactly as a brute-force scan would. ``score`` is the
    mean average precision of ranking the whole database for each query, so
    ``Pipeline([..., ("hash", ITQ()), ("search", HammingNeighbors())])`` can be
    grid-searched with no ``scoring`` argument.

    Memory stays bounded: queries are processed in blocks whose distance matrix
    never exceeds 64 MiB (10,000 queries against 1,000,000 codes need a few
    hundred MiB at most). A memory-mapped database
    (``np.load(path, mmap_mode="r")``) is not copied by the scan backends
    (``"numba"``, ``"numpy"``, ``"faiss"``): they read it in chunks of 2**20
    codes at each search (see :func:`skhash.neighbors.save_index` /
    :func:`~skhash.neighbors.load_index`). The index backends (``"mih"``,
    ``"torch"``) hold their own copy of the codes.

    Parameters
    ----------
    n_neighbors : int, default=10
        Number of neighbours of ``kneighbors`` and ``predict``.
    radius : int or None, default=None
        Hamming radius of ``radius_neighbors`` (inclusive: a code at distance
        exactly ``radius`` is returned). None means 2, the radius of the
        papers' "precision within Hamming radius 2".
    algorithm : {"auto", "brute", "numba", "numpy", "mih", "faiss", "torch"}, \
            default="auto"
        Search backend; all return exactly the brute-force result.

        - ``"numba"``: compiled blocked scan (popcount on word-transposed
          64-bit words, heap touched only when a block has a hit, counting
          selection for large k); needs the ``fast`` extra (numba). The first
          search in a fresh installation compiles the kernels (seconds), later
          processes load them from numba's cache; see
          :func:`skhash.neighbors.warm_up`.
        - ``"numpy"``: the same scan with NumPy ``bitwise_count`` and a
          counting selection (no extra dependency).
        - ``"brute"``: ``"numba"`` if numba is installed, else ``"numpy"``.
        - ``"mih"``: multi-index hashing (Norouzi et al., 2012), sublinear on
          learned (clustered) codes for small k and radii; slower than a scan
          on uniformly random codes. An index backend: its tables hold a copy
          of the codes per substring. ``algorithm_params``: ``n_substrings``,
          ``max_work``, ``reorder_bits``.
        - ``"faiss"``: ``faiss.IndexBinaryFlat`` (``faiss`` extra), re-ranked to
          the tie rule. The index holds a copy of an in-memory database; a
          memory-mapped one is searched chunk by chunk, each chunk in a
          temporary index.
        - ``"torch"``: +-1 matrix products and top-k on ``device`` (``deep``
          extra); meant for GPUs, runs slowly on CPUs. The codes are copied to
          the device.
        - ``"auto"``: ``"torch"`` if ``device`` is a CUDA device and one is
          available, else ``"brute"``. When ``radius`` is given and the
          database is in memory and holds at least 50,000 codes, ``fit`` also
          builds a ``"mih"`` index for radius queries if the pigeonhole
          substrings of that radius are at least ``log2(n_samples)`` bits
          wide; the radius queries for which that holds use it. ``verbose``
          reports the choices.
    n_jobs : int or None, default=None
        Threads over query blocks (joblib semantics: None means 1 unless in a
        ``joblib.parallel_config`` context, -1 means all cores). Also sets
        numba's and faiss's thread counts for the duration of a search.
    algorithm_params : dict or None, default=None
        Keyword arguments of the backend, validated in ``fit`` like estimator
        parameters: ``block_bytes`` (int >= 1) and
        ``chunk_rows`` (int >= 1 or None) for ``"numpy"``; ``chunk_rows`` for
        ``"numba"`` and ``"faiss"``; ``n_substrings``
        (int >= 1 or None), ``max_work`` (int >= 0 or None), ``reorder_bits``
        (bool) for ``"mih"``; ``db_chunk``, ``query_block`` (ints >= 1) and
        ``device`` for ``"torch"``.
    device : str or None, default=None
        Torch device of ``algorithm="torch"`` (None: CUDA if available).
    verbose : int, default=0
        Print which backend ``auto`` chose.

    Attributes
    ----------
    n_samples_fit_ : int
        Number of database codes.
    n_features_in_ : int
        Bytes per code.
    algorithm_ : str
        The backend used for ``kneighbors`` (``"numba"``, ``"numpy"``, ``"mih"``,
        ``"faiss"`` or ``"torch"``).
    labels_ : ndarray of shape (n_samples_fit,) or (n_samples_fit, n_labels) \
            or None
        The database labels given to ``fit``, for ``predict`` and ``score``;
        None when ``fit`` was given no ``y``.

    See Also
    --------
    sklearn.neighbors.NearestNeighbors : The same interface on real vectors.
    skhash.neighbors.BaseSearcher : The base class that provides ``predict``,
        ``score`` and the graphs.
    skhash.metrics.mean_average_precision : The metric of ``score``.

    Notes
    -----
    Distances are integer bit counts on the packed codes. scikit-learn's
    ``metric="hamming"`` is the *fraction* of differing entries of unpacked
    vectors (ours divided by ``n_bits``); on packed bytes it would compare
    bytes, which is not a Hamming distance.

    Examples
    --------
    >>> import numpy as np
    >>> from skhash import HammingNeighbors, pack_bits
    >>> db = pack_bits(np.array([[0, 0, 0, 0], [1, 1, 0, 0], [1, 0, 0, 0]]))
    >>> nn = HammingNeighbors(n_neighbors=2).fit(db, y=[0, 1, 1])
    >>> dist, ind = nn.kneighbors(pack_bits(np.array([[1, 1, 1, 0]])))
    >>> dist, ind
    (array([[1, 2]], dtype=int32), array([[1, 2]]))
    >>> nn.predict(pack_bits(np.array([[1, 1, 1, 0]])))
    array([1])
    """

    _parameter_constraints: dict = {
        "n_neighbors": [IntInterval(1, None, closed="left")],
        "radius": [RADIUS, None],
        "algorithm": [StrOptions(_backends.ALGORITHMS)],
        "n_jobs": [Integral, None],
        "algorithm_params": [dict, None],
        "device": [str, None],
        "verbose": ["verbose"],
    }

    def __init__(
        self,
        n_neighbors=10,
        *,
        radius=None,
        algorithm="auto",
        n_jobs=None,
        algorithm_params=None,
        device=None,
        verbose=0,
    ):
        self.n_neighbors = n_neighbors
        self.radius = radius
        self.algorithm = algorithm
        self.n_jobs = n_jobs
        self.algorithm_params = algorithm_params
        self.device = device
        self.verbose = verbose

    # ------------------------------------------------------------------ fit
    def _build_radius_index(self):
        """The multi-index of ``auto``'s radius queries, or None.

        Built when a ``radius`` is given (building costs about as much as
        scanning for a few thousand radius queries, so a searcher used for
        k-NN only should not pay it) and
        :func:`~skhash.neighbors._backends.radius_uses_mih` holds at that
        radius, on the database of the numba scan (shared, not copied again),
        and only for a database in memory: the tables are a copy of the codes.
        """
        if self.algorithm != "auto" or self.algorithm_ != "numba":
            return None
        if self.radius is None:
            return None
        db = self._searcher.db
        if not db.in_memory or db.n_db < _backends.MIH_MIN_SAMPLES:
            return None
        r = self._check_radius(None)
        if not _backends.radius_uses_mih(db.n_db, db.n_bits, r):
            return None
        m = radius_n_substrings(db.n_bits, db.n_db, r)
        index = _backends.build_backend("mih", db, {"n_substrings": m})
        if self.verbose:
            print(
                f"[HammingNeighbors] radius queries: multi-index hashing with "
                f"{len(index.lengths)} substrings"
            )
        return index

    def _radius_searcher(self, r):
        """The backend of a radius query: the radius index when it pays off."""
        index = getattr(self, "_radius_index", None)
        if index is not None and _backends.radius_uses_mih(
            self.n_samples_fit_, index.n_bits_used, r
        ):
            return index
        return self._searcher

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y=None):
        """Store the database codes (and labels) and build the search backend.

        Everything a query needs is built here (the backend's structures and,
        for ``algorithm="auto"``, the radius index); queries do not change the
        estimator.

        Parameters
        ----------
        X : array-like of uint8, shape (n_samples, n_bytes)
            Packed database codes (a hasher's ``transform`` output).
        y : array-like of shape (n_samples,) or (n_samples, n_labels), default=None
            Class labels or a 0/1 multi-label indicator matrix.

        Returns
        -------
        self : HammingNeighbors
        """
        # Checked on the raw input first: validation turns a quantizer's marked
        # codes (QuantizerCodes) into a plain array and the mark would be lost.
        check_code_type(X, "X")
        if y is None:
            X = validate_data(self, X, dtype="numeric")
        else:
            X, y = validate_data(self, X, y, dtype="numeric", multi_output=True)
        self._set_labels(y)
        codes = check_codes(X, "X")
        self._fit_codes = codes
        self.n_samples_fit_ = codes.shape[0]
        self.algorithm_, reason = _backends.choose_algorithm(
            self.algorithm, self.device
        )
        if self.verbose:
            print(
                f"[HammingNeighbors] algorithm={self.algorithm_!r} for "
                f"{codes.shape[0]} codes of {codes.shape[1]} bytes ({reason})"
            )
        params = dict(self.algorithm_params or {})
        if self.algorithm_ == "torch":
            params.setdefault("device", self.device)
        self._searcher = _backends.build_backend(self.algorithm_, codes, params)
        self._radius_index = self._build_radius_index()
        return self

    def __setstate__(self, state):
        # Pickled before the radius index was built in fit: the lazily built
        # one is dropped (radius queries then scan, with the same results).
        if "_mih" in state:
            state = dict(state)
            state.pop("_mih")
        super().__setstate__(state)

    # ------------------------------------------------------------ helpers
    def _validate_queries(self, X):
        check_is_fitted(self)
        if X is None:
            return None
        codes = check_codes(X, "X", n_bytes=self.n_features_in_)
        validate_data(self, X, dtype="numeric", reset=False)
        return codes

    def _check_radius(self, radius):
        r = self.radius if radius is None else radius
        if r is None:
            r = 2
        return check_radius(r)

    # ------------------------------------------------------------- search
    def kneighbors(self, X=None, n_neighbors=None, return_distance=True):
        """Find the k nearest database codes of each query.

        Parameters
        ----------
        X : array-like of uint8, shape (n_queries, n_bytes), default=None
            Query codes. None queries the database itself, each code excluding
            itself (as scikit-learn's ``NearestNeighbors``).
        n_neighbors : int, default=None
            Number of neighbours; defaults to the constructor's ``n_neighbors``.
        return_distance : bool, default=True
            Also return the distances.

        Returns
        -------
        distances : ndarray of int32, shape (n_queries, n_neighbors)
            Hamming distances, ascending. Only if ``return_distance``.
        indices : ndarray of int64, shape (n_queries, n_neighbors)
            Database indices; ties in distance are ordered by index.
        """
        codes = self._validate_queries(X)
        self_query = codes is None
        k = self._check_k(n_neighbors, self_query)
        if self_query:
            dist, ind = self._searcher.kneighbors(self._fit_codes, k + 1, self.n_jobs)
            dist, ind = _drop_self(dist, ind)
        else:
            dist, ind = self._searcher.kneighbors(codes, k, self.n_jobs)
        return (dist, ind) if return_distance else ind

    def radius_neighbors(self, X=None, radius=None, return_distance=True):
        """Find every database code within a Hamming radius of each query.

        Parameters
        ----------
        X : array-like of uint8, shape (n_queries, n_bytes), default=None
            Query codes. None queries the database itself, excluding each code
            from its own result.
        radius : float, default=None
            Radius (inclusive); defaults to the constructor's ``radius``, then 2.
        return_distance : bool, default=True
            Also return the distances.

        Returns
        -------
        distances : ndarray of object, shape (n_queries,)
            One int32 array per query, ascending. Only if ``return_distance``.
        indices : ndarray of object, shape (n_queries,)
            One int64 array of database indices per query, ordered by
            (distance, index).
        """
        codes = self._validate_queries(X)
        r = self._check_radius(radius)
        self_query = codes is None
        searcher = self._radius_searcher(r)
        dists, inds = searcher.radius_neighbors(
            self._fit_codes if self_query else codes, r, self.n_jobs
        )
        if self_query:
            for i in range(len(inds)):
                keep = inds[i] != i
                dists[i], inds[i] = dists[i][keep], inds[i][keep]
        dist_arr = _object_array(dists)
        ind_arr = _object_array(inds)
        return (dist_arr, ind_arr) if return_distance else ind_arr


def _drop_self(dist, ind):
    """Remove each query's own index from its k+1 results (or the last one)."""
    n_q, k1 = ind.shape
    is_self = ind == np.arange(n_q)[:, None]
    drop = np.where(is_self.any(axis=1), is_self.argmax(axis=1), k1 - 1)
    keep = np.ones_like(is_self)
    keep[np.arange(n_q), drop] = False
    return dist[keep].reshape(n_q, k1 - 1), ind[keep].reshape(n_q, k1 - 1)


def _object_array(rows):
    out = np.empty(len(rows), dtype=object)
    for i, r in enumerate(rows):
        out[i] = r
    return out
