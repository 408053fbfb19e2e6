"""Retrieval metrics against naive references written from their definitions."""

import itertools

import numpy as np
import pytest

from skhash._kernels import ranking as rk
from skhash.metrics import (
    PROTOCOLS,
    average_precision,
    mean_average_precision,
    precision_at_k,
    precision_recall_curve,
    precision_within_radius,
    recall_at_r,
)

VARIANTS = [
    dict(normalize=n, interpolation=i, zero_relevant=z)
    for n in ("relevant", "retrieved")
    for i in ("none", "trapezoid")
    for z in ("zero", "drop", "drop-database")
]


# ---------------------------------------------------------------- references
def is_relevant(yq, ydb_item):
    yq, ydb_item = np.asarray(yq), np.asarray(ydb_item)
    if yq.ndim == 0:
        return bool(yq == ydb_item)
    return bool(any(a and b for a, b in zip(yq, ydb_item, strict=True)))


def naive_ap(yq, ydb, order, K, normalize, interpolation, zero_relevant):
    """AP of one query from the definition (non-interpolated AP), plain loops."""
    R = sum(is_relevant(yq, ydb[i]) for i in range(len(ydb)))
    total, j = 0.0, 0
    for r in range(K):
        if is_relevant(yq, ydb[order[r]]):
            j += 1
            p1 = j / (r + 1)
            if interpolation == "trapezoid":
                p0 = 1.0 if r == 0 else (j - 1) / r
                total += 0.5 * (p0 + p1)
            else:
                total += p1
    divisor = R if normalize == "relevant" else j
    if divisor == 0:
        if zero_relevant == "zero":
            return 0.0
        if zero_relevant == "drop":
            return np.nan
        return np.nan if R == 0 else 0.0
    return total / divisor


def tie_orders(row, dist):
    """Every order of ``row`` obtained by permuting blocks of equal distance."""
    blocks, start = [], 0
    for p in range(1, len(row) + 1):
        if p == len(row) or dist[p] != dist[start]:
            blocks.append(list(row[start:p]))
            start = p
    for combo in itertools.product(*(itertools.permutations(b) for b in blocks)):
        yield [i for block in combo for i in block]


def naive_ap_tie_average(yq, ydb, row, dist, K, variant):
    vals = np.array([naive_ap(yq, ydb, o, K, **variant) for o in tie_orders(row, dist)])
    if np.isnan(vals).all():
        return np.nan
    if variant["zero_relevant"] == "drop":  # conditional on a hit
        return vals[~np.isnan(vals)].mean()
    return vals.mean()


def make_data(rng, n_q, n_db, multilabel, n_dist=5, n_classes=4):
    if multilabel:
        yq = (rng.random((n_q, 5)) < 0.25).astype(int)
        ydb = (rng.random((n_db, 5)) < 0.25).astype(int)
    else:
        yq = rng.integers(0, n_classes, n_q)
        ydb = rng.integers(0, n_classes, n_db)
        yq[0] = n_classes + 7  # a query with no relevant item in the database
    full = rng.integers(0, n_dist, (n_q, n_db))
    ranking = np.stack([np.lexsort((np.arange(n_db), full[q])) for q in range(n_q)])
    dist = np.take_along_axis(full, ranking, axis=1)
    return yq, ydb, full, ranking, dist


# ---------------------------------------------------------------- kernels
@pytest.mark.parametrize("k", [None, 1, 7, 60])
@pytest.mark.parametrize("dtype", [np.int32, np.int64, np.float64])
def test_stable_ranking_matches_lexsort(k, dtype):
    rng = np.random.default_rng(0)
    d = rng.integers(0, 5, (6, 60)).astype(dtype)
    ref = np.stack([np.lexsort((np.arange(60), row)) for row in d])
    ref = ref if k is None else ref[:, :k]
    sd, idx = rk.stable_ranking(d, k)
    np.testing.assert_array_equal(idx, ref)
    np.testing.assert_array_equal(sd, np.take_along_axis(d, ref, axis=1))


def test_stable_ranking_large_distances():
    d = np.array([[70000, 3, 70000, 3, -1]])
    _, idx = rk.stable_ranking(d)
    np.testing.assert_array_equal(idx, [[4, 1, 3, 0, 2]])


