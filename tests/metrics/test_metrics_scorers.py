"""Scorers and the shared scoring loop, with a brute-force stand-in searcher."""

import pickle

import numpy as np
import pytest
from sklearn.base import BaseEstimator
from sklearn.model_selection import GridSearchCV, KFold
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import FunctionTransformer

from skhash import hamming_distance, pack_bits
from skhash.metrics import (
    average_precision,
    make_map_scorer,
    make_precision_at_k_scorer,
    map_scorer,
    mean_average_precision,
    precision_at_k,
    score_searcher,
)


class BruteSearcher(BaseEstimator):
    """Minimal searcher: brute-force Hamming ranking, ties by database index."""

    def __init__(self, n_bits=None):
        self.n_bits = n_bits

    def fit(self, X, y=None):
        self.codes_ = self._codes(X)
        self.labels_ = None if y is None else np.asarray(y)
        self.n_samples_fit_ = len(self.codes_)
        self.n_calls_ = 0
        return self

    def _codes(self, X):
        X = np.asarray(X)
        if self.n_bits is not None:
            X = X[:, : self.n_bits]
        return pack_bits((X >= 0).astype(np.uint8))

    def kneighbors(self, X, n_neighbors=None, return_distance=True):
        self.n_calls_ += 1
        d = hamming_distance(self._codes(X), self.codes_)
        idx = np.argsort(d, axis=1, kind="stable")[:, :n_neighbors]
        return np.take_along_axis(d, idx, axis=1), idx

    def score(self, X, y):
        return score_searcher(self, X, y)


def make_problem(rng, n_db=60, n_q=15, n_features=6, multilabel=False):
    X = rng.standard_normal((n_db + n_q, n_features))
    if multilabel:
        y = (rng.random((n_db + n_q, 4)) < 0.3).astype(int)
    else:
        y = rng.integers(0, 3, n_db + n_q)
    return X[:n_db], y[:n_db], X[n_db:], y[n_db:]


def reference_ranking(nn, Xq):
    d = hamming_distance(nn._codes(Xq), nn.codes_)
    ranking = np.stack([np.lexsort((np.arange(d.shape[1]), row)) for row in d])
    return ranking, np.take_along_axis(d, ranking, axis=1)


@pytest.mark.parametrize("multilabel", [False, True])
@pytest.mark.parametrize("chunk_size", [None, 1, 4])
@pytest.mark.parametrize(
    "kwargs",
    [
        {},
        {"protocol": "bdnn"},
        {"protocol": "hashnet-pytorch", "top_k": 7},
        {"protocol": "hashnet-caffe", "top_k": 7},
        {"protocol": "deephash", "top_k": 20, "ties": "average"},
        {"top_k": 9, "normalize": "relevant", "ties": "average"},
        {"ties": "average", "interpolation": "trapezoid"},
    ],
)
def test_score_searcher_matches_metric_on_full_ranking(multilabel, chunk_size, kwargs):
    rng = np.random.default_rng(0)
    Xdb, ydb, Xq, yq = make_problem(rng, multilabel=multilabel)
    nn = BruteSearcher().fit(Xdb, ydb)  # 6 bits: heavy ties over 60 items
    ranking, dist = reference_ranking(nn, Xq)
    ref = mean_average_precision(yq, ydb, ranking, distances=dist, **kwargs)
    got = score_searcher(nn, Xq, yq, chunk_size=chunk_size, **kwargs)
    assert got == pytest.approx(ref, rel=1e-12)
    if chunk_size == 1:
        assert nn.n_calls_ >= len(yq)
    scorer = make_map_scorer(**kwargs, chunk_size=chunk_size)
    assert scorer(nn, Xq, yq) == pytest.approx(ref, rel=1e-12)


def test_precision_scorer_and_ties():
    rng = np.random.default_rng(1)
    Xdb, ydb, Xq, yq = make_problem(rng)
    nn = BruteSearcher().fit(Xdb, ydb)
    ranking, dist = reference_ranking(nn, Xq)
    for ties in ("stable", "average"):
        ref = precision_at_k(yq, ydb, ranking, 10, distances=dist, ties=ties)
        scorer = make_precision_at_k_scorer(10, ties=ties, chunk_size=3)
        assert scorer(nn, Xq, yq) == pytest.approx(ref)


def test_tie_average_top_k_requests_more_neighbours():
    rng = np.random.default_rng(2)
    Xdb, ydb, Xq, yq = make_problem(rng, n_db=200, n_features=3)  # 3 bits
    nn = BruteSearcher().fit(Xdb, ydb)
    ranking, dist = reference_ranking(nn, Xq)
    ref = average_precision(yq, ydb, ranking, distances=dist, top_k=5, ties="average")
    got = score_searcher(nn, Xq, yq, top_k=5, ties="average")
    assert got == pytest.approx(np.nanmean(ref))


