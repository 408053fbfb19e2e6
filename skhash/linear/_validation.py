"""Shared checks of the linear hashers."""


def check_n_bits_le_features(estimator, n_features):
    """Raise a clear error when ``n_bits`` exceeds the number of PCA directions."""
    if estimator.n_bits > n_features:
        raise ValueError(
            f"{type(estimator).__name__} needs n_bits <= n_features, got "
            f"n_bits={estimator.n_bits} with n_features = {n_features}: it "
            "projects on n_bits principal directions."
        )
