"""Evaluate one method under one retrieval protocol: fit, encode, search, score.

:func:`evaluate` is the loop behind the benchmark tables: for each code length
it clones the estimator, fits it on the protocol's training set, encodes the
database and the queries, ranks the whole database for every query and scores
the ranking, returning one tidy row per code length.
"""

import time
from numbers import Integral

import numpy as np
from sklearn.base import clone
from sklearn.pipeline import Pipeline
from sklearn.utils import Bunch

from skhash.base import BaseQuantizer
from skhash.datasets import euclidean_ground_truth, retrieval_split
from skhash.metrics import precision_within_radius
from skhash.metrics._ranking import _nanmean, ap_from_relevance, resolve_map_params
from skhash.metrics._scorers import score_searcher
from skhash.neighbors import HammingNeighbors

__all__ = ["evaluate"]

_METRICS = ("map", "precision_radius2")


class _PrefitQuantizedSearcher:
    """Asymmetric-distance search over codes of an already fitted quantizer."""

    def __init__(self, encoder, codes, y):
        self.encoder, self.codes, self._fit_y = encoder, codes, y
        self.n_samples_fit_ = codes.shape[0]

    def kneighbors(self, X, n_neighbors, return_distance=True):
        from skhash._kernels.pq import adc_kneighbors

        T = _last(self.encoder).distance_tables(_head(self.encoder, X))
        dist, ind = adc_kneighbors(T, self.codes, n_neighbors)
        return (dist, ind) if return_distance else ind


def _last(est):
    return est[-1] if isinstance(est, Pipeline) else est


def _head(est, X):
    return est[:-1].transform(X) if isinstance(est, Pipeline) and len(est) > 1 else X


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


def _euclidean_map(nn, codes_q, gt, map_params, chunk=256):
    """mAP with relevance = membership of the true Euclidean neighbour sets.

    Scored by the metrics' own AP (:func:`~skhash.metrics._ranking.ap_from_relevance`)
    under ``map_params``: cut-off, divisor, interpolation and dropped queries
    as for label relevance; every query has ``gt.shape[1]`` relevant items.
    """
    n_db = nn.n_samples_fit_
    top_k = map_params["top_k"]
    n_ranked = n_db if top_k is None else min(top_k, n_db)
    aps = []
    for s in range(0, len(codes_q), chunk):
        _, ind = nn.kneighbors(codes_q[s : s + chunk], n_neighbors=n_ranked)
        g = np.sort(gt[s : s + chunk], axis=1)
        # row-wise membership test: offset every row so one sorted search works
        off = (np.arange(len(g), dtype=np.int64) * (n_db + 1))[:, None]
        flat = (g + off).ravel()
        pos = np.searchsorted(flat, (ind + off).ravel())
        pos = np.minimum(pos, len(flat) - 1)
        rel = (flat[pos] == (ind + off).ravel()).reshape(ind.shape)
        R = np.full(len(g), gt.shape[1])
        aps.append(ap_from_relevance(rel, R, None, map_params, n_db))
    return _nanmean(np.concatenate(aps))


