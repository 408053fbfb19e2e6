"""Retrieval metrics on rankings: mAP variants, precision, PR curves, recall@R.

Relevance is label-based everywhere: with single-label targets (1-D) a database
item is relevant to a query when the labels are equal; with multi-label targets
(2-D 0/1 indicator matrices) when they share at least one label.
"""

from numbers import Integral

import numpy as np

from skhash._kernels import ranking as _rk

_NORMALIZE = ("relevant", "retrieved")
_INTERPOLATION = ("none", "trapezoid")
_ZERO_RELEVANT = ("zero", "drop", "drop-database")
_TIES = ("stable", "average")

#: Named mAP protocols: the keywords each one fixes. ``top_k`` is fixed to
#: ``None`` (full ranking) by the full-ranking presets and left to the user by
#: the @K presets.
PROTOCOLS = {
    "full": {
        "top_k": None,
        "normalize": "relevant",
        "interpolation": "none",
        "zero_relevant": "zero",
    },
    "sdh": {
        "top_k": None,
        "normalize": "relevant",
        "interpolation": "none",
        "zero_relevant": "zero",
    },
    "bdnn": {
        "top_k": None,
        "normalize": "relevant",
        "interpolation": "trapezoid",
        "zero_relevant": "zero",
    },
    "hashnet-pytorch": {
        "normalize": "retrieved",
        "interpolation": "none",
        "zero_relevant": "drop",
    },
    "hashnet-caffe": {
        "normalize": "retrieved",
        "interpolation": "none",
        "zero_relevant": "drop-database",
    },
    "deephash": {
        "normalize": "retrieved",
        "interpolation": "none",
        "zero_relevant": "zero",
    },
}

_DEFAULTS = {"normalize": "relevant", "interpolation": "none", "zero_relevant": "zero"}


# --------------------------------------------------------------------------
# validation helpers (shared with the scorers)
# --------------------------------------------------------------------------
def _check_choice(value, name, choices):
    if value not in choices:
        raise ValueError(
            f"{name} must be one of {', '.join(map(repr, choices))}; got {value!r}."
        )
    return value


def _check_int(value, name, low=1):
    if isinstance(value, bool) or not isinstance(value, Integral):
        raise ValueError(f"{name} must be an integer >= {low}; got {value!r}.")
    if value < low:
        raise ValueError(f"{name} must be an integer >= {low}; got {value}.")
    return int(value)


def resolve_map_params(
    *,
    protocol=None,
    top_k=None,
    normalize=None,
    interpolation=None,
    zero_relevant=None,
    ties="stable",
):
    """Resolve a protocol preset and explicit keywords into one mAP setting.

    Returns a dict with keys ``top_k``, ``normalize``, ``interpolation``,
    ``zero_relevant`` and ``ties``. An explicit keyword that contradicts the
    preset raises a ``ValueError``.
    """
    given = {
        "top_k": top_k,
        "normalize": normalize,
        "interpolation": interpolation,
        "zero_relevant": zero_relevant,
    }
    params = dict(given)
    if protocol is not None:
        if protocol not in PROTOCOLS:
            raise ValueError(
                f"Unknown protocol {protocol!r}; known protocols: "
                f"{', '.join(map(repr, PROTOCOLS))}."
            )
        for key, preset in PROTOCOLS[protocol].items():
            if given[key] is not None and given[key] != preset:
                what = (
                    "the full ranking (top_k=None)"
                    if key == "top_k"
                    else (f"{key}={preset!r}")
                )
                raise ValueError(
                    f"protocol={protocol!r} uses {what}, which conflicts with "
                    f"{key}={given[key]!r}. Drop {key} or drop protocol and set "
                    "every keyword yourself."
                )
            params[key] = preset
    for key, default in _DEFAULTS.items():
        if params[key] is None:
            params[key] = default
    _check_choice(params["normalize"], "normalize", _NORMALIZE)
    _check_choice(params["interpolation"], "interpolation", _INTERPOLATION)
    _check_choice(params["zero_relevant"], "zero_relevant", _ZERO_RELEVANT)
    params["ties"] = _check_choice(ties, "ties", _TIES)
    if params["top_k"] is not None:
        params["top_k"] = _check_int(params["top_k"], "top_k")
    return params


