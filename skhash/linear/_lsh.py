"""Random-hyperplane locality-sensitive hashing (SimHash)."""

from sklearn.utils import check_random_state

from skhash.base import BaseHasher


class LSH(BaseHasher):
    """Random-hyperplane Locality-Sensitive Hashing (LSH, SimHash).

    Each bit is the sign of a random Gaussian projection of the centred data,
    ``h_j(x) = 1[(x - mu)^T r_j >= 0]`` with ``r_j ~ N(0, I)``. For two vectors at
    angle ``theta`` (after centring) the probability that a bit differs is
    ``theta / pi``. Data-independent apart from the mean, as in the "LSH" baseline
    of the hashing literature (ITQ's evaluation code centres the data first).

    Parameters
    ----------
    n_bits : int, default=32
        Code length.
    random_state : int, RandomState instance or None, default=None
        Seed of the random hyperplanes.

    Attributes
    ----------
    mean_ : ndarray of shape (n_features,)
        Training mean, subtracted before projecting.
    components_ : ndarray of shape (n_features, n_bits)
        The random hyperplane normals.
    n_bits_ : int
        Code length.
    n_features_in_ : int
        Number of features seen in ``fit``.

    See Also
    --------
    PCAH : Projections on principal directions instead of random ones.
    ITQ : A learned rotation of the PCA projections.

    References
    ----------
    M. S. Charikar, "Similarity estimation techniques from rounding algorithms",
    STOC 2002.

    Examples
    --------
    >>> import numpy as np
    >>> from skhash import LSH
    >>> X = np.random.default_rng(0).normal(size=(100, 20))
    >>> codes = LSH(n_bits=12, random_state=0).fit_transform(X)
    >>> codes.shape, codes.dtype
    ((100, 2), dtype('uint8'))
    """

    _parameter_constraints: dict = {**BaseHasher._parameter_constraints}

    def __init__(self, n_bits=32, *, random_state=None):
        self.n_bits = n_bits
        self.random_state = random_state

    def _fit(self, X, y):
        rng = check_random_state(self.random_state)
        self.mean_ = X.mean(axis=0)
        self.components_ = rng.standard_normal((X.shape[1], self.n_bits)).astype(
            X.dtype, copy=False
        )

    def _project(self, X):
        return (X - self.mean_) @ self.components_
