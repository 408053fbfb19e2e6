"""Scorers ``scorer(estimator, X, y) -> float`` for retrieval searchers.

``make_scorer`` cannot express retrieval metrics (they need the database
labels, which a ``score_func(y_true, y_pred)`` never sees), so these are plain
callables, which ``GridSearchCV``, ``cross_validate`` and ``check_scoring``
accept.
"""

import numpy as np
from sklearn.utils import _safe_indexing
from sklearn.utils.validation import _num_samples

from skhash._kernels import ranking as _rk
from skhash.metrics._ranking import (
    _check_int,
    _check_tail_complete,
    _effective_k,
    _nanmean,
    ap_per_query,
    check_targets,
    resolve_map_params,
)

# Bound on the (queries x ranked items) entries of one chunk: about 8 M
# entries, i.e. some 250 MB of indices, distances and temporaries at peak.
_CHUNK_ELEMENTS = 1 << 23


def _searcher_and_queries(estimator, X):
    """Split a Pipeline into (searcher, transformed queries)."""
    if hasattr(estimator, "steps"):
        nn = estimator.steps[-1][1]
        if len(estimator.steps) > 1:
            X = estimator[:-1].transform(X)
        return nn, X
    return estimator, X


def _precision_metric(yq, ydb, ranking, distances, params):
    K = params["top_k"]
    rel = _rk.relevance(yq, ydb, ranking)
    return _rk.precision_at_k(
        rel, K, distances if params["ties"] == "average" else None
    )