def check_targets(y_query, y_database):
    """Validate query/database targets; return arrays ready for the kernels.

    Single-label targets are re-coded as int64 class ids shared by both arrays;
    multi-label targets become bool indicator matrices.
    """
    yq = np.asarray(y_query)
    ydb = np.asarray(y_database)
    for y, name in ((yq, "y_query"), (ydb, "y_database")):
        if y.ndim not in (1, 2):
            raise ValueError(
                f"{name} must be 1-D class labels or a 2-D 0/1 multi-label "
                f"indicator matrix; got an array with {y.ndim} dimension(s)."
            )
        if y.shape[0] == 0:
            raise ValueError(f"{name} is empty; at least one sample is needed.")
        if y.dtype.kind in "fc" and not np.isfinite(y).all():
            raise ValueError(f"{name} contains NaN or infinity.")
    if yq.ndim != ydb.ndim:
        raise ValueError(
            f"y_query is {yq.ndim}-D but y_database is {ydb.ndim}-D; both must be "
            "single-label (1-D) or both multi-label (2-D indicator)."
        )
    if yq.ndim == 2:
        if yq.shape[1] != ydb.shape[1]:
            raise ValueError(
                f"y_query has {yq.shape[1]} label columns but y_database has "
                f"{ydb.shape[1]}; multi-label indicators must have the same width."
            )
        for y, name in ((yq, "y_query"), (ydb, "y_database")):
            if not np.isin(y, (0, 1)).all():
                raise ValueError(
                    f"{name} is 2-D, so it must be a 0/1 multi-label indicator "
                    "matrix; it contains other values."
                )
        return yq.astype(bool), ydb.astype(bool)
    try:
        _, codes = np.unique(np.concatenate([ydb, yq]), return_inverse=True)
    except TypeError as exc:
        raise ValueError(
            "y_query and y_database labels cannot be compared (mixed types?)."
        ) from exc
    codes = codes.astype(np.int64)
    return codes[len(ydb) :], codes[: len(ydb)]


def check_ranking(ranking, n_queries, n_database, name="ranking"):
    """Validate a ``(n_queries, n_ranked)`` array of database indices."""
    r = np.asarray(ranking)
    if r.ndim != 2:
        raise ValueError(
            f"{name} must be a 2-D array (n_queries, n_ranked) of database "
            f"indices; got an array with {r.ndim} dimension(s)."
        )
    if r.dtype.kind not in "iu":
        if r.size and r.dtype.kind == "f" and np.array_equal(r, np.round(r)):
            r = r.astype(np.int64)
        else:
            raise ValueError(f"{name} must hold integer indices; got {r.dtype}.")
    if r.shape[0] != n_queries:
        raise ValueError(
            f"{name} has {r.shape[0]} rows but y_query has {n_queries} queries."
        )
    if r.shape[1] == 0:
        raise ValueError(f"{name} has no columns; rank at least one item.")
    if r.shape[1] > n_database:
        raise ValueError(
            f"{name} has {r.shape[1]} columns but the database has only "
            f"{n_database} items."
        )
    if r.size and (r.min() < 0 or r.max() >= n_database):
        raise ValueError(
            f"{name} holds indices outside [0, {n_database}), the database "
            "(y_database) range."
        )
    return r


def check_distances(distances, shape, name="distances"):
    """Validate real distances of a given shape."""
    d = np.asarray(distances)
    if d.dtype.kind not in "iuf":
        raise ValueError(f"{name} must be numeric; got dtype {d.dtype}.")
    if d.shape != tuple(shape):
        raise ValueError(
            f"{name} has shape {d.shape} but must have the shape of the ranking, "
            f"{tuple(shape)}."
        )
    if d.dtype.kind == "f" and not np.isfinite(d).all():
        raise ValueError(f"{name} contains NaN or infinity.")
    return d


def _check_sorted(d, name="distances"):
    if d.shape[1] > 1 and (np.diff(d, axis=1) < 0).any():
        raise ValueError(
            f"{name} must be non-decreasing along each row (a ranking best first) "
            "for ties='average'."
        )


def _effective_k(top_k, n_ranked, n_database, name="top_k"):
    if top_k is None:
        return n_ranked
    if top_k > n_ranked:
        if n_ranked == n_database:
            return n_ranked
        raise ValueError(
            f"{name}={top_k} exceeds the {n_ranked} ranked items per query; pass a "
            f"ranking of at least {top_k} items (or of the whole database)."
        )
    return top_k


def _check_tail_complete(d, K, n_database, what="top_k"):
    ok = _rk.tail_block_complete(d, K, n_database)
    if not ok.all():
        q = int(np.flatnonzero(~ok)[0])
        raise ValueError(
            f"ties='average' needs the whole block of items tied at rank {K} "
            f"({what}), but for query {q} that block runs to the end of the "
            f"{d.shape[1]}-item ranking, so it may continue beyond it. Pass a "
            "longer ranking (more neighbours than the cut-off, until the distance "
            "changes) or the full ranking of the database."
        )


def ap_per_query(yq, ydb, ranking, distances, params, R=None):
    """Per-query AP from validated inputs (no checks; used by the scorers)."""
    n_db = len(ydb)
    K = _effective_k(params["top_k"], ranking.shape[1], n_db)
    if R is None:
        R = _rk.n_relevant(yq, ydb)
    ranked = ranking[:, :K] if params["ties"] == "stable" else ranking
    rel = _rk.relevance(yq, ydb, ranked)
    return ap_from_relevance(rel, R, distances, params, n_db)


