"""skhash.evaluation.evaluate against the same steps written out by hand."""

import numpy as np
import pytest
from sklearn.datasets import load_digits
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils import Bunch

from skhash import (
    ITQ,
    LSH,
    PQ,
    SDH,
    HammingNeighbors,
    QuantizedNeighbors,
    hamming_distance,
)
from skhash.datasets import euclidean_ground_truth, retrieval_split
from skhash.evaluation import evaluate, evaluate_fitted, neighbor_targets, pr_counts
from skhash.metrics import (
    mean_average_precision,
    precision_recall_curve,
    precision_within_radius,
)


@pytest.fixture(scope="module")
def digits():
    X, y = load_digits(return_X_y=True)
    return X, y


def test_label_protocol_matches_manual(digits):
    X, y = digits
    sp = retrieval_split(y, n_query_per_class=10, n_train_per_class=50, random_state=1)
    rows = evaluate(LSH(random_state=0), X, y, protocol=sp, n_bits=[8, 24])
    assert [r["n_bits"] for r in rows] == [8, 24]
    for r in rows:
        h = LSH(n_bits=r["n_bits"], random_state=0).fit(X[sp.train])
        nn = HammingNeighbors().fit(h.transform(X[sp.database]), y[sp.database])
        q = h.transform(X[sp.query])
        assert r["map"] == pytest.approx(nn.score(q, y[sp.query]))
        d, i = nn.radius_neighbors(q, radius=2)
        ref = precision_within_radius(y[sp.query], y[sp.database], d, i, radius=2)
        assert r["precision_radius2"] == pytest.approx(ref)
        assert r["relevance"] == "label" and r["fit_s"] >= 0


@pytest.mark.parametrize("map_protocol", ["full", "bdnn"])
def test_euclidean_protocol_matches_indicator_labels(digits, map_protocol):
    X, y = digits
    sp = retrieval_split(y, n_query_per_class=5, database="rest", random_state=0)
    sp = Bunch(**{**sp, "relevance": "euclidean", "n_neighbors": 20})
    pipe = make_pipeline(StandardScaler(), ITQ(random_state=0))
    (row,) = evaluate(
        pipe, X, y, protocol=sp, n_bits=[16], map_protocol=map_protocol, metrics=["map"]
    )
    gt = euclidean_ground_truth(X[sp.query], X[sp.database], 20)
    yq = np.eye(len(sp.query), dtype=np.uint8)
    ydb = np.zeros((len(sp.database), len(sp.query)), np.uint8)
    ydb[gt, np.arange(len(sp.query))[:, None]] = 1
    h = make_pipeline(StandardScaler(), ITQ(n_bits=16, random_state=0)).fit(X[sp.train])
    _, ind = (
        HammingNeighbors()
        .fit(h.transform(X[sp.database]))
        .kneighbors(h.transform(X[sp.query]), n_neighbors=len(sp.database))
    )
    ref = mean_average_precision(yq, ydb, ind, protocol=map_protocol)
    assert row["map"] == pytest.approx(ref)


@pytest.mark.parametrize(
    "map_protocol, top_k",
    [("hashnet-pytorch", 30), ("hashnet-caffe", 30), ("deephash", 10), ("full", None)],
)
def test_euclidean_protocol_honours_the_cutoff_and_divisor(digits, map_protocol, top_k):
    # An @K protocol with Euclidean relevance: AP@K divided as the preset says,
    # queries dropped as the preset says, exactly as the label metrics count it.
    X, y = digits
    sp = retrieval_split(y, n_query_per_class=5, database="rest", random_state=0)
    sp = Bunch(**{**sp, "relevance": "euclidean", "n_neighbors": 20})
    (row,) = evaluate(
        LSH(random_state=0),
        X,
        y,
        protocol=sp,
        n_bits=[8],
        map_protocol=map_protocol,
        top_k=top_k,
        metrics=["map"],
    )
    gt = euclidean_ground_truth(X[sp.query], X[sp.database], 20)
    yq = np.eye(len(sp.query), dtype=np.uint8)
    ydb = np.zeros((len(sp.database), len(sp.query)), np.uint8)
    ydb[gt, np.arange(len(sp.query))[:, None]] = 1
    h = LSH(n_bits=8, random_state=0).fit(X[sp.train])
    _, ind = (
        HammingNeighbors()
        .fit(h.transform(X[sp.database]))
        .kneighbors(h.transform(X[sp.query]), n_neighbors=len(sp.database))
    )
    ref = mean_average_precision(yq, ydb, ind, protocol=map_protocol, top_k=top_k)
    assert row["map"] == pytest.approx(ref)
    if top_k is not None:
        full = mean_average_precision(yq, ydb, ind, protocol="full")
        assert ref != pytest.approx(full)


