"""Evaluate hashers and quantizers under a retrieval protocol.

The evaluation engine behind ``skhash bench`` and the benchmark tables:

* :func:`evaluate` runs one method over a grid of code lengths: for each, it
  clones the estimator, fits it on the protocol's training items and calls
  :func:`evaluate_fitted`; it returns one tidy row per code length.
* :func:`evaluate_fitted` encodes the database and the queries with a fitted
  hasher or quantizer, indexes the database in the package's own searcher
  (:class:`~skhash.HammingNeighbors` for hashers,
  :class:`~skhash.QuantizedNeighbors` around the frozen quantizer for
  quantizers), times a k-nearest-neighbour search, ranks the whole database
  for every query and scores the ranking.
* Relevance is either shared labels or membership of the true Euclidean
  neighbour sets; :func:`neighbor_targets` turns such sets into multi-label
  targets, so every label metric of :mod:`skhash.metrics` computes the
  Euclidean protocol too.
"""

import time
from numbers import Integral

import numpy as np
from sklearn.base import clone
from sklearn.frozen import FrozenEstimator
from sklearn.pipeline import Pipeline
from sklearn.utils import Bunch

from skhash._kernels import ranking as _rk
from skhash.datasets import euclidean_ground_truth, retrieval_split
from skhash.metrics import average_precision, precision_within_radius
from skhash.metrics._ranking import check_targets, resolve_map_params
from skhash.neighbors import HammingNeighbors
from skhash.quantization import QuantizedNeighbors

__all__ = ["evaluate", "evaluate_fitted", "neighbor_targets", "pr_counts"]

_METRICS = ("map", "precision_radius2", "pr_curve")
_DEFAULT_METRICS = ("map", "precision_radius2")

# Ranked entries (queries x database items) held at once while scoring.
_CHUNK_ELEMENTS = 1 << 22


def _last(est):
    return est[-1] if isinstance(est, Pipeline) else est


def _head(est, X):
    return est[:-1].transform(X) if isinstance(est, Pipeline) and len(est) > 1 else X


def _is_quantizer(est):
    """A quantizer (or a pipeline ending in one) is searched by asymmetric distance."""
    return hasattr(_last(est), "distance_tables")


def _n_bits_param(estimator):
    names = [
        p for p in estimator.get_params() if p == "n_bits" or p.endswith("__n_bits")
    ]
    if not names:
        raise ValueError(
            f"{type(estimator).__name__} has no n_bits parameter to vary; pass "
            "n_bits=None to evaluate it as it is."
        )
    return names[-1]


def _check_metrics(metrics):
    for m in metrics:
        if m not in _METRICS:
            raise ValueError(f"Unknown metric {m!r}; choose from {_METRICS}.")


def neighbor_targets(true_neighbors, n_database):
    """Multi-label targets whose shared labels are the true neighbour sets.

    Query ``i`` gets label ``i``, and database item ``j`` carries label ``i``
    when it is among query ``i``'s true neighbours, so "shares a label" means
    "is a true neighbour": every label metric of :mod:`skhash.metrics` then
    computes the Euclidean-relevance protocol (UH-BDNN's "the K nearest
    database items in the input space are relevant").

    Parameters
    ----------
    true_neighbors : array-like of int, shape (n_queries, n_true)
        Database indices of each query's true neighbours, for example from
        :func:`skhash.datasets.euclidean_ground_truth`.
    n_database : int
        Number of database items.

    Returns
    -------
    y_query : ndarray of uint8, shape (n_queries, n_queries)
        The identity: query ``i`` has label ``i`` only.
    y_database : ndarray of uint8, shape (n_database, n_queries)
        ``y_database[j, i] = 1`` when item ``j`` is a true neighbour of query
        ``i``.

    Examples
    --------
    >>> import numpy as np
    >>> from skhash.evaluation import neighbor_targets
    >>> y_query, y_database = neighbor_targets(np.array([[2, 0], [1, 2]]), 3)
    >>> y_database
    array([[1, 0],
           [0, 1],
           [1, 1]], dtype=uint8)
    """
    gt = np.asarray(true_neighbors)
    if gt.ndim != 2:
        raise ValueError(
            "true_neighbors must be a 2-D array of database indices, one row per "
            f"query; got shape {gt.shape}."
        )
    n_q = gt.shape[0]
    y_db = np.zeros((n_database, n_q), dtype=np.uint8)
    y_db[gt, np.arange(n_q)[:, None]] = 1
    return np.eye(n_q, dtype=np.uint8), y_db