def test_map_scorer_equals_default_score_in_pipeline_and_grid_search():
    rng = np.random.default_rng(3)
    X = rng.standard_normal((120, 12))
    y = rng.integers(0, 3, 120)
    X[:, :4] += 1.5 * y[:, None]  # the first bits carry the class
    pipe = Pipeline([("id", FunctionTransformer()), ("search", BruteSearcher())])
    pipe.fit(X[:90], y[:90])
    assert map_scorer(pipe, X[90:], y[90:]) == pytest.approx(pipe.score(X[90:], y[90:]))
    grid = {"search__n_bits": [1, 4, 12]}
    cv = KFold(3, shuffle=True, random_state=0)
    default = GridSearchCV(pipe, grid, cv=cv).fit(X, y)
    scored = GridSearchCV(
        pipe,
        grid,
        cv=cv,
        scoring={"map": map_scorer, "p10": make_precision_at_k_scorer(10)},
        refit="map",
    ).fit(X, y)
    np.testing.assert_allclose(
        default.cv_results_["mean_test_score"], scored.cv_results_["mean_test_map"]
    )
    assert np.isfinite(scored.cv_results_["mean_test_p10"]).all()
    assert scored.best_params_ == default.best_params_


def test_single_step_pipeline_and_multilabel():
    rng = np.random.default_rng(4)
    Xdb, ydb, Xq, yq = make_problem(rng, multilabel=True)
    pipe = Pipeline([("search", BruteSearcher())]).fit(Xdb, ydb)
    nn = BruteSearcher().fit(Xdb, ydb)
    assert map_scorer(pipe, Xq, yq) == pytest.approx(map_scorer(nn, Xq, yq))


def test_perfect_searcher_scores_one():
    X = np.repeat(np.eye(3) * 2 - 1, 5, axis=0)  # 3 classes, identical codes
    y = np.repeat(np.arange(3), 5)
    nn = BruteSearcher().fit(X, y)
    assert map_scorer(nn, X, y) == pytest.approx(1.0)
    assert make_map_scorer(5, protocol="deephash")(nn, X, y) == pytest.approx(1.0)


def test_errors():
    rng = np.random.default_rng(5)
    Xdb, ydb, Xq, yq = make_problem(rng)
    with pytest.raises(ValueError, match="fitted without y"):
        map_scorer(BruteSearcher().fit(Xdb), Xq, yq)
    with pytest.raises(ValueError, match="not a fitted searcher"):
        map_scorer(BruteSearcher(), Xq, yq)
    nn = BruteSearcher().fit(Xdb, ydb)
    with pytest.raises(ValueError, match="X has 15 queries but y has 3"):
        map_scorer(nn, Xq, yq[:3])
    with pytest.raises(ValueError, match="1-D but y_database is 2-D"):
        map_scorer(BruteSearcher().fit(Xdb, np.eye(3)[ydb]), Xq, yq)
    with pytest.raises(ValueError, match="Unknown protocol"):
        make_map_scorer(protocol="hashnet")
    with pytest.raises(ValueError, match="conflicts"):
        make_map_scorer(10, protocol="sdh")
    with pytest.raises(ValueError, match="k must be"):
        make_precision_at_k_scorer(0)
    with pytest.raises(ValueError, match="metric must be"):
        score_searcher(nn, Xq, yq, metric="ndcg")


def test_callable_metric():
    rng = np.random.default_rng(6)
    Xdb, ydb, Xq, yq = make_problem(rng)
    nn = BruteSearcher().fit(Xdb, ydb)

    def first_hit(y_query, y_database, ranking, distances):
        return (y_database[ranking[:, 0]] == y_query).astype(float)

    ranking, _ = reference_ranking(nn, Xq)
    ref = np.mean(ydb[ranking[:, 0]] == yq)
    assert score_searcher(nn, Xq, yq, first_hit, top_k=1) == pytest.approx(ref)


def test_repr_and_pickle():
    assert repr(map_scorer) == "map_scorer"
    assert repr(make_map_scorer()) == "make_map_scorer()"
    s = make_map_scorer(100, protocol="deephash", ties="average")
    assert repr(s) == "make_map_scorer(top_k=100, protocol='deephash', ties='average')"
    assert repr(make_precision_at_k_scorer(5)) == "make_precision_at_k_scorer(k=5)"
    rng = np.random.default_rng(7)
    Xdb, ydb, Xq, yq = make_problem(rng)
    nn = BruteSearcher().fit(Xdb, ydb)
    for scorer in (map_scorer, s):
        clone = pickle.loads(pickle.dumps(scorer))
        assert clone(nn, Xq, yq) == scorer(nn, Xq, yq)


def test_hamming_neighbors_agrees_with_stand_in():
    neighbors = pytest.importorskip("skhash.neighbors")
    rng = np.random.default_rng(8)
    Xdb, ydb, Xq, yq = make_problem(rng, n_db=80, n_features=7)
    stand_in = BruteSearcher().fit(Xdb, ydb)
    codes_db, codes_q = stand_in._codes(Xdb), stand_in._codes(Xq)
    hn = neighbors.HammingNeighbors().fit(codes_db, ydb)
    for scorer in (
        map_scorer,
        make_map_scorer(10, protocol="hashnet-caffe", ties="average"),
        make_precision_at_k_scorer(5),
    ):
        assert scorer(hn, codes_q, yq) == pytest.approx(scorer(stand_in, Xq, yq))
    assert hn.score(codes_q, yq) == pytest.approx(map_scorer(stand_in, Xq, yq))
