"""scikit-learn's common estimator checks on every skhash estimator.

``parametrize_with_checks`` runs the checks of ``check_estimator``; the checks
it skips (parameter validation, set_output, feature names) are run below too.
Small settings for the checks live in ``TINY_PARAMS``.
"""

import pytest
from sklearn.pipeline import make_pipeline
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

from skhash import ITQ, LSH, PCAH, HammingNeighbors, SpectralHashing
from skhash.neighbors._testing import expected_failed_checks

# Settings small enough for the checks' tiny data (few features, few samples).
TINY_PARAMS = {
    LSH: dict(n_bits=4, random_state=0),
    PCAH: dict(n_bits=2),
    ITQ: dict(n_bits=2, max_iter=5, random_state=0),
    SpectralHashing: dict(n_bits=4),
    HammingNeighbors: dict(n_neighbors=2),
}

HASHERS = [LSH, PCAH, ITQ, SpectralHashing]
SEARCHERS = [HammingNeighbors]


def _expected_failed(estimator):
    # One shared table: HammingNeighbors rejects the checks' real-valued data by
    # design, and those checks must pass on make_pipeline(LSH(), ...) below.
    return expected_failed_checks(estimator)


def _instances(classes):
    return [cls(**TINY_PARAMS.get(cls, {})) for cls in classes]


ESTIMATORS = _instances(HASHERS + SEARCHERS)
SEARCH_PIPELINES = [
    make_pipeline(LSH(n_bits=12, random_state=0), cls(**TINY_PARAMS[cls]))
    for cls in SEARCHERS
]


@parametrize_with_checks(
    ESTIMATORS + SEARCH_PIPELINES, expected_failed_checks=_expected_failed
)
def test_sklearn_compatible(estimator, check):
    check(estimator)


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


# These checks mix DataFrame and array inputs on purpose, which warns.
@pytest.mark.filterwarnings("ignore:X does not have valid feature names")
@pytest.mark.filterwarnings("ignore:X has feature names")
@pytest.mark.parametrize("check", TRANSFORMER_CHECKS, ids=lambda c: c.__name__)
@pytest.mark.parametrize(
    "estimator", _instances(HASHERS), ids=lambda e: type(e).__name__
)
def test_transformer_output_checks(estimator, check):
    pytest.importorskip("pandas")
    check(type(estimator).__name__, estimator)


def _public_estimators():
    import inspect

    import skhash
    import skhash.quantization

    modules = [skhash, skhash.quantization]
    try:
        import skhash.deep

        modules.append(skhash.deep)
    except ImportError:  # the deep extra is not installed
        pass
    found = {}
    for module in modules:
        for name in module.__all__:
            obj = getattr(module, name)
            if (
                inspect.isclass(obj)
                and hasattr(obj, "get_params")
                and not name.startswith("Base")
            ):
                found[name] = obj
    return found


# Parameters that make an estimator iterative (a loop the user may watch).
_ITERATION_PARAMS = {"max_iter", "max_epochs", "n_rounds", "kmeans_iter"}


def test_every_iterative_estimator_has_verbose():
    import inspect

    estimators = _public_estimators()
    assert {"ITQ", "CCAITQ", "PQ", "SDH"} <= set(estimators)
    missing = [
        name
        for name, cls in estimators.items()
        if _ITERATION_PARAMS & set(inspect.signature(cls).parameters)
        and "verbose" not in inspect.signature(cls).parameters
    ]
    assert missing == []
