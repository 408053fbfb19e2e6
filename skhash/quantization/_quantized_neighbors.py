"""Exact asymmetric-distance (ADC) search over the codes of a quantizer."""

import numpy as np
from sklearn.base import MetaEstimatorMixin, _fit_context, clone
from sklearn.exceptions import NotFittedError
from sklearn.frozen import FrozenEstimator
from sklearn.utils._param_validation import HasMethods, StrOptions
from sklearn.utils.validation import check_consistent_length, check_is_fitted

from skhash._kernels import pq as _pq
from skhash._kernels import pq_fastscan as _fs
from skhash._validation import IntInterval
from skhash.neighbors._base import BaseSearcher


class QuantizedNeighbors(MetaEstimatorMixin, BaseSearcher):
    """Nearest-neighbour search by asymmetric distance over quantizer codes.

    The search step for quantizers (:class:`PQ`, :class:`OPQ`, ``DQN``):
    ``fit(X, y)`` fits a clone of ``quantizer`` on the database vectors and
    stores their codes (and labels); ``kneighbors(X)`` keeps each query
    unquantized, builds its look-up table with ``quantizer.distance_tables``
    and ranks every database item by the sum of its ``n_subspaces`` table
    entries (ADC in PQ, AQD in DQN). The result is exactly that of summing the
    table entries naively and sorting by (distance, database index).

    ``score`` is the mean average precision of ranking the whole database for
    each query (as ``HammingNeighbors.score``), so a ``QuantizedNeighbors``
    can be grid-searched over ``quantizer__n_bits`` with no ``scoring``.

    To train the quantizer on one set and index another (the retrieval
    protocols: train on a sample, search a larger database), fit the quantizer
    yourself and pass it wrapped in :class:`sklearn.frozen.FrozenEstimator`:
    ``fit(X_database)`` then only encodes the database, and ``clone`` keeps the
    fitted quantizer (scikit-learn's convention for pre-fitted estimators in
    meta-estimators, which replaced ``prefit`` parameters).

    Parameters
    ----------
    quantizer : estimator, default=None
        An unfitted quantizer with ``fit``, ``transform`` and
        ``distance_tables`` (a :class:`~skhash.base.BaseQuantizer`), fitted
        (on a clone) on the database by ``fit``; or a fitted quantizer wrapped
        in :class:`sklearn.frozen.FrozenEstimator`, which ``fit`` uses as it is
        (trained elsewhere, only encoding the database). None means ``PQ()``
        (32 bits, 256 codewords per subspace).
    n_neighbors : int, default=10
        Number of neighbours of ``kneighbors`` and ``predict``.
    algorithm : {"auto", "numba", "numpy", "fastscan"}, default="auto"
        ADC kernel. ``"numba"``: one query per thread, tables in L1 and a
        bounded heap (needs numba); ``"numpy"``: a blocked scan with a stable
        selection; ``"auto"``: numba when installed and the number of
        neighbours is small against the database, else numpy. These three
        are exact and return identical results. ``"fastscan"`` (quantizers
        with ``n_clusters=16`` only): each query's table is quantized to
        8 bits and 32 database items are scored at once by in-register
        look-ups (AVX2; a portable kernel elsewhere, same results), several
        times faster and approximate: a distance is off by at most
        ``n_subspaces / 2`` quantization steps (see Notes) unless ``rerank``
        re-scores the candidates exactly.
    rerank : int or "exact", default=None
        Only with ``algorithm="fastscan"``: re-rank fast-scan candidates by
        exact ADC and return exact distances. ``"exact"``: the candidates are
        every item whose fast-scan distance is within the tables' error bound
        of the ``n_neighbors``-th (see Notes), so the result is always that of
        the exact kernels. An int ``r``: the ``r * n_neighbors`` best
        fast-scan candidates, a fixed cost that can miss an exact neighbour
        when ``r`` is small. None returns the fast-scan ranking and its
        approximate distances.

    Attributes
    ----------
    quantizer_ : estimator
        The fitted clone of ``quantizer``.
    codes_ : ndarray of uint8, shape (n_samples_fit, n_subspaces)
        The database codes.
    packed_codes_ : ndarray of uint8, shape (n_blocks, n_pairs, 32)
        Only with ``algorithm="fastscan"``: the codes in the fast scan's
        layout, two 4-bit codes a byte in blocks of 32 items
        (``n_blocks = ceil(n_samples_fit / 32)``,
        ``n_pairs = ceil(n_subspaces / 2)``).
    n_samples_fit_ : int
        Number of database vectors.
    n_features_in_ : int
        Number of features of the vectors.
    labels_ : ndarray of shape (n_samples_fit,) or (n_samples_fit, n_labels) \
            or None
        The database labels given to ``fit``, for ``predict`` and ``score``;
        None when ``fit`` was given no ``y``.

    See Also
    --------
    HammingNeighbors : The search step for binary hashers.
    skhash.neighbors.BaseSearcher : The base class that provides ``predict``,
        ``score`` and ``kneighbors_graph``.

    Notes
    -----
    Memory stays bounded: the NumPy kernel processes queries in blocks whose
    distance matrix stays under 64 MiB; the numba kernel holds one table, one
    512-item block of distances and a ``n_neighbors`` heap per thread. The
    first numba search compiles the kernel (a few seconds, then cached on
    disk). Distances are summed in the tables' dtype (float32 tables for
    float32 queries), subspace by subspace.

    The fast scan shifts each sub-quantizer's row of a query's table by its
    minimum and scales all rows by one factor ``s`` so that the largest entry
    becomes ``min(255, 65534 // n_subspaces)``, then rounds. Its distance,
    ``sum(rows' minima) + (sum of rounded entries) / s``, is within
    ``n_subspaces / (2 s)`` of the exact ADC distance; ties in the integer sum
    are ordered by index. With ``rerank``, an item is missed only when it
    falls out of the ``rerank * n_neighbors`` fast-scan candidates, which
    this bound makes rare for a short list of a few times ``n_neighbors``.
    Reference: F. André, A.-M. Kermarrec and N. Le Scouarnec, "Cache
    locality is not enough: high-performance nearest neighbor search with
    product quantization fast scan", VLDB 2015.

    Examples
    --------
    >>> import numpy as np
    >>> from skhash.quantization import PQ, QuantizedNeighbors
    >>> rng = np.random.default_rng(0)
    >>> X, y = rng.normal(size=(300, 8)), rng.integers(0, 3, size=300)
    >>> nn = QuantizedNeighbors(PQ(n_bits=8, n_clusters=16, random_state=0),
    ...                         n_neighbors=3, algorithm="numpy").fit(X, y)
    >>> dist, ind = nn.kneighbors(X[:2])
    >>> dist.shape, ind.dtype, nn.codes_.shape
    ((2, 3), dtype('int64'), (300, 2))

    Train the quantizer on 100 vectors, index the other 200:

    >>> from sklearn.frozen import FrozenEstimator
    >>> pq = PQ(n_bits=8, n_clusters=16, random_state=0).fit(X[:100])
    >>> nn = QuantizedNeighbors(FrozenEstimator(pq), n_neighbors=3)
    >>> nn = nn.fit(X[100:], y[100:])
    >>> nn.codes_.shape, bool((nn.codes_ == pq.transform(X[100:])).all())
    ((200, 2), True)

    The fast scan over 4-bit codes, with exact re-ranking:

    >>> fast = QuantizedNeighbors(FrozenEstimator(pq), n_neighbors=3,
    ...                           algorithm="fastscan", rerank="exact").fit(X[100:])
    >>> exact = QuantizedNeighbors(FrozenEstimator(pq), n_neighbors=3).fit(X[100:])
    >>> bool((fast.kneighbors(X[:5])[1] == exact.kneighbors(X[:5])[1]).all())
    True
    """

    _parameter_constraints: dict = {
        "quantizer": [HasMethods(["fit", "transform", "distance_tables"]), None],
        "n_neighbors": [IntInterval(1, None, closed="left")],
        "algorithm": [StrOptions({"auto", "numba", "numpy", "fastscan"})],
        "rerank": [IntInterval(1, None, closed="left"), StrOptions({"exact"}), None],
    }

    def __init__(
        self, quantizer=None, n_neighbors=10, *, algorithm="auto", rerank=None
    ):
        self.quantizer = quantizer
        self.n_neighbors = n_neighbors
        self.algorithm = algorithm
        self.rerank = rerank

    @_fit_context(prefer_skip_nested_validation=False)
    def fit(self, X, y=None):
        """Fit the quantizer on the database and store its codes.

        A quantizer wrapped in :class:`sklearn.frozen.FrozenEstimator` is not
        refitted: ``fit`` only encodes ``X`` with it.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Database vectors (also the quantizer's training set, unless the
            quantizer is frozen).
        y : array-like of shape (n_samples,) or (n_samples, n_labels), default=None
            Database labels, for ``score`` and ``predict`` (and for supervised
            quantizers).

        Returns
        -------
        self : QuantizedNeighbors
        """
        self._check_rerank()
        if y is not None:
            # The same check as HammingNeighbors.fit (through validate_data).
            check_consistent_length(X, y)
        if self.quantizer is None:
            from skhash.quantization._pq import PQ

            quantizer = PQ()
        else:
            quantizer = clone(self.quantizer)  # a FrozenEstimator is kept as is
            if isinstance(quantizer, FrozenEstimator) and not _fitted(quantizer):
                raise NotFittedError(
                    "quantizer is a FrozenEstimator around an unfitted "
                    f"{type(quantizer.estimator).__name__}: fit it first, e.g. "
                    "FrozenEstimator(PQ().fit(X_train)), or pass the quantizer "
                    "unwrapped to fit it on the database."
                )
        self.quantizer_ = quantizer.fit(X, y)
        self.codes_ = np.ascontiguousarray(self.quantizer_.transform(X), np.uint8)
        self.n_samples_fit_ = self.codes_.shape[0]
        self.n_features_in_ = self.quantizer_.n_features_in_
        self.__dict__.pop("packed_codes_", None)
        if self.algorithm == "fastscan":
            self.packed_codes_ = self._packed_codes()
        if hasattr(self.quantizer_, "feature_names_in_"):
            self.feature_names_in_ = self.quantizer_.feature_names_in_
        if y is not None:
            y = np.asarray(y)
            if y.ndim == 2 and y.shape[1] == 1:
                y = y.ravel()
        self._set_labels(y)
        return self

    def kneighbors(self, X, n_neighbors=None, return_distance=True):
        """Find the k nearest database items of each query by ADC.

        Parameters
        ----------
        X : array-like of shape (n_queries, n_features)
            Query vectors (not quantized).
        n_neighbors : int, default=None
            Number of neighbours; defaults to the constructor's ``n_neighbors``.
        return_distance : bool, default=True
            Also return the distances.

        Returns
        -------
        distances : ndarray of shape (n_queries, n_neighbors)
            Asymmetric squared distances, ascending. Only if ``return_distance``.
        indices : ndarray of int64, shape (n_queries, n_neighbors)
            Database indices; ties in distance are ordered by index.
        """
        check_is_fitted(self)
        k = self._check_k(n_neighbors)
        self._check_rerank()
        T = self.quantizer_.distance_tables(X)
        if self.algorithm == "fastscan":
            dist, ind = self._fastscan(T, k)
        else:
            dist, ind = _pq.adc_kneighbors(T, self.codes_, k, backend=self.algorithm)
        return (dist, ind) if return_distance else ind

    def _check_rerank(self):
        if self.rerank is not None and self.algorithm != "fastscan":
            raise ValueError(
                f"rerank={self.rerank!r} applies to algorithm='fastscan' only (the "
                f"other kernels are exact); got algorithm={self.algorithm!r}."
            )

    def _packed_codes(self):
        n_clusters = getattr(self.quantizer_, "n_clusters_", None)
        if n_clusters != _fs.N_CLUSTERS:
            raise ValueError(
                "algorithm='fastscan' needs 4-bit codes: a quantizer with "
                f"n_clusters=16, got n_clusters={n_clusters}. Use "
                "algorithm='auto' (exact ADC) for other codebook sizes."
            )
        return _fs.pack_codes(self.codes_)

    def _fastscan(self, T, k):
        packed = getattr(self, "packed_codes_", None)
        if packed is None:  # algorithm set to "fastscan" after fit
            packed = self._packed_codes()
        Q, scale, bias = _fs.quantize_tables(T)
        n = self.n_samples_fit_
        if self.rerank == "exact":
            window = _fs.exact_window(T, scale)
            return _fs.fastscan_exact(Q, packed, n, k, window, T, self.codes_)
        n_cand = k if self.rerank is None else min(n, k * self.rerank)
        qdist, ind = _fs.fastscan_kneighbors(Q, packed, n, n_cand)
        if self.rerank is not None:
            return _fs.rerank(T, self.codes_, ind, k)
        dist = bias[:, None] + qdist / scale[:, None]
        return dist.astype(T.dtype, copy=False), ind


def _fitted(estimator):
    try:
        check_is_fitted(estimator)
    except NotFittedError:
        return False
    return True
