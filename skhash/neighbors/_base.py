"""What every searcher shares: k checks, labels, voting, scoring, graphs, tags."""

import numpy as np
from scipy import sparse
from sklearn.base import BaseEstimator
from sklearn.utils.validation import check_is_fitted

from skhash._validation import check_n_neighbors
from skhash.base import DocLinkMixin


class BaseSearcher(DocLinkMixin, BaseEstimator):
    """Base class of the search estimators (the shared half of their API).

    A searcher stores a database in ``fit`` and ranks it for queries in
    ``kneighbors(X, n_neighbors=None, return_distance=True)``, which returns
    ``(distances, indices)`` sorted by (distance, database index). On top of
    that method this class provides, as scikit-learn's ``KNeighborsMixin``
    does for real vectors:

    * ``predict``: majority vote of the database labels of the
      ``n_neighbors`` nearest items;
    * ``score``: mean average precision of ranking the whole database for
      each query (:func:`skhash.metrics.score_searcher`), so a searcher at the
      end of a ``Pipeline`` can be grid-searched with no ``scoring``;
    * ``kneighbors_graph``: the k nearest neighbours as a sparse matrix;
    * the ``n_neighbors`` check against the database size, and the tags
      (no NaN in the input).

    A concrete searcher sets ``n_samples_fit_`` and ``labels_`` in ``fit``
    (``self._set_labels(y)``), and implements ``kneighbors``. Queries that
    need converting once before scoring go through ``_validate_queries``
    (identity by default).

    Attributes
    ----------
    labels_ : ndarray of shape (n_samples_fit,) or (n_samples_fit, n_labels) \
            or None
        The database labels given to ``fit`` (class labels or a 0/1
        multi-label indicator matrix), used by ``predict`` and ``score``;
        None when ``fit`` was given no ``y``.
    n_samples_fit_ : int
        Number of database items.

    See Also
    --------
    skhash.HammingNeighbors : Exact search over packed binary codes.
    skhash.QuantizedNeighbors : Asymmetric-distance search over quantizer codes.
    skhash.metrics.score_searcher : The scoring loop of ``score``.

    Examples
    --------
    >>> import numpy as np
    >>> from skhash import HammingNeighbors, pack_bits
    >>> from skhash import BaseSearcher
    >>> db = pack_bits(np.array([[0, 0, 0, 0], [1, 1, 0, 0], [1, 0, 0, 0]]))
    >>> nn = HammingNeighbors(n_neighbors=2).fit(db, y=[0, 1, 1])
    >>> isinstance(nn, BaseSearcher), nn.labels_
    (True, array([0, 1, 1]))
    """

    # ------------------------------------------------------------ fitting
    def _set_labels(self, y):
        """Store the database labels (None when fitted without ``y``)."""
        self.labels_ = y

    @property
    def _fit_y(self):
        """Alias of ``labels_``, for code that reads the private name."""
        return self.labels_

    @_fit_y.setter
    def _fit_y(self, y):
        self.labels_ = y

    def __setstate__(self, state):
        # Searchers pickled before ``labels_`` existed hold ``_fit_y``.
        if "_fit_y" in state:
            state = dict(state)
            state["labels_"] = state.pop("_fit_y")
        super().__setstate__(state)

    # ------------------------------------------------------------ helpers
    def _check_k(self, n_neighbors, self_query=False):
        """``n_neighbors`` (or the constructor's), at most the database size.

        With ``self_query`` the database queries itself and each item leaves
        itself out, so one fewer neighbour is available.
        """
        k = check_n_neighbors(self.n_neighbors if n_neighbors is None else n_neighbors)
        available = self.n_samples_fit_ - (1 if self_query else 0)
        if k > available:
            raise ValueError(
                f"Expected n_neighbors <= n_samples_fit, but n_neighbors = {k}, "
                f"n_samples_fit = {self.n_samples_fit_}"
                + (" (minus the query itself)" if self_query else "")
                + "."
            )
        return int(k)

    def _require_labels(self, what):
        if self.labels_ is None:
            raise ValueError(
                f"{what} needs the database labels: fit {type(self).__name__} "
                "with y (fit(X, y))."
            )
        return self.labels_

    def _validate_queries(self, X):
        """Queries as ``kneighbors`` takes them, converted once for scoring."""
        return X

    # ---------------------------------------------------------- supervised
    def predict(self, X):
        """Majority label of the ``n_neighbors`` nearest database items.

        Ties between labels go to the smallest label. With a 2-D multi-label
        indicator ``y``, each label column is voted separately.

        Parameters
        ----------
        X : array-like of shape (n_queries, n_features)
            Queries, as ``kneighbors`` takes them (packed codes for
            :class:`~skhash.HammingNeighbors`, vectors for
            :class:`~skhash.QuantizedNeighbors`).

        Returns
        -------
        y_pred : ndarray of shape (n_queries,) or (n_queries, n_labels)
            Predicted labels.
        """
        check_is_fitted(self)
        y = self._require_labels("predict")
        ind = self.kneighbors(X, return_distance=False)
        if y.ndim == 1:
            return _vote(y, ind)
        out = np.empty((ind.shape[0], y.shape[1]), dtype=y.dtype)
        for j in range(y.shape[1]):
            out[:, j] = _vote(y[:, j], ind)
        return out

    def score(self, X, y):
        """Mean average precision of ranking the whole database for each query.

        Relevant database items share the query's label (multi-label: at least
        one label). Full ranking by (distance, index), AP normalised by the
        number of relevant items in the database, queries with no relevant item
        count as 0 (``protocol="full"`` of
        :func:`skhash.metrics.mean_average_precision`). Use
        :func:`skhash.metrics.make_map_scorer` for other variants.

        Parameters
        ----------
        X : array-like of shape (n_queries, n_features)
            Queries, as ``kneighbors`` takes them.
        y : array-like of shape (n_queries,) or (n_queries, n_labels)
            Query labels.

        Returns
        -------
        score : float
            mAP in [0, 1].
        """
        from skhash.metrics._scorers import score_searcher

        check_is_fitted(self)
        self._require_labels("score")
        return score_searcher(self, self._validate_queries(X), y)

    # -------------------------------------------------------------- graphs
    def kneighbors_graph(self, X=None, n_neighbors=None, mode="connectivity"):
        """Sparse graph of the k nearest neighbours of each query.

        Parameters
        ----------
        X : array-like of shape (n_queries, n_features), default=None
            Queries, as ``kneighbors`` takes them; None (where ``kneighbors``
            accepts it) uses the database, excluding self-matches.
        n_neighbors : int, default=None
            Number of neighbours; defaults to the constructor's ``n_neighbors``.
        mode : {"connectivity", "distance"}, default="connectivity"
            Ones, or the distances of ``kneighbors`` (explicit zeros kept).

        Returns
        -------
        graph : scipy.sparse.csr_matrix, shape (n_queries, n_samples_fit)
            Row ``i`` holds the neighbours of query ``i``.
        """
        _check_mode(mode)
        dist, ind = self.kneighbors(X, n_neighbors, return_distance=True)
        n_q, k = ind.shape
        data = np.ones(n_q * k) if mode == "connectivity" else dist.ravel()
        indptr = np.arange(0, n_q * k + 1, k)
        return sparse.csr_matrix(
            (data.astype(np.float64), ind.ravel(), indptr),
            shape=(n_q, self.n_samples_fit_),
        )

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = False
        return tags