def test_label_protocol_honours_the_cutoff(digits):
    X, y = digits
    sp = retrieval_split(y, n_query_per_class=10, random_state=1)
    (row,) = evaluate(
        LSH(random_state=0),
        X,
        y,
        protocol=sp,
        n_bits=[16],
        map_protocol="deephash",
        top_k=25,
        metrics=["map"],
    )
    h = LSH(n_bits=16, random_state=0).fit(X[sp.train])
    nn = HammingNeighbors().fit(h.transform(X[sp.database]), y[sp.database])
    _, ind = nn.kneighbors(h.transform(X[sp.query]), n_neighbors=25)
    ref = mean_average_precision(
        y[sp.query], y[sp.database], ind, protocol="deephash", top_k=25
    )
    assert row["map"] == pytest.approx(ref)
    with pytest.raises(ValueError, match="conflicts with top_k"):
        evaluate(LSH(), X, y, protocol=sp, n_bits=[8], map_protocol="full", top_k=5)


def test_quantizer_ranks_by_asymmetric_distance(digits):
    X, y = digits
    sp = retrieval_split(y, n_query_per_class=10, database="train", random_state=0)
    (row,) = evaluate(PQ(n_clusters=16, random_state=0), X, y, protocol=sp, n_bits=[16])
    qn = QuantizedNeighbors(PQ(n_bits=16, n_clusters=16, random_state=0))
    qn.fit(X[sp.database], y[sp.database])
    assert row["map"] == pytest.approx(qn.score(X[sp.query], y[sp.query]))
    assert "precision_radius2" not in row  # no Hamming ball for quantizer codes


def test_errors(digits):
    X, y = digits
    with pytest.raises(ValueError, match="Unknown metric"):
        evaluate(LSH(), X, y, protocol="cifar10-dnnh", metrics=["ndcg"])
    with pytest.raises(ValueError, match="protocol must be"):
        evaluate(LSH(), X, y, protocol=3)
    with pytest.raises(ValueError, match="n_bits must hold positive"):
        sp = retrieval_split(y, n_query_per_class=2, random_state=0)
        evaluate(LSH(), X, y, protocol=sp, n_bits=[0])


def test_search_time_excludes_the_first_call(digits, monkeypatch):
    # the first search call compiles numba kernels: not search time
    import time

    original = HammingNeighbors.kneighbors
    first = {"call": True}

    def slow_first(self, *a, **kw):
        if first["call"]:
            first["call"] = False
            time.sleep(0.5)
        return original(self, *a, **kw)

    monkeypatch.setattr(HammingNeighbors, "kneighbors", slow_first)
    X, y = digits
    sp = retrieval_split(y, n_query_per_class=5, random_state=0)
    (row,) = evaluate(LSH(random_state=0), X, y, protocol=sp, n_bits=[8])
    assert row["search_s"] < 0.4


def test_pr_counts_matches_precision_recall_curve():
    rng = np.random.default_rng(0)
    codes_q = rng.integers(0, 256, size=(6, 1), dtype=np.uint8)
    codes_db = rng.integers(0, 256, size=(40, 1), dtype=np.uint8)
    yq, ydb = rng.integers(0, 3, 6), rng.integers(0, 3, 40)
    D = hamming_distance(codes_q, codes_db)
    retrieved, good = pr_counts(D, yq[:, None] == ydb[None, :], 8)
    precision, recall, _ = precision_recall_curve(yq, ydb, D, n_bits=8)
    np.testing.assert_allclose(
        np.divide(good, retrieved, out=np.zeros(9), where=retrieved > 0), precision
    )
    np.testing.assert_allclose(good / good[-1], recall)


