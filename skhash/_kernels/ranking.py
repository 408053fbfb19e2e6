"""Ranking kernels: relevance, stable rankings and average precision variants.

Arrays in, arrays out; no validation. Notation (one row per query):

* ``rel``   : bool ``(n_queries, n_ranked)``, relevance of the ranked items;
* ``R``     : int ``(n_queries,)``, relevant items in the whole database;
* ``K``     : number of leading ranked items that are scored (``K <= n_ranked``);
* ``d``     : ``(n_queries, n_ranked)`` distances, non-decreasing along rows.

Relevance: single-label ``y`` (1-D) means equal labels; multi-label ``y`` (2-D
0/1 indicator) means at least one shared label.
"""

import numpy as np
from scipy.special import gammaln

# Bound on the elements of one temporary block (queries x database).
_BLOCK_ELEMENTS = 1 << 22


def _query_blocks(n_queries, n_cols):
    step = max(1, _BLOCK_ELEMENTS // max(1, n_cols))
    for start in range(0, n_queries, step):
        yield slice(start, min(n_queries, start + step))


def _shares_label(yq, ydb):
    """``(n_q, n_db)`` bool: the 0/1 indicator rows share at least one label."""
    return (yq.astype(np.float32) @ ydb.astype(np.float32).T) > 0.5


def relevance(y_query, y_database, ranking):
    """Relevance ``(n_queries, n_ranked)`` of the ranked database items."""
    ranking = np.asarray(ranking)
    if y_query.ndim == 1:
        return y_database[ranking] == y_query[:, None]
    out = np.empty(ranking.shape, dtype=bool)
    for rows in _query_blocks(len(y_query), len(y_database)):
        sim = _shares_label(y_query[rows], y_database)
        out[rows] = np.take_along_axis(sim, ranking[rows], axis=1)
    return out


def n_relevant(y_query, y_database):
    """Number ``R`` of relevant database items for each query, ``(n_queries,)``."""
    if y_query.ndim == 1:
        labels, counts = np.unique(y_database, return_counts=True)
        pos = np.clip(np.searchsorted(labels, y_query), 0, len(labels) - 1)
        return np.where(labels[pos] == y_query, counts[pos], 0).astype(np.int64)
    out = np.empty(len(y_query), dtype=np.int64)
    for rows in _query_blocks(len(y_query), len(y_database)):
        out[rows] = _shares_label(y_query[rows], y_database).sum(axis=1)
    return out


def stable_ranking(distances, k=None):
    """Rank each row by (distance, column index), best first.

    Integer distances are cast to ``uint8``/``uint16`` where they fit, so that
    NumPy uses its radix sort. Returns ``(sorted_distances, indices)``, each of
    shape ``(n_rows, k)`` (``k=None``: all columns).
    """
    d = np.asarray(distances)
    n_rows, n_cols = d.shape
    if np.issubdtype(d.dtype, np.integer) and d.size:
        lo, hi = d.min(), d.max()
        if lo >= 0 and hi < 256:
            d = d.astype(np.uint8, copy=False)
        elif lo >= 0 and hi < 65536:
            d = d.astype(np.uint16, copy=False)
    if k is None or k >= n_cols:
        idx = np.argsort(d, axis=1, kind="stable")
    elif np.issubdtype(d.dtype, np.integer):
        # Unique keys (distance, index) make a partial selection exact.
        key = d.astype(np.int64) * n_cols + np.arange(n_cols)
        part = np.argpartition(key, k - 1, axis=1)[:, :k]
        order = np.argsort(np.take_along_axis(key, part, axis=1), axis=1)
        idx = np.take_along_axis(part, order, axis=1)
    else:
        idx = np.argsort(d, axis=1, kind="stable")[:, :k]
    return np.take_along_axis(np.asarray(distances), idx, axis=1), idx


def _finish(num, denom, R, hits_possible, zero_relevant):
    """Divide ``num`` by ``denom`` and apply the zero-relevant rule."""
    ap = np.divide(num, denom, out=np.zeros(len(num)), where=denom > 0)
    if zero_relevant == "drop":
        ap[~hits_possible] = np.nan
    elif zero_relevant == "drop-database":
        ap[R == 0] = np.nan
    return ap


def average_precision_stable(
    rel, R, K, *, normalize="relevant", interpolation="none", zero_relevant="zero"
):
    """Per-query AP of the first ``K`` ranked items, in the order given.

    For the j-th relevant item at 0-based rank r, the non-interpolated term is
    ``P(r + 1) = j / (r + 1)``; the trapezoid term (BDNN scripts) is
    ``(p0 + p1) / 2`` with ``p0 = (j - 1) / r`` (1 when r = 0), ``p1 = j / (r + 1)``.
    The sum is divided by ``R`` (``normalize="relevant"``) or by the relevant
    items in the top ``K`` (``"retrieved"``). ``zero_relevant``: ``"zero"``
    (0 when the divisor is 0), ``"drop"`` (NaN when it is 0) or
    ``"drop-database"`` (NaN only when ``R == 0``, otherwise 0).
    """
    n_q = rel.shape[0]
    rows, cols = np.nonzero(rel[:, :K])
    hits = np.bincount(rows, minlength=n_q)
    starts = np.cumsum(hits) - hits
    j = (np.arange(len(rows)) - np.repeat(starts, hits) + 1).astype(np.float64)
    k = cols + 1.0
    if interpolation == "trapezoid":
        p0 = np.divide(j - 1.0, cols, out=np.ones(len(j)), where=cols > 0)
        term = 0.5 * (p0 + j / k)
    else:
        term = j / k
    num = np.bincount(rows, weights=term, minlength=n_q)
    R = np.asarray(R)
    denom = R if normalize == "relevant" else hits
    return _finish(num, denom, R, denom > 0, zero_relevant)


def tie_blocks(d):
    """Block start ``a`` and exclusive end ``e`` of each position's tied block."""
    n_q, n_r = d.shape
    pos = np.broadcast_to(np.arange(n_r), (n_q, n_r))
    change = d[:, 1:] != d[:, :-1]
    start = np.ones((n_q, n_r), dtype=bool)
    start[:, 1:] = change
    a = np.maximum.accumulate(np.where(start, pos, 0), axis=1)
    end = np.ones((n_q, n_r), dtype=bool)
    end[:, :-1] = change
    e = np.minimum.accumulate(np.where(end, pos + 1, n_r)[:, ::-1], axis=1)[:, ::-1]
    return a, e


def tail_block_complete(d, K, n_database):
    """Whether each query's tied block at rank ``K`` ends inside the ranking."""
    if d.shape[1] >= n_database:
        return np.ones(d.shape[0], dtype=bool)
    return d[:, K - 1] != d[:, -1]


def _expected_terms(rel, d):
    """Expected per-position AP terms under random order inside tied blocks.

    For position p (1-based k = p + 1) inside a block starting at a, of size n
    with m relevant items and c relevant items before it, the i-th block slot
    (i = p - a + 1) has ``E[rel * cum] = (c + 1) m / n + (i - 1) m (m - 1) /
    (n (n - 1))`` and ``E[rel * (cum - 1)] = c m / n + (i - 1) m (m - 1) / (n (n -
    1))``; the AP terms divide these by k (precision at k) and k - 1 (precision
    at k - 1, the trapezoid's p0).
    """
    n_q, n_r = rel.shape
    a, e = tie_blocks(d)
    C = np.zeros((n_q, n_r + 1), dtype=np.int64)
    np.cumsum(rel, axis=1, out=C[:, 1:])
    c = np.take_along_axis(C, a, axis=1).astype(np.float64)
    m = np.take_along_axis(C, e, axis=1) - c
    n = (e - a).astype(np.float64)
    i = np.arange(n_r) - a + 1.0
    pair = np.divide(m * (m - 1), n * (n - 1), out=np.zeros_like(m), where=n > 1)
    frac = m / n
    k = np.arange(1.0, n_r + 1.0)
    p1 = ((c + 1.0) * frac + (i - 1.0) * pair) / k
    p0_num = c * frac + (i - 1.0) * pair
    p0 = np.divide(p0_num, k - 1.0, out=frac.copy(), where=k > 1.0)
    return a, e, C, p1, p0


def average_precision_tie_average(
    rel,
    d,
    R,
    K,
    *,
    normalize="relevant",
    interpolation="none",
    zero_relevant="zero",
):
    """Expected per-query AP@K under a uniformly random order inside tied blocks.

    ``rel`` and ``d`` must extend to the end of the tied block at rank ``K``
    (see :func:`tail_block_complete`). With ``normalize="relevant"`` the
    expectation is linear. With ``"retrieved"`` the divisor (hits in the top K)
    is random when the block at rank K straddles K: we condition on the number x
    of relevant items of that block that fall in the top K (hypergeometric) and
    average the exact conditional AP. ``zero_relevant="drop"`` then returns the
    expectation conditional on at least one hit (NaN when no order has a hit);
    ``"zero"`` and ``"drop-database"`` count no-hit orders as 0.
    """
    rel = np.asarray(rel, dtype=bool)
    n_q, n_r = rel.shape
    R = np.asarray(R)
    a, e, C, p1, p0 = _expected_terms(rel, d)
    term = 0.5 * (p0 + p1) if interpolation == "trapezoid" else p1
    if normalize == "relevant":
        num = term[:, :K].sum(axis=1)
        return _finish(num, R, R, R > 0, zero_relevant)

    rows = np.arange(n_q)
    aK = a[:, K - 1]
    eK = e[:, K - 1]
    cK = C[rows, aK].astype(np.float64)
    mK = (C[rows, eK] - C[rows, aK]).astype(np.float64)
    nK = (eK - aK).astype(np.float64)
    s = (K - aK).astype(np.float64)
    T = np.zeros((n_q, n_r + 1))
    np.cumsum(term, axis=1, out=T[:, 1:])
    prefix = T[rows, aK]

    H = np.concatenate([[0.0], np.cumsum(1.0 / np.arange(1.0, n_r + 1.0))])
    A1 = H[K] - H[aK]  # sum_{i=1..s} 1 / (aK + i)
    B1 = s - (aK + 1.0) * A1  # sum_{i=1..s} (i - 1) / (aK + i)
    A0 = H[K - 1] - H[np.maximum(aK - 1, 0)]  # sum over aK + i - 1 > 0
    B0 = s - aK * A0 - (aK == 0)

    xmax = int(np.minimum(mK, s).max())
    x = np.arange(xmax + 1.0)[None, :]
    m_, n_, s_ = mK[:, None], nK[:, None], s[:, None]
    ok = (x <= np.minimum(m_, s_)) & (x >= s_ - (n_ - m_))
    xs = np.where(ok, x, 0.0)
    logp = _logcomb(m_, xs) + _logcomb(n_ - m_, s_ - xs) - _logcomb(n_, s_)
    pmf = np.where(ok, np.exp(np.where(ok, logp, 0.0)), 0.0)
    q = np.divide(
        x * (x - 1.0),
        s_ * (s_ - 1.0),
        out=np.zeros_like(pmf + x),
        where=np.broadcast_to(s_ > 1.0, pmf.shape),
    )
    c_ = cK[:, None]
    strad1 = (c_ + 1.0) * (x / s_) * A1[:, None] + q * B1[:, None]
    if interpolation == "trapezoid":
        strad0 = c_ * (x / s_) * A0[:, None] + q * B0[:, None]
        strad0 = strad0 + np.where(aK[:, None] == 0, x / s_, 0.0)
        strad = 0.5 * (strad0 + strad1)
    else:
        strad = strad1
    hits = c_ + x
    ap_x = np.divide(
        prefix[:, None] + strad, hits, out=np.zeros_like(pmf), where=hits > 0
    )
    w = np.where(hits > 0, pmf, 0.0)
    expected = (w * ap_x).sum(axis=1)
    if zero_relevant == "drop":
        p_hit = w.sum(axis=1)
        out = np.full(n_q, np.nan)
        has = (cK + mK) > 0
        out[has] = expected[has] / p_hit[has]
        return out
    if zero_relevant == "drop-database":
        expected[R == 0] = np.nan
    return expected


def _logcomb(n, k):
    return gammaln(n + 1.0) - gammaln(k + 1.0) - gammaln(n - k + 1.0)


def precision_at_k(rel, K, d=None):
    """Per-query precision of the first K items (expected over ties if ``d``)."""
    rel = np.asarray(rel, dtype=bool)
    if d is None:
        return rel[:, :K].sum(axis=1) / K
    n_q = rel.shape[0]
    a, e = tie_blocks(d)
    rows = np.arange(n_q)
    aK, eK = a[:, K - 1], e[:, K - 1]
    C = np.zeros((n_q, rel.shape[1] + 1), dtype=np.int64)
    np.cumsum(rel, axis=1, out=C[:, 1:])
    c, m = C[rows, aK], C[rows, eK] - C[rows, aK]
    return (c + m * (K - aK) / (eK - aK)) / K


def cumulative_radius_counts(rows, d, rel, n_queries, n_radii):
    """Items and relevant items with distance ``<= r``, per query and radius.

    ``rows``, ``d``, ``rel`` are flat arrays over (query, item) pairs; pairs with
    ``d >= n_radii`` are ignored. Returns two int arrays ``(n_queries, n_radii)``.
    """
    keep = d < n_radii
    flat = rows[keep].astype(np.int64) * n_radii + d[keep].astype(np.int64)
    size = n_queries * n_radii
    retrieved = np.bincount(flat, minlength=size).reshape(n_queries, n_radii)
    good = np.bincount(flat, weights=rel[keep], minlength=size)
    good = good.reshape(n_queries, n_radii).astype(np.int64)
    return np.cumsum(retrieved, axis=1), np.cumsum(good, axis=1)


def recall_hits(true_neighbors, ranking, r):
    """Per-query count of ``true_neighbors`` entries among ``ranking[:, :r]``."""
    tn = np.asarray(true_neighbors, dtype=np.int64)
    top = np.sort(np.asarray(ranking[:, :r], dtype=np.int64), axis=1)
    n_q = tn.shape[0]
    base = int(max(tn.max(initial=0), top.max(initial=0))) + 1
    off = np.arange(n_q, dtype=np.int64)[:, None] * base
    hay = (top + off).ravel()
    needles = tn + off
    pos = np.minimum(np.searchsorted(hay, needles.ravel()), len(hay) - 1)
    found = (hay[pos] == needles.ravel()).reshape(tn.shape)
    return found.sum(axis=1)


def pair_relevance(y_query, y_database, rows, cols):
    """Relevance of flat (query ``rows``, database ``cols``) pairs."""
    if y_query.ndim == 1:
        return y_database[cols] == y_query[rows]
    out = np.empty(len(rows), dtype=bool)
    step = max(1, _BLOCK_ELEMENTS // max(1, y_query.shape[1]))
    for start in range(0, len(rows), step):
        sl = slice(start, start + step)
        out[sl] = (y_query[rows[sl]] & y_database[cols[sl]]).any(axis=1)
    return out
