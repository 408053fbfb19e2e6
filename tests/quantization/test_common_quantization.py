"""scikit-learn's common checks on the quantizers and QuantizedNeighbors.

Same pattern as ``tests/test_common.py``: ``parametrize_with_checks`` plus the
checks that ``check_estimator`` skips.
"""

import numpy as np
import pytest
from sklearn.model_selection import GridSearchCV
from sklearn.utils import estimator_checks as ec
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

from skhash.quantization import OPQ, PQ, QuantizedNeighbors

# Tiny settings: 2 subspaces of 4 codewords (the checks use 10-30 samples).
TINY_PARAMS = {
    PQ: dict(n_bits=4, n_clusters=4, max_iter=5, random_state=0),
    OPQ: dict(n_bits=4, n_clusters=4, max_iter=3, kmeans_iter=5, random_state=0),
}

QUANTIZERS = [PQ, OPQ]

# Several sklearn checks assign ``estimator.n_clusters = 1`` (or 2) when the
# estimator has an ``n_clusters`` attribute, a shortcut meant for clusterers.
# For a quantizer ``n_clusters`` is the codebook size (a power of two >= 2, and
# ``n_bits / log2(n_clusters)`` subspaces), so parameter validation rejects 1.
# These checks are marked as expected failures here and run again, unchanged,
# in ``test_checks_that_set_n_clusters`` on a test-only subclass that ignores
# that assignment.
N_CLUSTERS_CHECKS = {
    "check_dont_overwrite_parameters": ec.check_dont_overwrite_parameters,
    "check_fit2d_predict1d": ec.check_fit2d_predict1d,
    "check_methods_subset_invariance": ec.check_methods_subset_invariance,
    "check_methods_sample_order_invariance": ec.check_methods_sample_order_invariance,
    "check_fit2d_1sample": ec.check_fit2d_1sample,
    "check_fit2d_1feature": ec.check_fit2d_1feature,
}
_REASON = "sets n_clusters=1 (a clusterer shortcut); rerun on a pinned subclass"


def _expected_failed(estimator):
    if isinstance(estimator, (PQ, OPQ)):
        return {name: _REASON for name in N_CLUSTERS_CHECKS}
    return {}


def _pinned(cls):
    """Subclass whose ``n_clusters`` ignores assignments outside the valid set."""

    class Pinned(cls):
        @property
        def n_clusters(self):
            return self._n_clusters

        @n_clusters.setter
        def n_clusters(self, value):
            if not hasattr(self, "_n_clusters") or value in (4, 8, 16, 256):
                self._n_clusters = value

    Pinned.__name__ = cls.__name__
    return Pinned


def _instances(classes):
    return [cls(**TINY_PARAMS.get(cls, {})) for cls in classes]


ESTIMATORS = _instances(QUANTIZERS) + [
    QuantizedNeighbors(PQ(**TINY_PARAMS[PQ]), n_neighbors=2),
    QuantizedNeighbors(OPQ(**TINY_PARAMS[OPQ]), n_neighbors=2, algorithm="numpy"),
]


@parametrize_with_checks(ESTIMATORS, expected_failed_checks=_expected_failed)
def test_sklearn_compatible(estimator, check):
    check(estimator)


@pytest.mark.parametrize("name", sorted(N_CLUSTERS_CHECKS))
@pytest.mark.parametrize("cls", QUANTIZERS, ids=lambda c: c.__name__)
def test_checks_that_set_n_clusters(cls, name):
    estimator = _pinned(cls)(**TINY_PARAMS[cls])
    N_CLUSTERS_CHECKS[name](cls.__name__, estimator)
    assert estimator.n_clusters == TINY_PARAMS[cls]["n_clusters"]


@pytest.mark.parametrize("estimator", ESTIMATORS, ids=lambda e: type(e).__name__)
def test_param_validation(estimator):
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
@pytest.mark.parametrize(
    "estimator", _instances(QUANTIZERS), ids=lambda e: type(e).__name__
)
def test_transformer_output_checks(estimator, check):
    pytest.importorskip("pandas")
    check(type(estimator).__name__, estimator)


@pytest.mark.parametrize("cls", QUANTIZERS)
def test_grid_search_over_n_bits(cls):
    # The hashers' grid (multiples of 8 bits) works unchanged for quantizers.
    rng = np.random.RandomState(0)
    y = rng.randint(0, 3, size=300)
    X = rng.normal(size=(300, 12)) + 3 * y[:, None]
    params = {**TINY_PARAMS[cls], "n_clusters": 16}
    grid = GridSearchCV(
        QuantizedNeighbors(cls(**params), algorithm="numpy"),
        {"quantizer__n_bits": [8, 12]},
        cv=2,
    ).fit(X, y)
    assert set(grid.cv_results_["param_quantizer__n_bits"]) == {8, 12}
    assert 0.5 < grid.best_score_ <= 1
