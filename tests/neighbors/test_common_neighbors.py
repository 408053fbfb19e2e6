"""scikit-learn's common checks on HammingNeighbors with every search backend.

Same pattern as tests/test_common.py (which covers the default backend): the
estimator alone (checks feeding real-valued data are expected to fail, since
it takes packed codes) and in a pipeline after LSH, where every check runs.
"""

import pytest
from sklearn.pipeline import make_pipeline
from sklearn.utils.estimator_checks import (
    check_estimators_pickle,
    check_f_contiguous_array_estimator,
    check_fit_idempotent,
    check_methods_sample_order_invariance,
    check_methods_subset_invariance,
    check_param_validation,
    check_readonly_memmap_input,
    parametrize_with_checks,
)

from skhash import LSH, HammingNeighbors
from skhash.neighbors._jit import HAVE_NUMBA
from skhash.neighbors._testing import expected_failed_checks

ALGORITHMS = ["numpy"]
if HAVE_NUMBA:
    ALGORITHMS += ["numba", "mih"]
for _name, _module in (("faiss", "faiss"), ("torch", "torch")):
    try:
        __import__(_module)
        ALGORITHMS.append(_name)
    except ImportError:  # pragma: no cover
        pass


def _expected_failed(estimator):
    # One shared table: HammingNeighbors rejects the checks' real-valued data by
    # design, and those checks must pass on make_pipeline(LSH(), ...) below.
    return expected_failed_checks(estimator)


ESTIMATORS = [HammingNeighbors(n_neighbors=2, algorithm=a) for a in ALGORITHMS]
PIPELINES = [
    make_pipeline(
        LSH(n_bits=12, random_state=0), HammingNeighbors(n_neighbors=2, algorithm=a)
    )
    for a in ALGORITHMS
]


# The full set takes minutes for five backends on 2 cores: it runs with -m slow.
@pytest.mark.slow
@parametrize_with_checks(
    ESTIMATORS + PIPELINES, expected_failed_checks=_expected_failed
)
def test_sklearn_compatible_backends(estimator, check):
    check(estimator)


# The checks that exercise what differs between backends (pickling of a
# fitted index, read-only and memory-mapped input, determinism, subset and
# order invariance of the search), in the default run.
FAST_CHECKS = [
    check_estimators_pickle,
    check_fit_idempotent,
    check_methods_subset_invariance,
    check_methods_sample_order_invariance,
    check_readonly_memmap_input,
    check_f_contiguous_array_estimator,
]


@pytest.mark.parametrize("check", FAST_CHECKS, ids=lambda c: c.__name__)
@pytest.mark.parametrize("pipe", PIPELINES, ids=lambda p: p[-1].algorithm)
def test_key_checks_backends(pipe, check):
    check(type(pipe).__name__, pipe)


@pytest.mark.parametrize("estimator", ESTIMATORS, ids=lambda e: e.algorithm)
def test_param_validation_backends(estimator):
    check_param_validation(type(estimator).__name__, estimator)