def ap_from_relevance(rel, R, distances, params, n_database):
    """Per-query AP of ranked relevance flags, under resolved mAP ``params``.

    The AP of every metric and scorer of the package, whatever defines
    relevance (labels, or membership of true Euclidean neighbour sets).

    Parameters
    ----------
    rel : ndarray of bool, shape (n_queries, n_ranked)
        Relevance of the ranked items, best first.
    R : ndarray of int, shape (n_queries,)
        Relevant items of each query in the whole database.
    distances : ndarray of shape (n_queries, n_ranked) or None
        Distances of the ranked items (``ties="average"`` only).
    params : dict
        From :func:`resolve_map_params`.
    n_database : int
        Database size (a ranking of the whole database may be shorter than
        ``top_k``).

    Returns
    -------
    ap : ndarray of float64, shape (n_queries,)
        NaN for the queries dropped by ``zero_relevant``.
    """
    K = _effective_k(params["top_k"], rel.shape[1], n_database)
    kw = {
        "normalize": params["normalize"],
        "interpolation": params["interpolation"],
        "zero_relevant": params["zero_relevant"],
    }
    if params["ties"] == "stable":
        return _rk.average_precision_stable(rel, R, K, **kw)
    return _rk.average_precision_tie_average(rel, distances, R, K, **kw)


def _prepare(y_query, y_database, ranking, distances, ties, top_k):
    yq, ydb = check_targets(y_query, y_database)
    ranking = check_ranking(ranking, len(yq), len(ydb))
    d = None
    if distances is not None:
        d = check_distances(distances, ranking.shape)
    if ties == "average":
        if d is None:
            raise ValueError(
                "ties='average' needs the distances of the ranked items "
                "(distances=...) to find the tied blocks."
            )
        _check_sorted(d)
        K = _effective_k(top_k, ranking.shape[1], len(ydb))
        _check_tail_complete(d, K, len(ydb))
    return yq, ydb, ranking, d


def average_precision(
    y_query,
    y_database,
    ranking,
    *,
    distances=None,
    top_k=None,
    protocol=None,
    normalize=None,
    interpolation=None,
    zero_relevant=None,
    ties="stable",
):
    """Average precision (AP) of each query's ranking of the database.

    Let rel(k) be the relevance of the k-th ranked item, P(k) the precision of
    the first k items and K the cut-off (``top_k``, else the whole ``ranking``).

    * ``interpolation="none"``: AP = (1/Z) sum_{k<=K} P(k) rel(k).
    * ``interpolation="trapezoid"`` (UH-BDNN and SH-BDNN scripts; the
      Oxford-buildings AP): the j-th relevant item, at 0-based rank r, adds
      (1/Z) (p0 + p1) / 2 with p0 = (j - 1) / r (1 when r = 0), p1 = j / (r + 1).
    * ``normalize="relevant"``: Z = R, every relevant item in the database
      (counted from the labels, not from the ranking). ``"retrieved"``: Z = the
      relevant items in the first K (the Tsinghua "mAP@K" of HashNet, DHN, DQN
      and DeepHash-pytorch).

    Parameters
    ----------
    y_query : array-like of shape (n_queries,) or (n_queries, n_labels)
        Query labels, or a 0/1 multi-label indicator matrix.
    y_database : array-like of shape (n_database,) or (n_database, n_labels)
        Database labels, of the same kind as ``y_query``.
    ranking : array-like of int, shape (n_queries, n_ranked)
        Database indices, best first, e.g. the indices returned by
        ``HammingNeighbors.kneighbors``.
    distances : array-like of shape (n_queries, n_ranked), default=None
        The distances of the ranked items, non-decreasing along rows; needed
        for ``ties="average"`` only.
    top_k : int, default=None
        Score the first ``top_k`` items (``None``: the whole ``ranking``). A
        ``top_k`` larger than a full ranking of the database is clipped.
    protocol : {"full", "sdh", "bdnn", "hashnet-pytorch", "hashnet-caffe", \
"deephash"}, default=None
        Named preset that sets ``normalize``, ``interpolation``,
        ``zero_relevant`` (and ``top_k=None`` for the full-ranking presets);
        see :func:`mean_average_precision`. An explicit keyword that contradicts
        the preset raises a ``ValueError``.
    normalize : {"relevant", "retrieved"}, default=None
        The divisor Z above; ``None`` means ``"relevant"`` unless ``protocol``
        sets it.
    interpolation : {"none", "trapezoid"}, default=None
        ``None`` means ``"none"`` unless ``protocol`` sets it.
    zero_relevant : {"zero", "drop", "drop-database"}, default=None
        What a query with Z = 0 scores (with ``normalize="retrieved"`` that is a
        query with no relevant item in its top K). ``"zero"``: 0. ``"drop"``:
        NaN, left out of the mean. ``"drop-database"``: NaN only for a query with
        no relevant item in the whole database, 0 for one that merely retrieves
        none in its top K (HashNet's Caffe script). ``None`` means ``"zero"``
        unless ``protocol`` sets it.
    ties : {"stable", "average"}, default="stable"
        ``"stable"``: the order given (ties by database index for a
        ``kneighbors`` ranking). ``"average"``: the expected AP under a uniformly
        random order inside each block of equal distance (closed form; with
        ``normalize="retrieved"``, exact over the hypergeometric number of
        relevant items of the block at rank K that fall in the top K; with
        ``zero_relevant="drop"``, conditional on at least one hit, NaN when no
        order has one). With a cut-off K, the ranking must extend to the end of
        the tied block at rank K (more items than K, until the distance
        changes, or the whole database); otherwise a ``ValueError`` is raised,
        since the rest of that block is unknown.

    Returns
    -------
    ap : ndarray of float64, shape (n_queries,)
        Per-query AP; NaN for the queries dropped by ``zero_relevant``.

    See Also
    --------
    mean_average_precision : The mean over queries, with the protocol table.

    References
    ----------
    F. McSherry and M. Najork, "Computing information retrieval performance
    measures efficiently in the presence of tied scores", ECIR 2008.

    Examples
    --------
    >>> import numpy as np
    >>> from skhash.metrics import average_precision
    >>> y_query = np.array([0, 1])
    >>> y_database = np.array([0, 1, 0, 1])
    >>> ranking = np.array([[0, 1, 2, 3], [0, 1, 2, 3]])
    >>> average_precision(y_query, y_database, ranking).round(3)
    array([0.833, 0.5  ])
    >>> distances = np.array([[0, 1, 1, 2], [0, 1, 1, 2]])
    >>> average_precision(y_query, y_database, ranking, distances=distances,
    ...                   ties="average").round(3)
    array([0.917, 0.458])
    """
    params = resolve_map_params(
        protocol=protocol,
        top_k=top_k,
        normalize=normalize,
        interpolation=interpolation,
        zero_relevant=zero_relevant,
        ties=ties,
    )
    yq, ydb, ranking, d = _prepare(
        y_query, y_database, ranking, distances, params["ties"], params["top_k"]
    )
    return ap_per_query(yq, ydb, ranking, d, params)