@pytest.mark.parametrize("chunk_size", [None, 7])
def test_pr_curve_pools_the_counts_of_every_query(digits, chunk_size):
    X, y = digits
    sp = retrieval_split(y, n_query_per_class=3, random_state=0)
    done = []
    (row,) = evaluate(
        LSH(random_state=0),
        X,
        y,
        protocol=sp,
        n_bits=[16],
        metrics=["map", "precision_radius2", "pr_curve"],
        chunk_size=chunk_size,
        progress=lambda n, total: done.append((n, total)),
    )
    h = LSH(n_bits=16, random_state=0).fit(X[sp.train])
    D = hamming_distance(h.transform(X[sp.query]), h.transform(X[sp.database]))
    precision, recall, radius = precision_recall_curve(
        y[sp.query], y[sp.database], D, n_bits=16
    )
    np.testing.assert_allclose(row["pr_curve"]["precision"], precision)
    np.testing.assert_allclose(row["pr_curve"]["recall"], recall)
    assert row["pr_curve"]["radius"] == list(radius)
    assert row["precision_radius2"] == pytest.approx(
        precision_within_radius(y[sp.query], y[sp.database], D, radius=2)
    )
    assert done[-1] == (30, 30)
    assert len(done) == (1 if chunk_size is None else 5)


def test_euclidean_relevance_without_labels(digits):
    # Euclidean relevance needs no labels; hashing metrics count true neighbours
    X, _ = digits
    rng = np.random.default_rng(0)
    perm = rng.permutation(len(X))
    q, db = np.sort(perm[:40]), np.sort(perm[40:])
    gt = euclidean_ground_truth(X[q], X[db], 10)
    sp = Bunch(train=db, database=db, query=q, relevance="euclidean", true_neighbors=gt)
    (row,) = evaluate(LSH(random_state=0), X, None, protocol=sp, n_bits=[16])
    h = LSH(n_bits=16, random_state=0).fit(X[db])
    D = hamming_distance(h.transform(X[q]), h.transform(X[db]))
    yq, ydb = neighbor_targets(gt, len(db))
    assert row["precision_radius2"] == pytest.approx(
        precision_within_radius(yq, ydb, D, radius=2)
    )
    _, ind = (
        HammingNeighbors()
        .fit(h.transform(X[db]))
        .kneighbors(h.transform(X[q]), n_neighbors=len(db))
    )
    assert row["map"] == pytest.approx(mean_average_precision(yq, ydb, ind))
    assert row["protocol"] == "custom" and row["relevance"] == "euclidean"
    with pytest.raises(ValueError, match="needs the labels"):
        evaluate(LSH(), X, None, protocol=Bunch(**{**sp, "relevance": "label"}))


def test_evaluate_fitted_quantizer_trained_elsewhere(digits):
    # the quantizer fitted on X[:500] only encodes the database X[500:]
    from sklearn.frozen import FrozenEstimator

    X, y = digits
    pq = PQ(n_bits=16, n_clusters=16, random_state=0).fit(X[:500])
    scores = evaluate_fitted(
        pq, X[:30], X[500:], y_query=y[:30], y_database=y[500:], search_k=5
    )
    qn = QuantizedNeighbors(FrozenEstimator(pq)).fit(X[500:], y[500:])
    assert scores["map"] == pytest.approx(qn.score(X[:30], y[:30]))
    assert set(scores) == {"map", "encode_s", "warmup_s", "search_s", "score_s"}
    with pytest.raises(ValueError, match="not both nor neither"):
        evaluate_fitted(pq, X[:30], X[500:])
    with pytest.raises(ValueError, match="not both nor neither"):
        evaluate_fitted(
            pq,
            X[:30],
            X[500:],
            y_query=y[:30],
            y_database=y[500:],
            true_neighbors=np.zeros((30, 2), int),
        )


def test_supervised_hasher_gets_the_training_labels(digits):
    X, y = digits
    sp = retrieval_split(y, n_query_per_class=5, n_train_per_class=30, random_state=0)
    sdh = SDH(n_anchors=100, random_state=0)
    (row,) = evaluate(sdh, X, y, protocol=sp, n_bits=[16])
    h = SDH(n_bits=16, n_anchors=100, random_state=0).fit(X[sp.train], y[sp.train])
    nn = HammingNeighbors().fit(h.transform(X[sp.database]), y[sp.database])
    assert row["map"] == pytest.approx(nn.score(h.transform(X[sp.query]), y[sp.query]))


def test_neighbor_targets_errors():
    with pytest.raises(ValueError, match="2-D array"):
        neighbor_targets(np.array([0, 1]), 3)
