"""scikit-learn's common checks on DH and LDPH, with tiny settings.

Also: grid search over ``n_bits`` in a ``Pipeline`` scored by mAP.
"""

import numpy as np
import pytest

pytest.importorskip("torch")
pytest.importorskip("skorch")

from sklearn.model_selection import GridSearchCV  # noqa: E402
from sklearn.pipeline import Pipeline  # noqa: E402
from sklearn.utils.estimator_checks import (  # noqa: E402
    check_get_feature_names_out_error,
    check_global_output_transform_pandas,
    check_param_validation,
    check_set_output_transform,
    check_set_output_transform_pandas,
    check_transformer_get_feature_names_out,
    check_transformer_get_feature_names_out_pandas,
    parametrize_with_checks,
)

from skhash import HammingNeighbors  # noqa: E402
from skhash.deep import DH, LDPH  # noqa: E402

pytestmark = pytest.mark.torch

TINY_PARAMS = {
    DH: dict(n_bits=2, hidden_layer_sizes=(4,), max_epochs=2, random_state=0),
    LDPH: dict(
        n_bits=2,
        max_epochs=2,
        n_rounds=1,
        epochs_per_round=1,
        pairs_per_sample=2,
        batch_size=20,
        random_state=0,
    ),
}


def _instances():
    return [cls(**params) for cls, params in TINY_PARAMS.items()]


@parametrize_with_checks(_instances())
def test_sklearn_compatible_issue8_deep(estimator, check):
    check(estimator)


@pytest.mark.parametrize("estimator", _instances(), ids=lambda e: type(e).__name__)
def test_param_validation_issue8_deep(estimator):
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
def test_transformer_output_checks_issue8_deep(estimator, check):
    pytest.importorskip("pandas")
    check(type(estimator).__name__, estimator)


@pytest.mark.parametrize("estimator", _instances(), ids=lambda e: type(e).__name__)
def test_grid_search_n_bits_in_pipeline_issue8_deep(estimator):
    rng = np.random.default_rng(0)
    y = rng.integers(0, 3, size=60)
    X = rng.normal(size=(3, 6))[y] * 2 + rng.normal(size=(60, 6))
    pipe = Pipeline([("hash", estimator), ("search", HammingNeighbors())])
    grid = GridSearchCV(pipe, {"hash__n_bits": [2, 4]}, cv=2).fit(X, y)
    assert grid.best_params_["hash__n_bits"] in (2, 4)
    assert 0 < grid.best_score_ <= 1