def _nanmean(values):
    values = np.asarray(values, dtype=np.float64)
    keep = ~np.isnan(values)
    return float(values[keep].mean()) if keep.any() else float("nan")


def mean_average_precision(
    y_query,
    y_database,
    ranking,
    *,
    distances=None,
    top_k=None,
    protocol=None,
    normalize=None,
    interpolation=None,
    zero_relevant=None,
    ties="stable",
):
    """Mean average precision (mAP) of rankings of the database.

    The mean of :func:`average_precision` over the queries that are not dropped
    by ``zero_relevant`` (NaN when every query is dropped). The published
    numbers use different AP variants; ``protocol`` names them:

    ======================= ====== =========== ============= ===============
    protocol                top_k  normalize   interpolation zero_relevant
    ======================= ====== =========== ============= ===============
    ``"full"``              None   relevant    none          zero
    ``"sdh"``               None   relevant    none          zero
    ``"bdnn"``              None   relevant    trapezoid     zero
    ``"hashnet-pytorch"``   K      retrieved   none          drop
    ``"hashnet-caffe"``     K      retrieved   none          drop-database
    ``"deephash"``          K      retrieved   none          zero
    ======================= ====== =========== ============= ===============

    * ``"full"`` / ``"sdh"``: non-interpolated AP over the full Hamming ranking
      divided by R, queries with R = 0 count 0 (SDH's ``cat_apcal``, LDPSH's
      mex code; DSH's script is the same when every query has a relevant item).
    * ``"bdnn"``: the trapezoid rule of the UH-BDNN / SH-BDNN evaluation scripts
      over the full ranking, divided by R, R = 0 counts 0.
    * ``"hashnet-pytorch"``: HashNet's PyTorch ``test.py``: AP@K divided by the
      relevant items in the top K, queries with none there dropped from the mean
      (which inflates mAP).
    * ``"hashnet-caffe"``: HashNet's Caffe ``predict_parallel.py``: as above,
      but only queries with no relevant item in the whole database are dropped;
      a query with no hit in its top K counts 0.
    * ``"deephash"``: DeepHash-pytorch ``CalcTopMap`` and DVSQ/DQN: AP@K divided
      by the relevant items in the top K, no hit counts 0.

    The @K presets leave ``top_k`` to you (the papers use 1,000 on ImageNet,
    5,000 on NUS-WIDE and MS-COCO, 54,000 = the whole database on CIFAR-10).
    Ties: the reference scripts break them by database index (Matlab's stable
    ``sort``: SDH, DSH, BDNN) or arbitrarily (NumPy's default quicksort:
    HashNet, DeepHash-pytorch); no preset sets ``ties``, whose default,
    ``"stable"``, scores a ``kneighbors`` ranking with ties by index. Report the
    protocol and the tie rule next to every number.

    Parameters
    ----------
    y_query : array-like of shape (n_queries,) or (n_queries, n_labels)
        Query labels, or a 0/1 multi-label indicator matrix.
    y_database : array-like of shape (n_database,) or (n_database, n_labels)
        Database labels, of the same kind as ``y_query``.
    ranking : array-like of int, shape (n_queries, n_ranked)
        Database indices, best first (e.g. from ``HammingNeighbors.kneighbors``).
    distances : array-like of shape (n_queries, n_ranked), default=None
        Distances of the ranked items; needed for ``ties="average"`` only.
    top_k : int, default=None
        Cut-off K; ``None`` scores the whole ``ranking``.
    protocol : str, default=None
        One of the presets above. A keyword that contradicts it is a
        ``ValueError``.
    normalize : {"relevant", "retrieved"}, default=None
        ``None``: ``"relevant"`` unless ``protocol`` sets it.
    interpolation : {"none", "trapezoid"}, default=None
        ``None``: ``"none"`` unless ``protocol`` sets it.
    zero_relevant : {"zero", "drop", "drop-database"}, default=None
        ``None``: ``"zero"`` unless ``protocol`` sets it.
    ties : {"stable", "average"}, default="stable"
        See :func:`average_precision`.

    Returns
    -------
    score : float
        mAP over the non-dropped queries (NaN if every query is dropped).

    See Also
    --------
    average_precision : Per-query values and the exact definitions.
    skhash.metrics.make_map_scorer : The same metric as a scorer for
        ``GridSearchCV``.

    Examples
    --------
    >>> import numpy as np
    >>> from skhash.metrics import mean_average_precision
    >>> y_query = np.array([0, 1])
    >>> y_database = np.array([0, 1, 0, 1])
    >>> ranking = np.array([[0, 1, 2, 3], [1, 0, 3, 2]])
    >>> print(round(mean_average_precision(y_query, y_database, ranking), 3))
    0.833
    >>> print(round(mean_average_precision(y_query, y_database, ranking,
    ...                                    protocol="deephash", top_k=2), 3))
    1.0
    """
    ap = average_precision(
        y_query,
        y_database,
        ranking,
        distances=distances,
        top_k=top_k,
        protocol=protocol,
        normalize=normalize,
        interpolation=interpolation,
        zero_relevant=zero_relevant,
        ties=ties,
    )
    return _nanmean(ap)


