"""Hashers + HammingNeighbors in Pipeline and GridSearchCV, and the README tour."""

import re
from pathlib import Path

import numpy as np
import pytest
from sklearn.datasets import load_digits
from sklearn.model_selection import GridSearchCV, StratifiedKFold
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler

from skhash import ITQ, LSH, HammingNeighbors
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
