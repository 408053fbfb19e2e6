"""skhash.evaluation.evaluate against the same steps written out by hand."""

import numpy as np
import pytest
from sklearn.datasets import load_digits
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils import Bunch

from skhash import ITQ, LSH, PQ, HammingNeighbors, QuantizedNeighbors
from skhash.datasets import euclidean_ground_truth, retrieval_split
from skhash.evaluation import evaluate
from skhash.metrics import mean_average_precision, precision_within_radius


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