class RadiusNeighborsMixin:
    """``radius_neighbors_graph`` for a searcher with ``radius_neighbors``.

    ``radius_neighbors(X, radius, return_distance=True)`` returns two object
    arrays with one array of distances and one of database indices per query,
    as scikit-learn's.
    """

    def radius_neighbors_graph(self, X=None, radius=None, mode="connectivity"):
        """Sparse graph of the database items within a radius of each query.

        Parameters
        ----------
        X : array-like of shape (n_queries, n_features), default=None
            Queries, as ``radius_neighbors`` takes them; None uses the
            database, excluding self-matches.
        radius : float, default=None
            Radius (inclusive); defaults to the constructor's ``radius``.
        mode : {"connectivity", "distance"}, default="connectivity"
            Ones, or the distances (explicit zeros kept).

        Returns
        -------
        graph : scipy.sparse.csr_matrix, shape (n_queries, n_samples_fit)
            Row ``i`` holds the neighbours of query ``i``.
        """
        _check_mode(mode)
        dists, inds = self.radius_neighbors(X, radius, return_distance=True)
        lengths = np.array([len(i) for i in inds], dtype=np.int64)
        indptr = np.concatenate(([0], np.cumsum(lengths)))
        ind = np.concatenate(list(inds)) if len(inds) else np.empty(0, np.int64)
        if mode == "connectivity":
            data = np.ones(len(ind))
        else:
            data = np.concatenate(list(dists)) if len(dists) else np.empty(0)
        return sparse.csr_matrix(
            (data.astype(np.float64), ind, indptr),
            shape=(len(inds), self.n_samples_fit_),
        )


def _vote(y, ind):
    """Majority label of ``y[ind]`` per row; ties to the smallest label."""
    classes, y_enc = np.unique(y, return_inverse=True)
    votes = np.zeros((ind.shape[0], len(classes)), dtype=np.int64)
    np.add.at(votes, (np.arange(ind.shape[0])[:, None], y_enc[ind]), 1)
    return classes[np.argmax(votes, axis=1)]


def _check_mode(mode):
    if mode not in ("connectivity", "distance"):
        raise ValueError(f'mode must be "connectivity" or "distance", got {mode!r}.')