# ---------------------------------------------------------------- AP, stable
@pytest.mark.parametrize("multilabel", [False, True])
@pytest.mark.parametrize("top_k", [None, 1, 13, 60, 500])
@pytest.mark.parametrize("variant", VARIANTS)
def test_average_precision_stable_matches_naive(multilabel, top_k, variant):
    rng = np.random.default_rng(1)
    yq, ydb, _, ranking, _ = make_data(rng, 12, 60, multilabel)
    got = average_precision(yq, ydb, ranking, top_k=top_k, **variant)
    K = 60 if top_k is None else min(top_k, 60)
    ref = [naive_ap(yq[q], ydb, ranking[q], K, **variant) for q in range(12)]
    np.testing.assert_allclose(got, ref, rtol=1e-12, atol=1e-15)
    m = mean_average_precision(yq, ydb, ranking, top_k=top_k, **variant)
    assert m == pytest.approx(np.nanmean(ref), rel=1e-12)


def test_truncated_ranking_normalised_by_all_relevant():
    yq = np.array([0])
    ydb = np.array([1, 0, 0, 0])
    ap = average_precision(yq, ydb, [[1, 0]])
    assert ap[0] == pytest.approx(1 / 3)  # R = 3 although only 2 are ranked
    ap = average_precision(yq, ydb, [[1, 0]], normalize="retrieved")
    assert ap[0] == 1.0


@pytest.mark.parametrize("multilabel", [False, True])
@pytest.mark.parametrize("protocol", list(PROTOCOLS))
def test_perfect_ranking_scores_one(multilabel, protocol):
    rng = np.random.default_rng(2)
    yq, ydb, _, _, _ = make_data(rng, 8, 40, multilabel)
    rel = np.array([[is_relevant(q, item) for item in ydb] for q in yq])
    yq = yq[rel.any(axis=1)]  # every query has a relevant item
    ranking = np.stack([np.argsort(~r, kind="stable") for r in rel[rel.any(axis=1)]])
    top_k = None if PROTOCOLS[protocol].get("top_k", 0) is None else 5
    assert mean_average_precision(
        yq, ydb, ranking, protocol=protocol, top_k=top_k
    ) == pytest.approx(1.0)


def test_protocol_presets_match_keywords():
    rng = np.random.default_rng(3)
    yq, ydb, _, ranking, _ = make_data(rng, 15, 60, False, n_classes=8)
    for name, preset in PROTOCOLS.items():
        kw = {k: v for k, v in preset.items() if k != "top_k"}
        top_k = None if "top_k" in preset else 10
        a = average_precision(yq, ydb, ranking, protocol=name, top_k=top_k)
        b = average_precision(yq, ydb, ranking, top_k=top_k, **kw)
        np.testing.assert_array_equal(a, b)
    # the @K presets differ in how zero-hit queries count
    k = 3
    pt = average_precision(yq, ydb, ranking, protocol="hashnet-pytorch", top_k=k)
    cf = average_precision(yq, ydb, ranking, protocol="hashnet-caffe", top_k=k)
    dh = average_precision(yq, ydb, ranking, protocol="deephash", top_k=k)
    assert np.isnan(pt).sum() > np.isnan(cf).sum() == 1
    assert not np.isnan(dh).any()
    np.testing.assert_array_equal(np.nan_to_num(cf), dh)


def test_protocol_conflicts_and_unknown():
    y = np.array([0, 1])
    r = np.array([[0, 1], [1, 0]])
    with pytest.raises(ValueError, match="conflicts with normalize='relevant'"):
        mean_average_precision(y, y, r, protocol="deephash", normalize="relevant")
    with pytest.raises(ValueError, match="full ranking.*top_k=5"):
        mean_average_precision(y, y, r, protocol="bdnn", top_k=5)
    with pytest.raises(ValueError, match="Unknown protocol 'foo'"):
        mean_average_precision(y, y, r, protocol="foo")
    # an explicit keyword equal to the preset is fine
    mean_average_precision(y, y, r, protocol="bdnn", interpolation="trapezoid")


def test_bdnn_trapezoid_example():
    # relevant at 0-based ranks 0 and 2 of 4, R = 2:
    # j=1,r=0: (1 + 1) / 2 = 1; j=2,r=2: (1/2 + 2/3) / 2 = 7/12
    ap = average_precision([0], [0, 1, 0, 1], [[0, 1, 2, 3]], protocol="bdnn")
    assert ap[0] == pytest.approx((1 + 7 / 12) / 2)