def pr_counts(distances, relevant, n_bits):
    """Pooled counts of the precision-recall curve by Hamming radius.

    Counts add up over chunks of queries, so a curve over many queries can be
    accumulated without holding every distance at once.

    Parameters
    ----------
    distances : ndarray of int, shape (n_queries, n_database)
        Hamming distances of every query to every database item (any order).
    relevant : ndarray of bool, same shape
        Relevance of the same pairs.
    n_bits : int
        Code length (largest radius).

    Returns
    -------
    retrieved, good : ndarray of int64, shape (n_bits + 1,)
        Pairs within each radius 0..n_bits, and relevant ones among them; the
        micro-averaged curve of :func:`skhash.metrics.precision_recall_curve`
        is ``good / retrieved`` and ``good / good[-1]``.

    Examples
    --------
    >>> import numpy as np
    >>> from skhash.evaluation import pr_counts
    >>> pr_counts(np.array([[0, 1, 2]]), np.array([[True, False, True]]), 2)
    (array([1, 2, 3]), array([1, 1, 2]))
    """
    d = np.asarray(distances).ravel().astype(np.int64)
    rel = np.asarray(relevant, dtype=bool).ravel()
    retrieved = np.cumsum(np.bincount(d, minlength=n_bits + 1)[: n_bits + 1])
    good = np.cumsum(np.bincount(d[rel], minlength=n_bits + 1)[: n_bits + 1])
    return retrieved, good


def _pr_curve(retrieved, good, n_bits):
    total = good[-1]
    return {
        "radius": list(range(n_bits + 1)),
        "precision": [
            float(gd / rt) if rt else 0.0
            for gd, rt in zip(good, retrieved, strict=True)
        ],
        "recall": [float(gd / total) if total else 0.0 for gd in good],
    }


def _searcher(estimator, X_query, X_database):
    """Encode and index: (searcher, queries in its input space)."""
    if _is_quantizer(estimator):
        # The quantizer was fitted on the training set: frozen, it only encodes
        # the database, and the queries stay unquantized (ADC).
        nn = QuantizedNeighbors(FrozenEstimator(_last(estimator)))
        nn.fit(_head(estimator, X_database))
        return nn, _head(estimator, X_query)
    nn = HammingNeighbors().fit(estimator.transform(X_database))
    return nn, estimator.transform(X_query)


