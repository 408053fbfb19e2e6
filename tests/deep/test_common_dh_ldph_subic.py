"""scikit-learn's common checks on DH, LDPH and SuBiC, with tiny settings.

Also: grid search over ``n_bits`` in a ``Pipeline`` scored by mAP.
"""

import numpy as np
import pytest

pytest.importorskip("torch")
pytest.importorskip("skorch")

from sklearn.model_selection import GridSearchCV  # noqa: E402
from sklearn.pipeline import Pipeline  # noqa: E402
from sklearn.utils import estimator_checks as ec  # noqa: E402
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
from skhash.deep import DH, LDPH, SuBiC  # noqa: E402

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
    SuBiC: dict(
        n_bits=2, n_clusters=2, hidden_layer_sizes=(4,), max_epochs=2, random_state=0
    ),
}


def _instances():
    return [cls(**params) for cls, params in TINY_PARAMS.items()]


# Several sklearn checks assign ``n_clusters = 1`` to any estimator that has
# the attribute (a shortcut for clusterers). SuBiC's ``n_clusters`` is the
# block length K, a power of two >= 2, so validation rejects 1. These checks
# are expected to fail as run by ``parametrize_with_checks`` and are run again,
# unchanged, on a test-only subclass that ignores that assignment (the
# pattern of tests/quantization/test_common_quantization.py).
N_CLUSTERS_CHECKS = {
    "check_dont_overwrite_parameters": ec.check_dont_overwrite_parameters,
    "check_fit2d_predict1d": ec.check_fit2d_predict1d,
    "check_methods_subset_invariance": ec.check_methods_subset_invariance,
    "check_fit2d_1sample": ec.check_fit2d_1sample,
    "check_fit2d_1feature": ec.check_fit2d_1feature,
}


def _expected_failed(estimator):
    if isinstance(estimator, SuBiC):
        return {
            name: "sets n_clusters=1 (a clusterer shortcut)"
            for name in N_CLUSTERS_CHECKS
        }
    return {}


class _PinnedSuBiC(SuBiC):
    """SuBiC whose ``n_clusters`` ignores assignments of invalid values."""

    @property
    def n_clusters(self):
        return self._n_clusters

    @n_clusters.setter
    def n_clusters(self, value):
        if not hasattr(self, "_n_clusters") or value in (2, 4, 8, 16, 256):
            self._n_clusters = value


_PinnedSuBiC.__name__ = "SuBiC"


@parametrize_with_checks(_instances(), expected_failed_checks=_expected_failed)
def test_sklearn_compatible_dh_ldph_subic(estimator, check):
    check(estimator)


@pytest.mark.parametrize("name", sorted(N_CLUSTERS_CHECKS))
def test_subic_checks_that_set_n_clusters(name):
    estimator = _PinnedSuBiC(**TINY_PARAMS[SuBiC])
    N_CLUSTERS_CHECKS[name]("SuBiC", estimator)
    assert estimator.n_clusters == TINY_PARAMS[SuBiC]["n_clusters"]


@pytest.mark.parametrize("estimator", _instances(), ids=lambda e: type(e).__name__)
def test_param_validation_dh_ldph_subic(estimator):
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
def test_transformer_output_checks_dh_ldph_subic(estimator, check):
    pytest.importorskip("pandas")
    check(type(estimator).__name__, estimator)


@pytest.mark.parametrize("estimator", _instances()[:2], ids=lambda e: type(e).__name__)
def test_grid_search_n_bits_in_pipeline_dh_ldph_subic(estimator):
    rng = np.random.default_rng(0)
    y = rng.integers(0, 3, size=60)
    X = rng.normal(size=(3, 6))[y] * 2 + rng.normal(size=(60, 6))
    pipe = Pipeline([("hash", estimator), ("search", HammingNeighbors())])
    grid = GridSearchCV(pipe, {"hash__n_bits": [2, 4]}, cv=2).fit(X, y)
    assert grid.best_params_["hash__n_bits"] in (2, 4)
    assert 0 < grid.best_score_ <= 1


def test_grid_search_n_bits_subic_quantized_neighbors():
    from skhash.quantization import QuantizedNeighbors

    rng = np.random.default_rng(0)
    y = rng.integers(0, 3, size=60)
    X = rng.normal(size=(3, 6))[y] * 2 + rng.normal(size=(60, 6))
    search = QuantizedNeighbors(
        SuBiC(n_clusters=4, hidden_layer_sizes=(8,), max_epochs=3, lr=1e-2),
        algorithm="numpy",
    )
    grid = GridSearchCV(search, {"quantizer__n_bits": [2, 4]}, cv=2).fit(X, y)
    assert grid.best_params_["quantizer__n_bits"] in (2, 4)
    assert 0 < grid.best_score_ <= 1