def test_all_dropped_gives_nan():
    m = mean_average_precision([5], [0, 1], [[0, 1]], zero_relevant="drop")
    assert np.isnan(m)


# ---------------------------------------------------------------- AP, ties average
@pytest.mark.parametrize("multilabel", [False, True])
@pytest.mark.parametrize("variant", VARIANTS)
def test_tie_average_matches_exhaustive_enumeration(multilabel, variant):
    rng = np.random.default_rng(4)
    n_db = 7
    for _ in range(6):
        yq, ydb, _, ranking, dist = make_data(
            rng, 3, n_db, multilabel, n_dist=3, n_classes=2
        )
        for top_k in (None, 1, 3, 5):
            K = n_db if top_k is None else top_k
            got = average_precision(
                yq,
                ydb,
                ranking,
                distances=dist,
                top_k=top_k,
                ties="average",
                **variant,
            )
            ref = [
                naive_ap_tie_average(yq[q], ydb, ranking[q], dist[q], K, variant)
                for q in range(3)
            ]
            np.testing.assert_allclose(got, ref, rtol=1e-10, atol=1e-12)


def test_tie_average_with_partial_ranking_past_the_block():
    # full ranking of 8; the tied block {2,3,4} straddles K = 4; pass only 6 items
    yq = np.array([0])
    ydb = np.array([0, 1, 0, 1, 0, 0, 1, 0])
    full_d = np.array([[0, 1, 2, 2, 2, 3, 4, 4]])
    ranking = np.arange(8)[None]
    variant = dict(normalize="retrieved", interpolation="none", zero_relevant="zero")
    ref = naive_ap_tie_average(yq[0], ydb, ranking[0], full_d[0], 4, variant)
    got = average_precision(
        yq,
        ydb,
        ranking[:, :6],
        distances=full_d[:, :6],
        top_k=4,
        ties="average",
        **variant,
    )
    assert got[0] == pytest.approx(ref)
    with pytest.raises(ValueError, match="tied at rank 4"):
        average_precision(
            yq, ydb, ranking[:, :5], distances=full_d[:, :5], top_k=4, ties="average"
        )
    with pytest.raises(ValueError, match="distances"):
        average_precision(yq, ydb, ranking, top_k=4, ties="average")
    with pytest.raises(ValueError, match="non-decreasing"):
        average_precision(yq, ydb, ranking, distances=full_d[:, ::-1], ties="average")


def test_tie_average_without_ties_equals_stable():
    rng = np.random.default_rng(5)
    yq, ydb, _, ranking, _ = make_data(rng, 5, 30, False)
    dist = np.tile(np.arange(30), (5, 1))
    for variant in VARIANTS:
        a = average_precision(yq, ydb, ranking, **variant, top_k=10)
        b = average_precision(
            yq, ydb, ranking, distances=dist, top_k=10, ties="average", **variant
        )
        np.testing.assert_allclose(a, b, rtol=1e-12)


def test_tie_average_large_block_monte_carlo():
    rng = np.random.default_rng(6)
    yq, ydb, _, ranking, dist = make_data(rng, 2, 60, False, n_dist=3)
    variant = dict(
        normalize="retrieved", interpolation="trapezoid", zero_relevant="zero"
    )
    got = average_precision(
        yq, ydb, ranking, distances=dist, top_k=25, ties="average", **variant
    )
    est = np.zeros(2)
    n_mc = 3000
    for _ in range(n_mc):
        key = rng.random(dist.shape)
        order = np.stack([np.lexsort((key[q], dist[q])) for q in range(2)])
        perm = np.take_along_axis(ranking, order, axis=1)
        est += average_precision(yq, ydb, perm, top_k=25, **variant)
    np.testing.assert_allclose(got, est / n_mc, atol=0.01)


# ---------------------------------------------------------------- precision@k
@pytest.mark.parametrize("multilabel", [False, True])
@pytest.mark.parametrize("k", [1, 5, 30, 60])
def test_precision_at_k_matches_naive(multilabel, k):
    rng = np.random.default_rng(7)
    yq, ydb, _, ranking, dist = make_data(rng, 10, 60, multilabel)
    ref = np.mean(
        [sum(is_relevant(yq[q], ydb[i]) for i in ranking[q, :k]) / k for q in range(10)]
    )
    assert precision_at_k(yq, ydb, ranking, k) == pytest.approx(ref)


