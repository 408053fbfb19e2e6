"""scikit-learn's common checks on SDH, UHBDNN and SHBDNN (tiny settings).

The pattern of ``tests/test_common.py``: ``parametrize_with_checks`` plus the
checks that ``check_estimator`` skips. SDH needs NumPy only; the BDNN
estimators are added when torch is installed (marker ``torch``).
"""

import importlib.util

import pytest
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

from skhash.linear._sdh import SDH

HAS_TORCH = importlib.util.find_spec("torch") is not None

TINY = [SDH(n_bits=4, n_anchors=10, max_iter=2, random_state=0)]
if HAS_TORCH:
    from skhash.deep._shbdnn import SHBDNN
    from skhash.deep._uhbdnn import UHBDNN

    TINY += [
        UHBDNN(
            n_bits=2,
            hidden_layer_sizes=(4, 3),
            max_iter=2,
            lbfgs_max_iter=5,
            random_state=0,
        ),
        SHBDNN(
            n_bits=2,
            hidden_layer_sizes=(4, 3),
            max_iter=2,
            lbfgs_max_iter=5,
            random_state=0,
        ),
    ]


def _expected_failed(estimator):
    return {}


@pytest.fixture(autouse=True)
def _one_thread():
    # Shared 2-core machine: torch's intra-op threads spin against other
    # processes and make the tiny fits of the checks several times slower.
    if not HAS_TORCH:
        yield
        return
    import torch

    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)


def _marks(estimator):
    return [] if isinstance(estimator, SDH) else [pytest.mark.torch]


@parametrize_with_checks(TINY, expected_failed_checks=_expected_failed)
def test_sklearn_compatible(estimator, check):
    check(estimator)


@pytest.mark.parametrize(
    "estimator",
    [pytest.param(e, marks=_marks(e)) for e in TINY],
    ids=lambda e: type(e).__name__,
)
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
    "estimator",
    [pytest.param(e, marks=_marks(e)) for e in TINY],
    ids=lambda e: type(e).__name__,
)
def test_transformer_output_checks(estimator, check):
    pytest.importorskip("pandas")
    check(type(estimator).__name__, estimator)
