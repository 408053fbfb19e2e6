"""scikit-learn's common checks on KSH and CCA-ITQ, with tiny settings.

Also: grid search over ``n_bits`` in a ``Pipeline`` scored by mAP.
"""

import numpy as np
import pytest
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import Pipeline
from sklearn.utils.estimator_checks import (
    check_get_feature_names_out_error,
    check_global_output_transform_pandas,
    check_param_validation,
    check_set_output_transform,
    check_set_output_transform_pandas,
    check_transformer_get_feature_names_out,
    check_transformer_get_feature_names_out_pandas,
    parametrize_with_checks,
)

from skhash import HammingNeighbors
from skhash.linear._cca_itq import CCAITQ
from skhash.linear._ksh import KSH

TINY_PARAMS = {
    KSH: dict(n_bits=4, n_anchors=5, n_labeled=20, max_iter=5, random_state=0),
    CCAITQ: dict(n_bits=2, max_iter=5, random_state=0),
}


def _instances():
    return [cls(**params) for cls, params in TINY_PARAMS.items()]


@parametrize_with_checks(_instances())
def test_sklearn_compatible_supervised_linear(estimator, check):
    check(estimator)


@pytest.mark.parametrize("estimator", _instances(), ids=lambda e: type(e).__name__)
def test_param_validation_supervised_linear(estimator):
    check_param_validation(type(estimator).__name__, estimator)


TRANSFORMER_CHECKS = [
    check_transformer_get_feature_names_out,
    check_transformer_get_feature_names_out_pandas,
    check_set_output_transform,
    check_set_output_transform_pandas,
    check_global_output_transform_pandas,
    check_get_feature_names_out_error,
]


@pytest.mark.filterwarnings("ignore:X does not have valid feature names")
@pytest.mark.filterwarnings("ignore:X has feature names")
@pytest.mark.parametrize("check", TRANSFORMER_CHECKS, ids=lambda c: c.__name__)
@pytest.mark.parametrize("estimator", _instances(), ids=lambda e: type(e).__name__)
def test_transformer_output_checks_supervised_linear(estimator, check):
    pytest.importorskip("pandas")
    check(type(estimator).__name__, estimator)


@pytest.mark.parametrize("estimator", _instances(), ids=lambda e: type(e).__name__)
def test_grid_search_n_bits_in_pipeline(estimator):
    rng = np.random.default_rng(0)
    y = rng.integers(0, 3, size=90)
    X = rng.normal(size=(3, 8))[y] * 2 + rng.normal(size=(90, 8))
    pipe = Pipeline([("hash", estimator), ("search", HammingNeighbors())])
    grid = GridSearchCV(pipe, {"hash__n_bits": [2, 4]}, cv=3).fit(X, y)
    assert grid.best_params_["hash__n_bits"] in (2, 4)
    assert 0 < grid.best_score_ <= 1
    assert grid.best_estimator_[0].transform(X[:2]).shape == (2, 1)
