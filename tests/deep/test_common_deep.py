"""scikit-learn's common checks on the deep hashers, with tiny settings."""

import pytest

pytest.importorskip("torch")
pytest.importorskip("skorch")

import torch  # noqa: E402
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

from skhash.deep import DHN, DNNH, DSH, HashNet  # noqa: E402

pytestmark = pytest.mark.torch


@pytest.fixture(autouse=True, scope="module")
def _one_torch_thread():
    # The checks fit hundreds of tiny nets: one intra-op thread avoids the
    # thread start-up and contention costs on a shared 2-core machine.
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)


_TINY = dict(n_bits=4, hidden_layer_sizes=(8,), max_epochs=1, random_state=0)
TINY_PARAMS = {
    DSH: _TINY,
    DHN: _TINY,
    HashNet: {**_TINY, "continuation_step": 1},
    DNNH: _TINY,
}
DEEP_HASHERS = list(TINY_PARAMS)


def _instances():
    return [cls(**TINY_PARAMS[cls]) for cls in DEEP_HASHERS]


@parametrize_with_checks(_instances())
def test_sklearn_compatible_deep(estimator, check):
    check(estimator)


@pytest.mark.parametrize("estimator", _instances(), ids=lambda e: type(e).__name__)
def test_param_validation_deep(estimator):
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
def test_transformer_output_checks_deep(estimator, check):
    pytest.importorskip("pandas")
    check(type(estimator).__name__, estimator)
