"""Exact asymmetric-distance (ADC) search over the codes of a quantizer."""

import numpy as np
from sklearn.base import MetaEstimatorMixin, _fit_context, clone
from sklearn.exceptions import NotFittedError
from sklearn.frozen import FrozenEstimator
from sklearn.utils._param_validation import HasMethods, StrOptions
from sklearn.utils.validation import check_consistent_length, check_is_fitted

from skhash._kernels import pq as _pq
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
    algorithm : {"auto", "numba", "numpy"}, default="auto"
        ADC kernel. ``"numba"``: one query per thread, tables in L1 and a
        bounded heap (needs numba); ``"numpy"``: a blocked scan with a stable
        selection; ``"auto"``: numba when installed and the number of
        neighbours is small against the database, else numpy. All return
        identical results.

    Attributes
    ----------
    quantizer_ : estimator
        The fitted clone of ``quantizer``.
    codes_ : ndarray of uint8, shape (n_samples_fit, n_subspaces)
        The database codes.
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
    """

    _parameter_constraints: dict = {
        "quantizer": [HasMethods(["fit", "transform", "distance_tables"]), None],
        "n_neighbors": [IntInterval(1, None, closed="left")],
        "algorithm": [StrOptions({"auto", "numba", "numpy"})],
    }

    def __init__(self, quantizer=None, n_neighbors=10, *, algorithm="auto"):
        self.quantizer = quantizer
        self.n_neighbors = n_neighbors
        self.algorithm = algorithm

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
        T = self.quantizer_.distance_tables(X)
        dist, ind = _pq.adc_kneighbors(T, self.codes_, k, backend=self.algorithm)
        return (dist, ind) if return_distance else ind


def _fitted(estimator):
    try:
        check_is_fitted(estimator)
    except NotFittedError:
        return False
    return True
