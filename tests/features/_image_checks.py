"""The scikit-learn common checks that feed 2-D non-image X.

Image transformers (GIST, PretrainedFeatures) read 2-D rows as images of a
known shape, so these checks, which feed a handful of arbitrary columns, are
expected to fail on them; each test file states its estimator's reason.
"""

NON_IMAGE_CHECKS = (
    "check_dont_overwrite_parameters",
    "check_estimators_fit_returns_self",
    "check_readonly_memmap_input",
    "check_estimators_dtypes",
    "check_dtype_object",
    "check_pipeline_consistency",
    "check_estimators_nan_inf",
    "check_estimators_pickle",
    "check_f_contiguous_array_estimator",
    "check_transformer_data_not_an_array",
    "check_transformer_general",
    "check_transformer_preserve_dtypes",
    "check_methods_sample_order_invariance",
    "check_methods_subset_invariance",
    "check_fit2d_1sample",
    "check_dict_unchanged",
    "check_fit_idempotent",
    "check_fit_check_is_fitted",
    "check_n_features_in",
    "check_fit2d_predict1d",
    "check_fit_score_takes_y",
    "check_estimators_overwrite_params",
)