def precision_at_k(y_query, y_database, ranking, k, *, distances=None, ties="stable"):
    """Mean precision of the first ``k`` ranked items (precision@k).

    Per query, the fraction of relevant items among the first ``k`` of
    ``ranking``; averaged over all queries (precision@N curves of the DHN,
    HashNet and DSH papers).

    Parameters
    ----------
    y_query : array-like of shape (n_queries,) or (n_queries, n_labels)
        Query labels, or a 0/1 multi-label indicator matrix.
    y_database : array-like of shape (n_database,) or (n_database, n_labels)
        Database labels, of the same kind as ``y_query``.
    ranking : array-like of int, shape (n_queries, n_ranked)
        Database indices, best first; ``n_ranked >= k``.
    k : int
        Number of leading items scored.
    distances : array-like of shape (n_queries, n_ranked), default=None
        Distances of the ranked items; needed for ``ties="average"`` only.
    ties : {"stable", "average"}, default="stable"
        ``"stable"``: the order given (ties by database index for a
        ``kneighbors`` ranking). ``"average"``: the expected precision under a
        random order inside tied blocks, i.e. the block straddling rank ``k``
        contributes its relevant fraction times the slots it has in the top
        ``k``; the ranking must then extend to the end of that block.

    Returns
    -------
    precision : float

    Examples
    --------
    >>> import numpy as np
    >>> from skhash.metrics import precision_at_k
    >>> y_query = np.array([0, 1])
    >>> y_database = np.array([0, 1, 0, 1])
    >>> ranking = np.array([[0, 1, 2, 3], [1, 3, 0, 2]])
    >>> print(precision_at_k(y_query, y_database, ranking, k=2))
    0.75
    """
    k = _check_int(k, "k")
    _check_choice(ties, "ties", _TIES)
    yq, ydb = check_targets(y_query, y_database)
    ranking = check_ranking(ranking, len(yq), len(ydb))
    if k > ranking.shape[1]:
        raise ValueError(
            f"k={k} exceeds the {ranking.shape[1]} ranked items per query."
        )
    if ties == "stable":
        rel = _rk.relevance(yq, ydb, ranking[:, :k])
        return float(_rk.precision_at_k(rel, k).mean())
    yq, ydb, ranking, d = _prepare(yq, ydb, ranking, distances, ties, k)
    rel = _rk.relevance(yq, ydb, ranking)
    return float(_rk.precision_at_k(rel, k, d).mean())


