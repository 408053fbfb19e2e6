"""Spectral Hashing."""

import numpy as np

from skhash._kernels.pca import principal_directions
from skhash._kernels.spectral import eigenfunctions, select_modes
from skhash.base import BaseHasher


class SpectralHashing(BaseHasher):
    """Spectral Hashing (SH) with analytic eigenfunctions.

    Following Weiss, Torralba & Fergus: centre the data and project it on its
    ``min(n_bits, n_features)`` principal directions; assume each projected
    coordinate is uniform on its training range ``[a, b]``, where the
    eigenfunctions of the weighted Laplacian are
    ``Phi_k(y) = sin(pi / 2 + k pi (y - a) / (b - a))``, ``k = 1, 2, ...``, with
    eigenvalues that grow with the frequency ``k pi / (b - a)``. The ``n_bits``
    lowest-frequency (direction, k) pairs are kept (wide directions get several
    bits) and bit = ``1[Phi_k(y) >= 0]``.

    Parameters
    ----------
    n_bits : int, default=32
        Code length (may exceed ``n_features``).
    random_state : int, RandomState instance or None, default=None
        Unused (Spectral Hashing is deterministic).

    Attributes
    ----------
    mean_ : ndarray of shape (n_features,)
        Training mean.
    components_ : ndarray of shape (n_features, n_components)
        Principal directions.
    lows_, highs_ : ndarray of shape (n_components,)
        Range of the projected training data along each direction.
    directions_ : ndarray of int, shape (n_bits,)
        Direction of each bit's eigenfunction.
    modes_ : ndarray of int, shape (n_bits,)
        Mode ``k`` of each bit's eigenfunction.
    n_bits_ : int
        Code length.
    n_features_in_ : int
        Number of features seen in ``fit``.

    Notes
    -----
    The reference Matlab code widens the range by machine epsilon; a constant
    training direction (zero range) is widened the same way here so that the
    frequencies stay finite.

    References
    ----------
    Y. Weiss, A. Torralba, R. Fergus, "Spectral hashing", NIPS 2008.

    Examples
    --------
    >>> import numpy as np
    >>> from skhash import SpectralHashing
    >>> X = np.random.default_rng(0).normal(size=(100, 8))
    >>> sh = SpectralHashing(n_bits=16).fit(X)
    >>> sh.transform(X).shape, sorted(set(sh.modes_.tolist()))[:2]
    ((100, 2), [1, 2])
    """

    _parameter_constraints: dict = {**BaseHasher._parameter_constraints}

    def __init__(self, n_bits=32, *, random_state=None):
        self.n_bits = n_bits
        self.random_state = random_state

    def _fit(self, X, y):
        n_components = min(self.n_bits, X.shape[1])
        self.mean_ = X.mean(axis=0)
        W, _ = principal_directions(X - self.mean_, n_components)
        Y = (X - self.mean_) @ W
        eps = np.finfo(np.float64).eps
        self.components_ = W.astype(X.dtype, copy=False)
        self.lows_ = Y.min(axis=0) - eps
        self.highs_ = Y.max(axis=0) + eps
        self.directions_, self.modes_ = select_modes(
            self.lows_, self.highs_, self.n_bits
        )

    def _project(self, X):
        Y = (X - self.mean_) @ self.components_
        return eigenfunctions(Y, self.lows_, self.highs_, self.directions_, self.modes_)
