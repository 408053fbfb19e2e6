"""scikit-learn's common estimator checks on every skhash estimator.

``parametrize_with_checks`` runs the checks of ``check_estimator``; the checks
it skips (parameter validation, set_output, feature names) are run below too.
Small settings for the checks live in ``TINY_PARAMS``.
"""

import pytest
from sklearn.pipeline import Pipeline, make_pipeline
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

# HammingNeighbors searches packed uint8 codes. The common checks feed it
# real-valued (often negative, non-integer) arrays, which it rejects with a
# ValueError instead of silently rounding them: these checks cannot apply.
_CODES_ONLY = (
    "HammingNeighbors takes packed uint8 codes; the check feeds real-valued "
    "features, which are rejected by design"
)


# The checks that feed HammingNeighbors real-valued data. Each of them is run
# again, and must pass, on ``make_pipeline(LSH(), HammingNeighbors())`` below,
# where the hasher turns the checks' data into codes.
HAMMING_XFAIL = [
    "check_fit_score_takes_y",
    "check_estimators_overwrite_params",
    "check_dont_overwrite_parameters",
    "check_estimators_fit_returns_self",
    "check_readonly_memmap_input",
    "check_n_features_in_after_fitting",
    "check_positive_only_tag_during_fit",
    "check_estimators_dtypes",
    "check_dtype_object",
    "check_pipeline_consistency",
    "check_estimators_nan_inf",
    "check_estimators_pickle",
    "check_estimators_pickle(readonly_memmap=True)",
    "check_f_contiguous_array_estimator",
    "check_methods_sample_order_invariance",
    "check_methods_subset_invariance",
    "check_fit2d_1sample",
    "check_fit2d_1feature",
    "check_dict_unchanged",
    "check_fit_idempotent",
    "check_fit_check_is_fitted",
    "check_n_features_in",
    "check_fit2d_predict1d",
]
# Checks that fail for every scikit-learn Pipeline (its ``steps`` parameter holds
# the fitted steps), whatever the steps are.
PIPELINE_XFAIL = {
    "check_estimators_overwrite_params": "Pipeline fits its steps in place",
    "check_dont_overwrite_parameters": "Pipeline fits its steps in place",
}


def _expected_failed(estimator):
    if isinstance(estimator, HammingNeighbors):
        return {name: _CODES_ONLY for name in HAMMING_XFAIL}
    if isinstance(estimator, Pipeline):
        return PIPELINE_XFAIL
    return {}


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