def _is_ragged(x):
    if isinstance(x, np.ndarray):
        return x.dtype == object
    try:
        arr = np.asarray(x)
    except ValueError:
        return True
    return arr.dtype == object


def _ragged_pairs(distances, indices, n_queries, n_database):
    if indices is None:
        raise ValueError(
            "distances is a ragged array (as from radius_neighbors), so indices "
            "(the matching database indices) are required."
        )
    if len(distances) != n_queries or len(indices) != n_queries:
        raise ValueError(
            f"distances and indices must have one row per query ({n_queries}); "
            f"got {len(distances)} and {len(indices)}."
        )
    dl = [np.asarray(row).ravel() for row in distances]
    il = [np.asarray(row).ravel() for row in indices]
    lengths = np.array([len(r) for r in dl], dtype=np.int64)
    if not np.array_equal(lengths, [len(r) for r in il]):
        raise ValueError("distances and indices rows have different lengths.")
    rows = np.repeat(np.arange(n_queries), lengths)
    d = np.concatenate(dl) if len(dl) else np.zeros(0)
    cols = np.concatenate(il) if len(il) else np.zeros(0, dtype=np.int64)
    if d.size == 0:
        d = d.astype(np.float64)
        cols = cols.astype(np.int64)
    d = check_distances(d, d.shape)
    if cols.dtype.kind not in "iu":
        raise ValueError(f"indices must hold integer indices; got {cols.dtype}.")
    if cols.size and (cols.min() < 0 or cols.max() >= n_database):
        raise ValueError(
            f"indices holds values outside [0, {n_database}), the database range."
        )
    return rows, cols, d


def precision_within_radius(y_query, y_database, distances, indices=None, *, radius=2):
    """Mean precision of the items within a Hamming radius (precision@r=2).

    Per query, every database item at distance ``<= radius`` is retrieved and
    the precision is relevant retrieved / retrieved; a query that retrieves
    nothing scores 0 and is still averaged in, as in SH-BDNN's
    ``HammRadiusPrecision`` and the thulab (DHN, DQN, HashNet) evaluation. KSH,
    SDH, SH-BDNN, DHN, DQN and HashNet report it at radius 2; it collapses for
    long codes, whose balls are mostly empty. Ties do not matter: a ball holds
    every tied item.

    Parameters
    ----------
    y_query : array-like of shape (n_queries,) or (n_queries, n_labels)
        Query labels, or a 0/1 multi-label indicator matrix.
    y_database : array-like of shape (n_database,) or (n_database, n_labels)
        Database labels, of the same kind as ``y_query``.
    distances : array-like
        One of: a dense ``(n_queries, n_database)`` distance matrix whose column
        j is database item j (``indices=None``; e.g.
        ``skhash.hamming_distance``); a dense ``(n_queries, n_ranked)`` array
        with matching ``indices`` (e.g. ``kneighbors`` output, which must then
        reach beyond ``radius`` for every query or cover the database); or the
        object arrays of variable-length rows returned by ``radius_neighbors``,
        with ``indices``.
    indices : array-like, default=None
        Database indices matching ``distances``.
    radius : int or float, default=2
        Inclusive radius.

    Returns
    -------
    precision : float

    Examples
    --------
    >>> import numpy as np
    >>> from skhash.metrics import precision_within_radius
    >>> y_query = np.array([0, 1])
    >>> y_database = np.array([0, 1, 0])
    >>> distances = np.array([[0, 1, 2], [3, 4, 5]])  # query 1: empty ball
    >>> print(round(precision_within_radius(y_query, y_database, distances), 3))
    0.333
    """
    if isinstance(radius, bool) or not np.isscalar(radius) or radius < 0:
        raise ValueError(f"radius must be a number >= 0; got {radius!r}.")
    yq, ydb = check_targets(y_query, y_database)
    n_q, n_db = len(yq), len(ydb)
    if _is_ragged(distances):
        rows, cols, d = _ragged_pairs(distances, indices, n_q, n_db)
    else:
        d = np.asarray(distances)
        if d.ndim != 2 or d.shape[0] != n_q:
            raise ValueError(
                f"distances must have one row per query ({n_q}); got shape {d.shape}."
            )
        if indices is None:
            if d.shape[1] != n_db:
                raise ValueError(
                    f"distances has {d.shape[1]} columns but the database has "
                    f"{n_db} items; pass indices for a partial ranking."
                )
            cols = np.broadcast_to(np.arange(n_db), d.shape)
        else:
            cols = check_ranking(indices, n_q, n_db, name="indices")
        d = check_distances(d, cols.shape)
        if d.shape[1] < n_db and (d.max(axis=1) <= radius).any():
            raise ValueError(
                f"For some query every one of the {d.shape[1]} ranked items lies "
                f"within radius={radius}, so the ball may hold more items than "
                "the ranking shows. Rank more items, or use radius_neighbors."
            )
        rows = np.broadcast_to(np.arange(n_q)[:, None], d.shape).ravel()
        cols, d = np.asarray(cols).ravel(), d.ravel()
    within = d <= radius
    rows, cols = rows[within], cols[within]
    rel = _rk.pair_relevance(yq, ydb, rows, cols)
    retrieved = np.bincount(rows, minlength=n_q)
    good = np.bincount(rows, weights=rel, minlength=n_q)
    prec = np.divide(good, retrieved, out=np.zeros(n_q), where=retrieved > 0)
    return float(prec.mean())