def evaluate_fitted(
    estimator,
    X_query,
    X_database,
    *,
    y_query=None,
    y_database=None,
    true_neighbors=None,
    n_bits=None,
    metrics=_DEFAULT_METRICS,
    map_protocol="full",
    top_k=None,
    search_k=100,
    chunk_size=None,
    progress=None,
):
    """Encode, search and score one fitted hasher or quantizer.

    The database is encoded and indexed in the package's searcher
    (:class:`~skhash.HammingNeighbors` over the codes of a hasher;
    :class:`~skhash.QuantizedNeighbors` around the frozen quantizer, which
    ranks by asymmetric distance to the unquantized queries). One search of
    all queries for their ``search_k`` nearest items is timed after an untimed
    warm-up query; then the whole database is ranked for every query (ties by
    database index), chunk by chunk, and scored.

    Parameters
    ----------
    estimator : estimator or Pipeline
        A fitted hasher or quantizer, or a fitted Pipeline ending in one.
    X_query : array-like of shape (n_queries, n_features)
        Query vectors.
    X_database : array-like of shape (n_database, n_features)
        Database vectors.
    y_query, y_database : array-like, default=None
        Labels (1-D) or 0/1 multi-label indicators (2-D) of the queries and the
        database: relevant = same label (multi-label: at least one shared).
    true_neighbors : array-like of int, shape (n_queries, n_true), default=None
        Instead of labels: each query's true neighbours (database indices), the
        relevant items of the Euclidean protocol.
    n_bits : int, default=None
        Code length, the largest radius of ``"pr_curve"``; None reads the
        estimator's ``n_bits``.
    metrics : sequence of str, default=("map", "precision_radius2")
        ``"map"``: mAP with the preset ``map_protocol`` and cut-off ``top_k``;
        ``"precision_radius2"``: mean precision within Hamming radius 2 (a
        query retrieving nothing scores 0); ``"pr_curve"``: the precision-recall
        curve by Hamming radius, counts pooled over all queries. The last two
        are for hashers only (quantizer codes have no Hamming ball).
    map_protocol : str, default="full"
        Preset of :func:`skhash.metrics.mean_average_precision`.
    top_k : int, default=None
        Cut-off K of the mAP (``None``: the whole ranking).
    search_k : int, default=100
        Neighbours per query of the timed search (at most the database size).
    chunk_size : int, default=None
        Queries ranked at a time; None keeps about 4 M ranked items per chunk.
    progress : callable, default=None
        Called as ``progress(n_done, n_queries)`` after each chunk.

    Returns
    -------
    scores : dict
        Each metric asked for (``"pr_curve"``: a dict of ``radius``,
        ``precision`` and ``recall`` lists), and ``encode_s`` (encoding the
        database, and the queries of a hasher), ``warmup_s`` (the first search
        call, which compiles the numba kernels), ``search_s`` (the timed
        search) and ``score_s`` (ranking and scoring).

    See Also
    --------
    evaluate : Fit and evaluate over a grid of code lengths.

    Examples
    --------
    >>> import numpy as np
    >>> from skhash import PQ
    >>> from skhash.evaluation import evaluate_fitted
    >>> rng = np.random.default_rng(0)
    >>> X, y = rng.normal(size=(300, 8)), rng.integers(0, 3, size=300)
    >>> pq = PQ(n_bits=8, n_clusters=16, random_state=0).fit(X[:200])
    >>> scores = evaluate_fitted(pq, X[:20], X[20:], y_query=y[:20],
    ...                          y_database=y[20:])
    >>> 0 <= scores["map"] <= 1, "precision_radius2" in scores
    (True, False)
    """
    _check_metrics(metrics)
    resolve_map_params(protocol=map_protocol, top_k=top_k)
    if (true_neighbors is None) == (y_query is None or y_database is None):
        raise ValueError(
            "Pass the relevance either as labels (y_query and y_database) or as "
            "true_neighbors, not both nor neither."
        )
    quantizer = _is_quantizer(estimator)
    hamming = [m for m in metrics if m != "map" and not quantizer]
    if n_bits is None:
        n_bits = getattr(_last(estimator), "n_bits", None)
    if "pr_curve" in hamming and n_bits is None:
        raise ValueError("pr_curve needs the code length: pass n_bits.")

    t0 = time.perf_counter()
    nn, queries = _searcher(estimator, X_query, X_database)
    encode_s = time.perf_counter() - t0
    n_db, n_q = nn.n_samples_fit_, len(queries)
    if true_neighbors is not None:
        gt = np.asarray(true_neighbors)
        if gt.shape[0] != n_q:
            raise ValueError(
                f"true_neighbors has {gt.shape[0]} rows for {n_q} queries."
            )

        def targets(rows):
            return neighbor_targets(gt[rows], n_db)
    else:
        y_query, y_database = np.asarray(y_query), np.asarray(y_database)

        def targets(rows):
            return y_query[rows], y_database

    k_search = min(search_k, n_db)
    t0 = time.perf_counter()
    nn.kneighbors(queries[:1], n_neighbors=k_search)
    warmup_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    nn.kneighbors(queries, n_neighbors=k_search)
    search_s = time.perf_counter() - t0

    t0 = time.perf_counter()
    # precision within a radius and the PR curve need the whole ranking
    n_ranked = n_db if top_k is None or hamming else min(top_k, n_db)
    step = chunk_size or max(1, _CHUNK_ELEMENTS // max(n_ranked, 1))
    aps, precision_sum = [], 0.0
    retrieved = good = 0
    for start in range(0, n_q, step):
        rows = slice(start, min(n_q, start + step))
        yq, ydb = targets(rows)
        dist, ind = nn.kneighbors(queries[rows], n_neighbors=n_ranked)
        if "map" in metrics:
            aps.append(
                average_precision(yq, ydb, ind, protocol=map_protocol, top_k=top_k)
            )
        if "precision_radius2" in hamming:
            p = precision_within_radius(yq, ydb, dist, ind, radius=2)
            precision_sum += p * len(yq)
        if "pr_curve" in hamming:
            r, g = pr_counts(dist, _rk.relevance(*check_targets(yq, ydb), ind), n_bits)
            retrieved, good = retrieved + r, good + g
        if progress is not None:
            progress(rows.stop, n_q)
    scores = {}
    if "map" in metrics:
        aps = np.concatenate(aps)
        scores["map"] = (
            float(np.nanmean(aps)) if np.isfinite(aps).any() else float("nan")
        )
    if "precision_radius2" in hamming:
        scores["precision_radius2"] = float(precision_sum / n_q)
    if "pr_curve" in hamming:
        scores["pr_curve"] = _pr_curve(retrieved, good, n_bits)
    scores.update(
        encode_s=encode_s,
        warmup_s=warmup_s,
        search_s=search_s,
        score_s=time.perf_counter() - t0,
    )
    return scores


def _split(protocol, y, split, random_state):
    if isinstance(protocol, str):
        if y is None:
            raise ValueError(f"The protocol {protocol!r} splits by label: pass y.")
        return retrieval_split(
            y, protocol=protocol, split=split, random_state=random_state
        )
    if isinstance(protocol, Bunch):
        missing = [k for k in ("train", "database", "query") if k not in protocol]
        if missing:
            raise ValueError(
                f"The protocol Bunch lacks {', '.join(missing)}: it needs the "
                "train, database and query indices of retrieval_split."
            )
        return protocol
    raise ValueError(
        "protocol must be a protocol name or the Bunch of retrieval_split, got "
        f"{type(protocol).__name__}."
    )


def evaluate(
    estimator,
    X,
    y,
    *,
    protocol,
    split=None,
    n_bits=(16, 32, 64),
    metrics=_DEFAULT_METRICS,
    map_protocol="full",
    top_k=None,
    random_state=0,
    search_k=100,
    chunk_size=None,
    progress=None,
    verbose=0,
):
    """Fit, encode, search and score one method under one retrieval protocol.

    For each code length: clone ``estimator`` with that ``n_bits``, fit it on the
    protocol's training items (with their labels, which unsupervised methods
    ignore), then :func:`evaluate_fitted`: encode the database and the
    queries, rank the whole database for each query (Hamming distance for
    hashers, asymmetric distance for quantizers; ties by database index) and
    score the ranking.

    Parameters
    ----------
    estimator : estimator or Pipeline
        A hasher or quantizer, or a Pipeline ending in one (e.g. a scaler then a
        hasher). Its ``n_bits`` (or ``<step>__n_bits``) parameter is varied.
    X : array-like of shape (n_samples, n_features)
        All vectors of the dataset.
    y : array-like of shape (n_samples,) or (n_samples, n_labels), or None
        Labels of all vectors; None for a protocol with Euclidean relevance and
        no labels (unsupervised methods only).
    protocol : str or Bunch
        A name of :data:`skhash.datasets.PROTOCOLS`, or the Bunch returned by
        :func:`skhash.datasets.retrieval_split`: ``train``, ``database`` and
        ``query`` indices into ``X``, and optionally ``relevance``
        (``"label"``, the default, or ``"euclidean"``), ``n_neighbors`` (K of
        the Euclidean ground truth), ``true_neighbors`` (that ground truth,
        ``(n_query, K)`` database positions, computed when absent) and
        ``protocol`` (its name in the rows).
    split : array-like, default=None
        The loaders' ``split`` field, for the protocols with an official
        train/test split.
    n_bits : sequence of int or None, default=(16, 32, 64)
        Code lengths; None evaluates the estimator with its own settings.
    metrics : sequence of str, default=("map", "precision_radius2")
        ``"map"``: mAP with the preset ``map_protocol`` and cut-off ``top_k``,
        for label and for Euclidean relevance alike;
        ``"precision_radius2"``: precision within Hamming radius 2 (a query
        retrieving nothing scores 0); ``"pr_curve"``: precision and recall by
        Hamming radius (pooled counts). The last two are for hashers only.
    map_protocol : str, default="full"
        Preset of :func:`skhash.metrics.mean_average_precision`: the
        full-ranking presets ``"full"``, ``"sdh"`` and ``"bdnn"``, or the @K
        presets ``"hashnet-pytorch"``, ``"hashnet-caffe"`` and ``"deephash"``
        (with ``top_k``), which set the divisor and the queries dropped.
    top_k : int, default=None
        Cut-off K of the mAP (``None``: the whole ranking). A full-ranking
        ``map_protocol`` with a ``top_k`` raises a ``ValueError``.
    random_state : int, default=0
        Seed of the split (when ``protocol`` is a name).
    search_k : int, default=100
        Neighbours per query of the timed search.
    chunk_size : int, default=None
        Queries ranked at a time; None keeps about 4 M ranked items per chunk.
    progress : callable, default=None
        Called as ``progress(n_done, n_queries)`` after each chunk of queries.
    verbose : int, default=0
        Print one line per code length.

    Returns
    -------
    rows : list of dict
        One row per code length: ``method``, ``protocol``, ``relevance``,
        ``n_bits``, each metric that applies (a quantizer's rows have no
        ``precision_radius2`` or ``pr_curve`` key: its codes have no Hamming
        radius; use ``row.get``), ``fit_s``, ``encode_s``, ``search_s`` (one
        k-nearest-neighbour search of all queries with ``search_k``
        neighbours, after one untimed query that compiles the numba kernels),
        ``score_s`` (ranking the whole database and scoring), ``warmup_s``
        (that first query).
        ``pandas.DataFrame(rows)`` makes a table.

    See Also
    --------
    evaluate_fitted : Evaluate an estimator fitted elsewhere.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.datasets import load_digits
    >>> from skhash import ITQ
    >>> from skhash.datasets import retrieval_split
    >>> from skhash.evaluation import evaluate
    >>> X, y = load_digits(return_X_y=True)
    >>> split = retrieval_split(y, n_query_per_class=10, random_state=0)
    >>> rows = evaluate(ITQ(random_state=0), X, y, protocol=split, n_bits=[16])
    >>> rows[0]["n_bits"], round(rows[0]["map"], 2) > 0.3
    (16, True)
    """
    X = np.asarray(X)
    y = None if y is None else np.asarray(y)
    _check_metrics(metrics)
    sp = _split(protocol, y, split, random_state)
    resolve_map_params(protocol=map_protocol, top_k=top_k)
    relevance = sp.get("relevance", "label")
    name = type(_last(estimator)).__name__
    if relevance == "euclidean":
        gt = sp.get("true_neighbors")
        if gt is None:
            gt = euclidean_ground_truth(X[sp.query], X[sp.database], sp.n_neighbors)
        relevant = {"true_neighbors": gt}
    elif y is None:
        raise ValueError("Label relevance needs the labels: pass y.")
    else:
        relevant = {"y_query": y[sp.query], "y_database": y[sp.database]}
    if n_bits is None:
        grid = [None]
    else:
        param = _n_bits_param(estimator)
        grid = list(n_bits)
        for b in grid:
            if not isinstance(b, Integral) or b < 1:
                raise ValueError(f"n_bits must hold positive integers, got {b!r}.")
    rows = []
    for b in grid:
        est = (
            clone(estimator)
            if b is None
            else clone(estimator).set_params(**{param: int(b)})
        )
        t0 = time.perf_counter()
        est.fit(X[sp.train], None if y is None else y[sp.train])
        fit_s = time.perf_counter() - t0
        b = int(b) if b is not None else getattr(_last(est), "n_bits", None)
        scores = evaluate_fitted(
            est,
            X[sp.query],
            X[sp.database],
            **relevant,
            n_bits=b,
            metrics=metrics,
            map_protocol=map_protocol,
            top_k=top_k,
            search_k=search_k,
            chunk_size=chunk_size,
            progress=progress,
        )
        row = {
            "method": name,
            "protocol": sp.get("protocol") or "custom",
            "relevance": relevance,
            "n_bits": b,
            **scores,
            "fit_s": fit_s,
        }
        if verbose:
            print(
                f"[evaluate] {name} {row['n_bits']} bits: "
                + ", ".join(
                    f"{k}={row[k]:.4f}" for k in metrics if k in row and k != "pr_curve"
                ),
                flush=True,
            )
        rows.append(row)
    return rows
