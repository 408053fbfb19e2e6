"""Expected scikit-learn common-check failures of the search estimators.

Shared by the test suites that run ``parametrize_with_checks`` on
:class:`~skhash.HammingNeighbors` (one list, one reason), so the suites cannot
drift apart.
"""

#: Why the checks below fail for HammingNeighbors on its own.
CODES_ONLY_REASON = (
    "HammingNeighbors takes packed uint8 codes; the check feeds real-valued "
    "features, which are rejected by design"
)

#: The common checks that feed HammingNeighbors real-valued data. Each of them
#: must pass on ``make_pipeline(LSH(), HammingNeighbors())``, where a hasher
#: turns the checks' data into codes.
HAMMING_NEIGHBORS_XFAIL = (
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
)

#: Checks that fail for every scikit-learn Pipeline (its ``steps`` parameter
#: holds the fitted steps), whatever the steps are.
PIPELINE_XFAIL = {
    "check_estimators_overwrite_params": "Pipeline fits its steps in place",
    "check_dont_overwrite_parameters": "Pipeline fits its steps in place",
}


def expected_failed_checks(estimator):
    """``expected_failed_checks`` callable for ``parametrize_with_checks``."""
    from sklearn.pipeline import Pipeline

    from skhash.neighbors._hamming_neighbors import HammingNeighbors

    if isinstance(estimator, HammingNeighbors):
        return {name: CODES_ONLY_REASON for name in HAMMING_NEIGHBORS_XFAIL}
    if isinstance(estimator, Pipeline):
        return PIPELINE_XFAIL
    return {}