def test_precision_at_k_tie_average_matches_enumeration():
    rng = np.random.default_rng(8)
    for _ in range(10):
        yq, ydb, _, ranking, dist = make_data(rng, 2, 7, False, n_dist=3, n_classes=2)
        for k in (1, 3, 6):
            ref = np.mean(
                [
                    np.mean(
                        [
                            sum(is_relevant(yq[q], ydb[i]) for i in o[:k]) / k
                            for o in tie_orders(ranking[q], dist[q])
                        ]
                    )
                    for q in range(2)
                ]
            )
            got = precision_at_k(yq, ydb, ranking, k, distances=dist, ties="average")
            assert got == pytest.approx(ref)


# ---------------------------------------------------------------- radius metrics
def naive_precision_within_radius(yq, ydb, full, radius):
    out = []
    for q in range(len(yq)):
        ball = [i for i in range(len(ydb)) if full[q, i] <= radius]
        good = sum(is_relevant(yq[q], ydb[i]) for i in ball)
        out.append(good / len(ball) if ball else 0.0)
    return np.mean(out)


@pytest.mark.parametrize("multilabel", [False, True])
@pytest.mark.parametrize("radius", [0, 1, 2])
def test_precision_within_radius_dense_ragged_and_ranked(multilabel, radius):
    rng = np.random.default_rng(9)
    yq, ydb, full, ranking, dist = make_data(rng, 10, 60, multilabel, n_dist=12)
    full[1] += 5  # an empty ball
    ranking = np.stack([np.lexsort((np.arange(60), full[q])) for q in range(10)])
    dist = np.take_along_axis(full, ranking, axis=1)
    ref = naive_precision_within_radius(yq, ydb, full, radius)
    assert precision_within_radius(yq, ydb, full, radius=radius) == pytest.approx(ref)
    got = precision_within_radius(yq, ydb, dist[:, :40], ranking[:, :40], radius=radius)
    assert got == pytest.approx(ref)
    ragged_d = np.empty(10, dtype=object)
    ragged_i = np.empty(10, dtype=object)
    for q in range(10):
        inside = np.flatnonzero(full[q] <= radius)
        ragged_d[q], ragged_i[q] = full[q, inside], inside
    got = precision_within_radius(yq, ydb, ragged_d, ragged_i, radius=radius)
    assert got == pytest.approx(ref)


def test_precision_within_radius_all_empty_and_errors():
    assert precision_within_radius([0, 1], [0, 1], [[5, 5], [5, 5]]) == 0.0
    with pytest.raises(ValueError, match="ball may hold more"):
        precision_within_radius([0], [0, 1, 0], [[0, 1]], [[0, 1]], radius=2)
    with pytest.raises(ValueError, match="indices"):
        ragged = np.empty(1, dtype=object)
        ragged[0] = np.array([0])
        precision_within_radius([0], [0, 1], ragged)
    with pytest.raises(ValueError, match="radius"):
        precision_within_radius([0], [0], [[0]], radius=-1)


@pytest.mark.parametrize("multilabel", [False, True])
@pytest.mark.parametrize("average", ["micro", "macro"])
def test_precision_recall_curve_matches_naive(multilabel, average):
    rng = np.random.default_rng(10)
    yq, ydb, full, _, _ = make_data(rng, 8, 60, multilabel, n_dist=9)
    precision, recall, radius = precision_recall_curve(
        yq, ydb, full, n_bits=10, average=average
    )
    np.testing.assert_array_equal(radius, np.arange(11))
    rel = np.array([[is_relevant(yq[q], ydb[i]) for i in range(60)] for q in range(8)])
    for r in range(11):
        ball = full <= r
        good = (ball & rel).sum(axis=1)
        ret = ball.sum(axis=1)
        if average == "micro":
            p = good.sum() / ret.sum() if ret.sum() else 0.0
            rc = good.sum() / rel.sum()
        else:
            p = np.mean([g / t if t else 0.0 for g, t in zip(good, ret, strict=True)])
            has = rel.sum(axis=1) > 0
            rc = np.mean(good[has] / rel.sum(axis=1)[has])
        assert precision[r] == pytest.approx(p)
        assert recall[r] == pytest.approx(rc)
    assert recall[-1] == pytest.approx(1.0)


