"""Shared checks of the linear hashers."""

import warnings

import numpy as np


def check_n_bits_le_features(estimator, n_features):
    """Raise a clear error when ``n_bits`` exceeds the number of PCA directions."""
    if estimator.n_bits > n_features:
        raise ValueError(
            f"{type(estimator).__name__} needs n_bits <= n_features, got "
            f"n_bits={estimator.n_bits} with n_features = {n_features}: it "
            "projects on n_bits principal directions."
        )


def draw_anchors(estimator, n_samples, rng):
    """Rows of ``estimator.n_anchors`` distinct training samples, sorted.

    More anchors than samples cannot be drawn: every sample is then an anchor
    and a ``UserWarning`` says so (the kernel methods' ``n_anchors`` defaults,
    300 or 1,000, exceed small training sets).
    """
    m = estimator.n_anchors
    if m > n_samples:
        warnings.warn(
            f"{type(estimator).__name__}: n_anchors={m} exceeds the {n_samples} "
            f"training samples; all {n_samples} samples are used as anchors "
            f"(n_anchors_={n_samples}). Set n_anchors <= n_samples to silence "
            "this warning.",
            UserWarning,
            stacklevel=3,
        )
        m = n_samples
    return np.sort(rng.choice(n_samples, size=m, replace=False))
