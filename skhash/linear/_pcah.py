"""PCA hashing."""

from skhash._kernels.pca import principal_directions
from skhash.base import BaseHasher
from skhash.linear._validation import check_n_bits_le_features


class PCAH(BaseHasher):
    """PCA Hashing (PCAH).

    Centre the data, project on the top ``n_bits`` principal directions and
    keep the signs. Later bits carry little variance, so retrieval quality
    often drops as ``n_bits`` grows: the baseline that ITQ improves on.

    Parameters
    ----------
    n_bits : int, default=32
        Code length; at most ``n_features``.
    random_state : int, RandomState instance or None, default=None
        Unused (PCAH is deterministic); kept so every hasher has the same
        parameters.

    Attributes
    ----------
    mean_ : ndarray of shape (n_features,)
        Training mean.
    components_ : ndarray of shape (n_features, n_bits)
        Principal directions by decreasing variance (sign-normalised: each
        column's largest-magnitude entry is positive).
    explained_variance_ : ndarray of shape (n_bits,)
        Variance along each direction.
    n_bits_ : int
        Code length.
    n_features_in_ : int
        Number of features seen in ``fit``.

    See Also
    --------
    ITQ : Rotates these projections to reduce quantization error.

    References
    ----------
    J. Wang, S. Kumar, S.-F. Chang, "Semi-supervised hashing for large-scale
    search", TPAMI 2012 (the PCAH baseline).

    Examples
    --------
    >>> import numpy as np
    >>> from skhash import PCAH
    >>> X = np.random.default_rng(0).normal(size=(100, 20))
    >>> PCAH(n_bits=8).fit_transform(X).shape
    (100, 1)
    """

    _parameter_constraints: dict = {**BaseHasher._parameter_constraints}

    def __init__(self, n_bits=32, *, random_state=None):
        self.n_bits = n_bits
        self.random_state = random_state

    def _fit(self, X, y):
        check_n_bits_le_features(self, X.shape[1])
        self.mean_ = X.mean(axis=0)
        W, var = principal_directions(X - self.mean_, self.n_bits)
        self.components_ = W.astype(X.dtype, copy=False)
        self.explained_variance_ = var

    def _project(self, X):
        return (X - self.mean_) @ self.components_
