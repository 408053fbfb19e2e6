"""Hashers + HammingNeighbors in Pipeline and GridSearchCV, and the README tour."""

import re
from pathlib import Path

import numpy as np
import pytest
from sklearn.datasets import load_digits
from sklearn.model_selection import GridSearchCV, StratifiedKFold
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler
from test_common import TEST_PARAMS

from skhash import (
    CCAITQ,
    ITQ,
    KSH,
    LSH,
    OPQ,
    PQ,
    HammingNeighbors,
    QuantizedNeighbors,
)
from skhash.metrics import map_scorer, mean_average_precision

README = Path(__file__).resolve().parents[1] / "README.md"


@pytest.fixture(scope="module")
def digits():
    return load_digits(return_X_y=True)


def _pipe(hasher):
    return Pipeline(
        [("scale", StandardScaler()), ("hash", hasher), ("search", HammingNeighbors())]
    )


def test_grid_search_ranks_by_map_without_scoring(digits):
    X, y = digits
    cv = StratifiedKFold(3, shuffle=True, random_state=0)
    grid = {"hash__n_bits": [4, 16, 48]}
    default = GridSearchCV(_pipe(ITQ(random_state=0)), grid, cv=cv).fit(X, y)
    explicit = GridSearchCV(
        _pipe(ITQ(random_state=0)), grid, cv=cv, scoring=map_scorer
    ).fit(X, y)
    np.testing.assert_allclose(
        default.cv_results_["mean_test_score"],
        explicit.cv_results_["mean_test_score"],
    )
    scores = default.cv_results_["mean_test_score"]
    assert scores[0] < scores[1] < scores[2]  # more ITQ bits: higher mAP on digits
    assert default.best_params_ == {"hash__n_bits": 48}


def test_pipeline_score_is_full_ranking_map(digits):
    X, y = digits
    pipe = _pipe(LSH(n_bits=24, random_state=0)).fit(X[:1500], y[:1500])
    q = pipe[:-1].transform(X[1500:])
    _, ranking = pipe[-1].kneighbors(q, n_neighbors=1500)
    ref = mean_average_precision(y[1500:], y[:1500], ranking, protocol="full")
    assert pipe.score(X[1500:], y[1500:]) == pytest.approx(ref)


def test_itq_beats_lsh_on_digits(digits):
    X, y = digits
    cv = StratifiedKFold(3, shuffle=True, random_state=0)
    for b in (16, 32):
        s_itq = GridSearchCV(_pipe(ITQ(n_bits=b, random_state=0)), {}, cv=cv)
        s_lsh = GridSearchCV(_pipe(LSH(n_bits=b, random_state=0)), {}, cv=cv)
        assert s_itq.fit(X, y).best_score_ > s_lsh.fit(X, y).best_score_


def test_readme_tour_runs():
    code = re.findall(r"```python\n(.*?)```", README.read_text(), re.S)
    assert code, "README.md has no python block"
    namespace = {}
    exec(compile(code[0], str(README), "exec"), namespace)
    assert namespace["search"].best_params_["hash__n_bits"] in (16, 32, 64)
    assert namespace["codes"].dtype == np.uint8


# Grid search over the code length, for the estimators the tests above do not
# cover (the supervised, deep and quantization methods), with tiny settings.
def _labelled_blobs(n_samples, n_features, scale=2.0):
    rng = np.random.default_rng(0)
    y = rng.integers(0, 3, size=n_samples)
    X = rng.normal(size=(3, n_features))[y] * scale + rng.normal(
        size=(n_samples, n_features)
    )
    return X, y


@pytest.mark.parametrize(
    "estimator",
    [
        KSH(n_bits=4, n_anchors=5, n_labeled=20, max_iter=5, random_state=0),
        CCAITQ(n_bits=2, max_iter=5, random_state=0),
    ],
    ids=lambda e: type(e).__name__,
)
def test_grid_search_n_bits_in_pipeline(estimator):
    X, y = _labelled_blobs(90, 8)
    pipe = Pipeline([("hash", estimator), ("search", HammingNeighbors())])
    grid = GridSearchCV(pipe, {"hash__n_bits": [2, 4]}, cv=3).fit(X, y)
    assert grid.best_params_["hash__n_bits"] in (2, 4)
    assert 0 < grid.best_score_ <= 1
    assert grid.best_estimator_[0].transform(X[:2]).shape == (2, 1)


@pytest.mark.torch
@pytest.mark.parametrize("name", ["DH", "LDPH"])
def test_grid_search_n_bits_in_pipeline_deep(name):
    deep = pytest.importorskip("skhash.deep")
    params = TEST_PARAMS[name]  # the common checks' small settings
    X, y = _labelled_blobs(60, 6)
    pipe = Pipeline(
        [("hash", getattr(deep, name)(**params)), ("search", HammingNeighbors())]
    )
    grid = GridSearchCV(pipe, {"hash__n_bits": [2, 4]}, cv=2).fit(X, y)
    assert grid.best_params_["hash__n_bits"] in (2, 4)
    assert 0 < grid.best_score_ <= 1


@pytest.mark.torch
def test_grid_search_n_bits_subic_quantized_neighbors():
    deep = pytest.importorskip("skhash.deep")
    X, y = _labelled_blobs(60, 6)
    search = QuantizedNeighbors(
        deep.SuBiC(n_clusters=4, hidden_layer_sizes=(8,), max_epochs=3, lr=1e-2),
        algorithm="numpy",
    )
    grid = GridSearchCV(search, {"quantizer__n_bits": [2, 4]}, cv=2).fit(X, y)
    assert grid.best_params_["quantizer__n_bits"] in (2, 4)
    assert 0 < grid.best_score_ <= 1


@pytest.mark.parametrize(
    "quantizer",
    [
        PQ(n_bits=4, n_clusters=16, max_iter=5, random_state=0),
        OPQ(n_bits=4, n_clusters=16, max_iter=3, kmeans_iter=5, random_state=0),
    ],
    ids=lambda e: type(e).__name__,
)
def test_grid_search_over_n_bits_quantizers(quantizer):
    # The hashers' grid (multiples of 8 bits) works unchanged for quantizers.
    rng = np.random.RandomState(0)
    y = rng.randint(0, 3, size=300)
    X = rng.normal(size=(300, 12)) + 3 * y[:, None]
    grid = GridSearchCV(
        QuantizedNeighbors(quantizer, algorithm="numpy"),
        {"quantizer__n_bits": [8, 12]},
        cv=2,
    ).fit(X, y)
    assert set(grid.cv_results_["param_quantizer__n_bits"]) == {8, 12}
    assert 0.5 < grid.best_score_ <= 1