def test_precision_recall_curve_errors():
    with pytest.raises(ValueError, match="n_bits=1"):
        precision_recall_curve([0], [0, 1], [[0, 2]], n_bits=1)
    with pytest.raises(ValueError, match="dense"):
        precision_recall_curve([0], [0, 1], [[0]])
    with pytest.raises(ValueError, match="average"):
        precision_recall_curve([0], [0, 1], [[0, 1]], average="weighted")


# ---------------------------------------------------------------- recall@R
def test_recall_at_r_matches_naive():
    rng = np.random.default_rng(11)
    ranking = np.stack([rng.permutation(50) for _ in range(9)])
    nn1 = rng.integers(0, 50, 9)
    nnk = np.stack([rng.choice(50, 5, replace=False) for _ in range(9)])
    for r in (1, 3, 10, 50):
        ref1 = np.mean([nn1[q] in ranking[q, :r] for q in range(9)])
        refk = np.mean([sum(t in ranking[q, :r] for t in nnk[q]) / 5 for q in range(9)])
        assert recall_at_r(nn1, ranking, r) == pytest.approx(ref1)
        assert recall_at_r(nnk, ranking, r) == pytest.approx(refk)
    np.testing.assert_allclose(
        recall_at_r(nnk, ranking, [1, 50]),
        [recall_at_r(nnk, ranking, 1), 1.0],
    )
    with pytest.raises(ValueError, match="r=51"):
        recall_at_r(nn1, ranking, 51)
    with pytest.raises(ValueError, match="r must be"):
        recall_at_r(nn1, ranking, 0)
    with pytest.raises(ValueError, match="one row per query"):
        recall_at_r(nn1[:3], ranking, 1)


# ---------------------------------------------------------------- validation
@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(y_query=[0, 1, 2]), "3 queries"),
        (dict(ranking=[[0, 5], [1, 0]]), r"outside \[0, 3\)"),
        (dict(ranking=[[0, -1], [1, 0]]), "outside"),
        (dict(ranking=[0, 1]), "2-D"),
        (dict(ranking=[[0.5, 1], [1, 0]]), "integer"),
        (dict(ranking=[[0, 1, 2, 0], [0, 1, 2, 0]]), "only 3 items"),
        (dict(distances=[[0, 1, 2], [0, 1, 2]]), "shape"),
        (dict(y_database=[[0, 1], [1, 0], [1, 1]]), "1-D but y_database is 2-D"),
        (dict(y_query=[[0, 2], [1, 0]], y_database=[[0, 1], [1, 0], [1, 1]]), "0/1"),
        (dict(y_query=[0.0, np.nan]), "NaN"),
        (dict(top_k=0), "top_k must be"),
        (dict(top_k=2.5), "top_k must be"),
        (dict(normalize="all"), "normalize must be"),
        (dict(ties="random"), "ties must be"),
        (dict(zero_relevant="nan"), "zero_relevant must be"),
        (dict(interpolation="linear"), "interpolation must be"),
    ],
)
def test_average_precision_bad_input(kwargs, match):
    args = dict(y_query=[0, 1], y_database=[0, 1, 0], ranking=[[0, 1], [1, 0]])
    args.update(kwargs)
    with pytest.raises(ValueError, match=match):
        average_precision(
            args.pop("y_query"), args.pop("y_database"), args.pop("ranking"), **args
        )


def test_top_k_beyond_partial_ranking_raises():
    with pytest.raises(ValueError, match="top_k=3 exceeds"):
        average_precision([0], [0, 1, 0, 1], [[0, 1]], top_k=3)
    # clipped on a full ranking (e.g. CIFAR-10's K = 54,000 = database)
    ap = average_precision([0], [0, 1], [[0, 1]], top_k=10)
    assert ap[0] == 1.0


def test_precision_at_k_bad_k():
    with pytest.raises(ValueError, match="k must be"):
        precision_at_k([0], [0, 1], [[0, 1]], 0)
    with pytest.raises(ValueError, match="k=3 exceeds"):
        precision_at_k([0], [0, 1], [[0, 1]], 3)


def test_string_labels():
    ap = average_precision(["a", "b"], ["b", "a", "c"], [[1, 0, 2], [1, 0, 2]])
    np.testing.assert_allclose(ap, [1.0, 0.5])