def precision_recall_curve(
    y_query, y_database, distances, *, n_bits=None, average="micro"
):
    """Precision and recall of Hamming balls of radius 0, 1, ..., ``n_bits``.

    At radius r every database item at distance ``<= r`` is retrieved. With
    ``average="micro"`` (default), counts are pooled over all query-database
    pairs: precision(r) = relevant retrieved pairs / retrieved pairs and
    recall(r) = relevant retrieved pairs / relevant pairs, the "good pairs"
    form of the PR-by-radius curves of the ITQ, KSH and SDH evaluation code
    (precision is 0 at a radius that retrieves nothing). ``average="macro"``
    averages per-query precision (0 for an empty ball, as in
    :func:`precision_within_radius`) and per-query recall (over the queries
    with at least one relevant item). Ties do not matter: a ball holds every
    tied item.

    Parameters
    ----------
    y_query : array-like of shape (n_queries,) or (n_queries, n_labels)
        Query labels, or a 0/1 multi-label indicator matrix.
    y_database : array-like of shape (n_database,) or (n_database, n_labels)
        Database labels, of the same kind as ``y_query``.
    distances : array-like of int, shape (n_queries, n_database)
        Dense Hamming distances, column j = database item j (e.g.
        ``skhash.hamming_distance(query_codes, database_codes)``).
    n_bits : int, default=None
        Largest radius (the code length); ``None``: the largest distance.
    average : {"micro", "macro"}, default="micro"
        How queries are combined, see above.

    Returns
    -------
    precision : ndarray of float64, shape (n_bits + 1,)
    recall : ndarray of float64, shape (n_bits + 1,)
    radius : ndarray of int, shape (n_bits + 1,)
        0, 1, ..., n_bits.

    Examples
    --------
    >>> import numpy as np
    >>> from skhash.metrics import precision_recall_curve
    >>> y_query = np.array([0])
    >>> y_database = np.array([0, 1, 0])
    >>> precision, recall, radius = precision_recall_curve(
    ...     y_query, y_database, np.array([[0, 1, 2]]), n_bits=2)
    >>> precision.round(3), recall, radius
    (array([1.   , 0.5  , 0.667]), array([0.5, 0.5, 1. ]), array([0, 1, 2]))
    """
    _check_choice(average, "average", ("micro", "macro"))
    yq, ydb = check_targets(y_query, y_database)
    n_q, n_db = len(yq), len(ydb)
    d = np.asarray(distances)
    if d.ndim != 2 or d.shape != (n_q, n_db):
        raise ValueError(
            f"distances must be the dense (n_queries, n_database) = ({n_q}, {n_db}) "
            f"distance matrix; got shape {d.shape}."
        )
    if d.dtype.kind not in "iu":
        if (
            d.dtype.kind == "f"
            and np.isfinite(d).all()
            and np.array_equal(d, np.round(d))
        ):
            d = d.astype(np.int64)
        else:
            raise ValueError("distances must be integer Hamming distances.")
    if d.size and d.min() < 0:
        raise ValueError("distances must be >= 0.")
    dmax = int(d.max())
    if n_bits is None:
        n_bits = dmax
    else:
        n_bits = _check_int(n_bits, "n_bits")
        if dmax > n_bits:
            raise ValueError(f"distances reach {dmax}, more than n_bits={n_bits}.")
    n_radii = n_bits + 1
    retrieved = np.zeros((n_q, n_radii), dtype=np.int64)
    good = np.zeros((n_q, n_radii), dtype=np.int64)
    for rows in _rk._query_blocks(n_q, n_db):
        rel = _rk.relevance(
            yq[rows], ydb, np.broadcast_to(np.arange(n_db), d[rows].shape)
        )
        nr = rel.shape[0]
        r_ids = np.broadcast_to(np.arange(nr)[:, None], rel.shape).ravel()
        ret, gd = _rk.cumulative_radius_counts(
            r_ids, d[rows].ravel(), rel.ravel(), nr, n_radii
        )
        retrieved[rows], good[rows] = ret, gd
    R = _rk.n_relevant(yq, ydb)
    if average == "micro":
        tot_ret, tot_good = retrieved.sum(axis=0), good.sum(axis=0)
        precision = np.divide(
            tot_good, tot_ret, out=np.zeros(n_radii), where=tot_ret > 0
        )
        recall = tot_good / R.sum() if R.sum() > 0 else np.zeros(n_radii)
    else:
        precision = np.divide(
            good, retrieved, out=np.zeros(good.shape), where=retrieved > 0
        ).mean(axis=0)
        has = R > 0
        recall = (
            (good[has] / R[has, None]).mean(axis=0) if has.any() else np.zeros(n_radii)
        )
    return precision, recall, np.arange(n_radii)