def evaluate(
    estimator,
    X,
    y,
    *,
    protocol,
    split=None,
    n_bits=(16, 32, 64),
    metrics=_METRICS,
    map_protocol="full",
    top_k=None,
    random_state=0,
    verbose=0,
):
    """Fit, encode, search and score one method under one retrieval protocol.

    For each code length: clone ``estimator`` with that ``n_bits``, fit it on the
    protocol's training items (with their labels, which unsupervised methods
    ignore), encode the database and the queries, rank the whole database for
    each query (Hamming distance for hashers, asymmetric distance for
    quantizers; ties by database index) and score the ranking.

    Parameters
    ----------
    estimator : estimator or Pipeline
        A hasher or quantizer, or a Pipeline ending in one (e.g. a scaler then a
        hasher). Its ``n_bits`` (or ``<step>__n_bits``) parameter is varied.
    X : array-like of shape (n_samples, n_features)
        All vectors of the dataset.
    y : array-like of shape (n_samples,) or (n_samples, n_labels)
        Labels of all vectors.
    protocol : str or Bunch
        A name of :data:`skhash.datasets.PROTOCOLS`, or the Bunch returned by
        :func:`skhash.datasets.retrieval_split`.
    split : array-like, default=None
        The loaders' ``split`` field, for the protocols with an official
        train/test split.
    n_bits : sequence of int or None, default=(16, 32, 64)
        Code lengths; None evaluates the estimator with its own settings.
    metrics : sequence of str, default=("map", "precision_radius2")
        ``"map"``: mAP with the preset ``map_protocol`` and cut-off ``top_k``,
        for label and for Euclidean relevance alike;
        ``"precision_radius2"``: precision within Hamming radius 2 (label
        relevance and hashers only; a query retrieving nothing scores 0).
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
    verbose : int, default=0
        Print one line per code length.

    Returns
    -------
    rows : list of dict
        One row per code length: ``method``, ``protocol``, ``relevance``,
        ``n_bits``, each metric, ``fit_s``, ``encode_s``, ``search_s`` (ranking
        and scoring, after one untimed query that compiles the numba
        kernels).
        ``pandas.DataFrame(rows)`` makes a table.

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
    y = np.asarray(y)
    for m in metrics:
        if m not in _METRICS:
            raise ValueError(f"Unknown metric {m!r}; choose from {_METRICS}.")
    if isinstance(protocol, str):
        sp = retrieval_split(
            y, protocol=protocol, split=split, random_state=random_state
        )
    elif isinstance(protocol, Bunch):
        sp = protocol
    else:
        raise ValueError(
            "protocol must be a protocol name or the Bunch of retrieval_split, got "
            f"{type(protocol).__name__}."
        )
    map_params = resolve_map_params(protocol=map_protocol, top_k=top_k)
    relevance = sp.get("relevance", "label")
    name = type(_last(estimator)).__name__
    gt = None
    if relevance == "euclidean":
        gt = euclidean_ground_truth(X[sp.query], X[sp.database], sp.n_neighbors)
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
        est.fit(X[sp.train], y[sp.train])
        t1 = time.perf_counter()
        codes_db = est.transform(X[sp.database])
        quantizer = isinstance(_last(est), BaseQuantizer)
        codes_q = X[sp.query] if quantizer else est.transform(X[sp.query])
        t2 = time.perf_counter()
        if quantizer:
            nn = _PrefitQuantizedSearcher(est, np.asarray(codes_db), y[sp.database])
        else:
            nn = HammingNeighbors().fit(codes_db, y[sp.database])
        # One untimed query first: the first call compiles the numba kernels.
        nn.kneighbors(codes_q[:1], n_neighbors=1)
        t2_search = time.perf_counter()
        row = {
            "method": name,
            "protocol": sp.get("protocol") or "custom",
            "relevance": relevance,
            "n_bits": int(b) if b is not None else getattr(_last(est), "n_bits", None),
        }
        if "map" in metrics:
            if relevance == "euclidean":
                row["map"] = _euclidean_map(nn, codes_q, gt, map_params)
            else:
                row["map"] = score_searcher(
                    nn, codes_q, y[sp.query], protocol=map_protocol, top_k=top_k
                )
        if "precision_radius2" in metrics and not quantizer and relevance == "label":
            dists, inds = nn.radius_neighbors(codes_q, radius=2)
            row["precision_radius2"] = precision_within_radius(
                y[sp.query], y[sp.database], dists, inds, radius=2
            )
        t3 = time.perf_counter()
        row.update(fit_s=t1 - t0, encode_s=t2 - t1, search_s=t3 - t2_search)
        if verbose:
            print(
                f"[evaluate] {name} {row['n_bits']} bits: "
                + ", ".join(f"{k}={row[k]:.4f}" for k in metrics if k in row),
                flush=True,
            )
        rows.append(row)
    return rows