def score_searcher(
    nn, X, y, metric="map", *, top_k=None, chunk_size=None, **metric_params
):
    """Score a fitted searcher's rankings of its database for labelled queries.

    The one scoring loop shared by the scorers of this module and by
    ``HammingNeighbors.score``. Queries are processed in chunks of
    ``chunk_size`` rows: each chunk calls
    ``nn.kneighbors(X_chunk, n_neighbors=..., return_distance=True)`` (the whole
    database when ``top_k`` is None, so a full ranking of 1,000 queries x
    1,000,000 items is never held at once), turns the ranking into per-query
    values against the database labels ``nn.labels_``, and the per-query values
    are averaged at the end, leaving out the queries that the metric drops
    (NaN).

    Parameters
    ----------
    nn : searcher
        A fitted object with ``kneighbors(X, n_neighbors=k,
        return_distance=True)`` returning ``(distances, indices)`` sorted by
        (distance, database index), ``n_samples_fit_`` (database size) and
        ``labels_`` (the database labels given to ``fit``: 1-D labels or a 2-D
        0/1 indicator matrix), as every :class:`~skhash.neighbors.BaseSearcher`
        has.
    X : array-like
        Queries, in the searcher's input space (codes for ``HammingNeighbors``).
    y : array-like of shape (n_queries,) or (n_queries, n_labels)
        Query labels, of the same kind as ``nn.labels_``.
    metric : {"map", "precision"} or callable, default="map"
        ``"map"``: mean average precision with ``metric_params`` ``protocol``,
        ``normalize``, ``interpolation``, ``zero_relevant`` and ``ties``, as in
        :func:`skhash.metrics.mean_average_precision`. ``"precision"``:
        precision at ``top_k`` (required), with ``ties``. A callable is called
        as ``metric(y_query, y_database, ranking, distances)`` on each chunk
        (validated arrays: single-label targets re-coded as int class ids,
        multi-label as bool) and returns per-query values, NaN for a dropped
        query.
    top_k : int, default=None
        Cut-off K; ``None`` ranks the whole database. With ``ties="average"``
        and a cut-off, more neighbours are requested (doubling) until the
        block tied at rank K is complete.
    chunk_size : int, default=None
        Queries per chunk; ``None`` keeps about 8 M ranked entries per chunk.
    **metric_params : dict
        Keywords of the metric, see ``metric``.

    Returns
    -------
    score : float
        Mean of the per-query values over the non-dropped queries (NaN when
        every query is dropped).

    Examples
    --------
    >>> import numpy as np
    >>> from skhash.metrics import score_searcher
    >>> class Brute:  # a minimal searcher on 1-D points
    ...     def fit(self, X, y):
    ...         self.X_, self.labels_, self.n_samples_fit_ = X, y, len(X)
    ...         return self
    ...     def kneighbors(self, X, n_neighbors, return_distance=True):
    ...         d = np.abs(X[:, None] - self.X_[None, :])
    ...         i = np.argsort(d, axis=1, kind="stable")[:, :n_neighbors]
    ...         return np.take_along_axis(d, i, axis=1), i
    >>> nn = Brute().fit(np.array([0, 1, 5, 6]), np.array([0, 0, 1, 1]))
    >>> print(score_searcher(nn, np.array([0, 5]), np.array([0, 1])))
    1.0
    """
    if not hasattr(nn, "kneighbors") or not hasattr(nn, "n_samples_fit_"):
        raise ValueError(
            f"{type(nn).__name__} is not a fitted searcher: scoring needs "
            "kneighbors() and n_samples_fit_ (fit it first)."
        )
    # ``_fit_y``: the private name of the labels, still set by some searchers
    # written outside skhash.
    y_db = getattr(nn, "labels_", getattr(nn, "_fit_y", None))
    if y_db is None:
        raise ValueError(
            f"{type(nn).__name__} was fitted without y, so the database has no "
            "labels to score against; pass the database labels to fit(X, y)."
        )
    if y is None:
        raise ValueError("y (the query labels) is required for scoring.")
    yq, ydb = check_targets(y, y_db)
    n_q, n_db = len(yq), len(ydb)
    if n_db != nn.n_samples_fit_:
        raise ValueError(
            f"The searcher's labels hold {n_db} items but its database has "
            f"{nn.n_samples_fit_}."
        )
    if _num_samples(X) != n_q:
        raise ValueError(f"X has {_num_samples(X)} queries but y has {n_q} labels.")
    if callable(metric):
        params = {"top_k": top_k, "ties": metric_params.pop("ties", "stable")}
        if metric_params:
            raise TypeError(
                f"Unexpected keyword(s) {sorted(metric_params)} for a callable metric."
            )
        func = metric
    elif metric == "map":
        params = resolve_map_params(top_k=top_k, **metric_params)
        func = None
    elif metric == "precision":
        if top_k is None:
            raise ValueError("metric='precision' needs top_k (the k of P@k).")
        params = resolve_map_params(
            top_k=top_k, ties=metric_params.pop("ties", "stable")
        )
        if metric_params:
            raise TypeError(
                f"Unexpected keyword(s) {sorted(metric_params)} for metric='precision'."
            )
        func = None
    else:
        raise ValueError(
            f"metric must be 'map', 'precision' or a callable; got {metric!r}."
        )
    top_k = params["top_k"]
    if top_k is not None:
        top_k = _check_int(top_k, "top_k")
    K = n_db if top_k is None else min(top_k, n_db)
    n_neighbors = K
    if params["ties"] == "average" and K < n_db:
        n_neighbors = min(n_db, 2 * K)
    if chunk_size is None:
        # the tie-average kernel holds ~20 temporaries per ranked entry
        budget = _CHUNK_ELEMENTS // (8 if params["ties"] == "average" else 1)
        chunk_size = max(1, budget // n_neighbors)
    else:
        chunk_size = _check_int(chunk_size, "chunk_size")

    values = []
    R_all = _rk.n_relevant(yq, ydb)
    for start in range(0, n_q, chunk_size):
        rows = np.arange(start, min(n_q, start + chunk_size))
        Xc = _safe_indexing(X, rows)
        nk = n_neighbors
        while True:
            dist, ind = nn.kneighbors(Xc, n_neighbors=nk, return_distance=True)
            dist, ind = np.asarray(dist), np.asarray(ind)
            if params["ties"] != "average" or nk >= n_db:
                break
            if _rk.tail_block_complete(dist, K, n_db).all():
                break
            nk = min(n_db, 2 * nk)
        if params["ties"] == "average":
            _check_tail_complete(dist, _effective_k(K, nk, n_db), n_db)
        if func is not None:
            vals = func(yq[rows], ydb, ind, dist)
        elif metric == "map":
            vals = ap_per_query(yq[rows], ydb, ind, dist, params, R=R_all[rows])
        else:
            vals = _precision_metric(yq[rows], ydb, ind, dist, {**params, "top_k": K})
        values.append(np.asarray(vals, dtype=np.float64))
    return _nanmean(np.concatenate(values))


class _SearcherScorer:
    """Callable ``scorer(estimator, X, y)`` around :func:`score_searcher`."""

    def __init__(self, name, metric, kwargs, call_kwargs):
        self._name = name
        self._metric = metric
        self._kwargs = kwargs  # shown in the repr
        self._call_kwargs = call_kwargs

    def __call__(self, estimator, X, y):
        nn, Xq = _searcher_and_queries(estimator, X)
        return score_searcher(nn, Xq, y, self._metric, **self._call_kwargs)

    def __repr__(self):
        if not self._name.startswith("make_"):
            return self._name
        args = ", ".join(f"{k}={v!r}" for k, v in self._kwargs.items())
        return f"{self._name}({args})"


def make_map_scorer(
    top_k=None,
    *,
    protocol=None,
    normalize=None,
    interpolation=None,
    zero_relevant=None,
    ties="stable",
    chunk_size=None,
):
    """Make a mean-average-precision scorer for ``GridSearchCV`` and friends.

    The scorer is called as ``scorer(estimator, X, y)``. If ``estimator`` is a
    ``Pipeline``, ``X`` goes through every step but the last, and the last step
    is the searcher; otherwise ``estimator`` is the searcher (e.g. a fitted
    ``HammingNeighbors``, whose database and labels come from ``fit``). Each
    query in ``X`` ranks the database; the score is the mAP of those rankings
    against ``y``, computed in chunks of queries by :func:`score_searcher`.

    Parameters
    ----------
    top_k : int, default=None
        Cut-off K; ``None`` ranks the whole database.
    protocol : str, default=None
        Named preset, see :func:`skhash.metrics.mean_average_precision`.
    normalize : {"relevant", "retrieved"}, default=None
        See :func:`skhash.metrics.average_precision`.
    interpolation : {"none", "trapezoid"}, default=None
        See :func:`skhash.metrics.average_precision`.
    zero_relevant : {"zero", "drop", "drop-database"}, default=None
        See :func:`skhash.metrics.average_precision`.
    ties : {"stable", "average"}, default="stable"
        ``"stable"``: the searcher's order (ties by database index).
        ``"average"``: expected AP under random order within tied distances.
    chunk_size : int, default=None
        Queries per chunk (default: about 8 M ranked entries per chunk).

    Returns
    -------
    scorer : callable
        ``scorer(estimator, X, y) -> float``, greater is better.

    Examples
    --------
    >>> from skhash.metrics import make_map_scorer
    >>> make_map_scorer(1000, protocol="hashnet-pytorch")
    make_map_scorer(top_k=1000, protocol='hashnet-pytorch')
    """
    params = resolve_map_params(
        protocol=protocol,
        top_k=top_k,
        normalize=normalize,
        interpolation=interpolation,
        zero_relevant=zero_relevant,
        ties=ties,
    )
    shown = {
        "top_k": top_k,
        "protocol": protocol,
        "normalize": normalize,
        "interpolation": interpolation,
        "zero_relevant": zero_relevant,
        "ties": ties,
        "chunk_size": chunk_size,
    }
    shown = {
        k: v
        for k, v in shown.items()
        if not (v is None or (k == "ties" and v == "stable"))
    }
    call = {
        "top_k": params.pop("top_k"),
        "chunk_size": chunk_size,
        "protocol": None,
        **params,
    }
    return _SearcherScorer("make_map_scorer", "map", shown, call)


def make_precision_at_k_scorer(k, *, ties="stable", chunk_size=None):
    """Make a precision@k scorer ``scorer(estimator, X, y) -> float``.

    Searcher and ``Pipeline`` handling as in :func:`make_map_scorer`; the score
    is the mean over queries of the fraction of relevant items among the
    ``k`` nearest database items.

    Parameters
    ----------
    k : int
        Number of retrieved items per query.
    ties : {"stable", "average"}, default="stable"
        ``"stable"``: the searcher's order (ties by database index).
        ``"average"``: expected precision under random order within ties.
    chunk_size : int, default=None
        Queries per chunk.

    Returns
    -------
    scorer : callable

    Examples
    --------
    >>> from skhash.metrics import make_precision_at_k_scorer
    >>> make_precision_at_k_scorer(100)
    make_precision_at_k_scorer(k=100)
    """
    k = _check_int(k, "k")
    resolve_map_params(ties=ties)
    shown = {"k": k}
    if ties != "stable":
        shown["ties"] = ties
    if chunk_size is not None:
        shown["chunk_size"] = chunk_size
    call = {"top_k": k, "chunk_size": chunk_size, "ties": ties}
    return _SearcherScorer("make_precision_at_k_scorer", "precision", shown, call)


map_scorer = make_map_scorer()
map_scorer._name, map_scorer._kwargs = "map_scorer", {}
map_scorer.__doc__ = """Scorer: mAP over the full ranking of the database.

``map_scorer(estimator, X, y)`` is ``make_map_scorer()``: non-interpolated AP
divided by all relevant items, zero-relevant queries count 0, ties by index.
"""