def recall_at_r(true_neighbors, ranking, r):
    """Recall@R of the approximate-nearest-neighbour protocol.

    With 1-D ``true_neighbors`` (the exact nearest neighbour of each query):
    the fraction of queries whose nearest neighbour appears among the first
    ``r`` ranked items (the Recall@R of Jégou et al.'s product quantization
    paper, used by PQ, OPQ and the FAISS benchmarks). With 2-D
    ``true_neighbors`` (the exact K nearest neighbours, e.g. Euclidean, as in
    UH-BDNN's protocol): the mean over queries of the fraction of those K found
    among the first ``r`` items (recall of K neighbours at R). The ranking is
    scored in the order given (ties by database index for a ``kneighbors``
    ranking).

    Parameters
    ----------
    true_neighbors : array-like of int, shape (n_queries,) or (n_queries, K)
        Database indices of each query's true nearest neighbour(s), e.g. from
        ``sklearn.neighbors.NearestNeighbors`` on the original features.
    ranking : array-like of int, shape (n_queries, n_ranked)
        Database indices ranked by the code distance, best first.
    r : int or array-like of int
        Number(s) of leading ranked items; each ``1 <= r <= n_ranked``.

    Returns
    -------
    recall : float or ndarray of float64
        A float for an integer ``r``, an array with one value per ``r``
        otherwise.

    Examples
    --------
    >>> import numpy as np
    >>> from skhash.metrics import recall_at_r
    >>> ranking = np.array([[3, 1, 2, 0], [0, 2, 1, 3]])
    >>> print(recall_at_r(np.array([1, 3]), ranking, 2))
    0.5
    >>> recall_at_r(np.array([[1, 2], [3, 0]]), ranking, [1, 2, 4])
    array([0.25, 0.5 , 1.  ])
    """
    tn = np.asarray(true_neighbors)
    if tn.ndim not in (1, 2) or tn.shape[0] == 0 or (tn.ndim == 2 and tn.shape[1] == 0):
        raise ValueError(
            "true_neighbors must be a non-empty 1-D (n_queries,) or 2-D "
            f"(n_queries, K) array of indices; got shape {tn.shape}."
        )
    if tn.dtype.kind not in "iu":
        raise ValueError(f"true_neighbors must hold integer indices; got {tn.dtype}.")
    if tn.min() < 0:
        raise ValueError("true_neighbors holds negative indices.")
    rk = np.asarray(ranking)
    if rk.ndim != 2 or rk.shape[0] != tn.shape[0] or rk.shape[1] == 0:
        raise ValueError(
            f"ranking must be 2-D with one row per query ({tn.shape[0]}) and at "
            f"least one column; got shape {rk.shape}."
        )
    if rk.dtype.kind not in "iu":
        raise ValueError(f"ranking must hold integer indices; got {rk.dtype}.")
    if rk.min() < 0:
        raise ValueError("ranking holds negative indices.")
    scalar = np.ndim(r) == 0
    rs = [r] if scalar else list(np.asarray(r).ravel())
    if not rs:
        raise ValueError("r is empty.")
    out = []
    tn2 = tn[:, None] if tn.ndim == 1 else tn
    for ri in rs:
        ri = _check_int(ri if not isinstance(ri, np.integer) else int(ri), "r")
        if ri > rk.shape[1]:
            raise ValueError(
                f"r={ri} exceeds the {rk.shape[1]} ranked items per query."
            )
        hits = _rk.recall_hits(tn2, rk, ri)
        out.append(float((hits / tn2.shape[1]).mean()))
    return out[0] if scalar else np.array(out)
