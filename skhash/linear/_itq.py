"""Iterative Quantization."""

import numpy as np
from sklearn.utils import check_random_state

from skhash._blas import limit_blas_threads
from skhash._kernels.itq import itq_rotation, loss_printer, random_rotation
from skhash._kernels.pca import principal_directions
from skhash._validation import IntInterval
from skhash.base import BaseHasher
from skhash.linear._validation import check_n_bits_le_features


class ITQ(BaseHasher):
    """Iterative Quantization (ITQ) hashing.

    Centre the data, project it on the top ``n_bits`` principal directions
    (``V = (X - mu) W``), then learn an orthogonal rotation ``R`` that minimises
    the quantization loss

    .. math:: \\min_{B \\in \\{-1,1\\}^{n \\times L},\\ R^T R = I} \\|B - V R\\|_F^2

    by alternating ``B = sign(V R)`` and the orthogonal Procrustes solution for
    ``R``, from a random orthogonal start (Gong & Lazebnik's unsupervised
    PCA-ITQ).

    Parameters
    ----------
    n_bits : int, default=32
        Code length; at most ``n_features``.
    max_iter : int, default=50
        Number of alternations (the paper uses 50; 20-50 suffice).
    random_state : int, RandomState instance or None, default=None
        Seed of the initial random rotation.
    verbose : int, default=0
        Print the quantization loss at each alternation when > 0.

    Attributes
    ----------
    mean_ : ndarray of shape (n_features,)
        Training mean.
    components_ : ndarray of shape (n_features, n_bits)
        Principal directions.
    rotation_ : ndarray of shape (n_bits, n_bits)
        The learned orthogonal rotation.
    loss_curve_ : list of float
        Quantization loss ``||B - V R||_F^2`` at each iteration.
    n_iter_ : int
        Number of iterations run.
    n_bits_ : int
        Code length.
    n_features_in_ : int
        Number of features seen in ``fit``.

    See Also
    --------
    PCAH : The same projections without the rotation.

    References
    ----------
    Y. Gong, S. Lazebnik, "Iterative quantization: a Procrustean approach to
    learning binary codes", CVPR 2011; Y. Gong, S. Lazebnik, A. Gordo,
    F. Perronnin, TPAMI 2013.

    Examples
    --------
    >>> import numpy as np
    >>> from skhash import ITQ
    >>> X = np.random.default_rng(0).normal(size=(200, 32))
    >>> itq = ITQ(n_bits=16, random_state=0).fit(X)
    >>> itq.transform(X[:3]).shape, itq.rotation_.shape
    ((3, 2), (16, 16))
    """

    _parameter_constraints: dict = {
        **BaseHasher._parameter_constraints,
        "max_iter": [IntInterval(0, None, closed="left")],
        "verbose": ["verbose"],
    }

    def __init__(self, n_bits=32, *, max_iter=50, random_state=None, verbose=0):
        self.n_bits = n_bits
        self.max_iter = max_iter
        self.random_state = random_state
        self.verbose = verbose

    def _fit(self, X, y):
        check_n_bits_le_features(self, X.shape[1])
        rng = check_random_state(self.random_state)
        self.mean_ = X.mean(axis=0)
        Xc = X - self.mean_
        W, _ = principal_directions(Xc, self.n_bits)
        V = (Xc @ W).astype(np.float64, copy=False)
        R0 = random_rotation(self.n_bits, rng)
        with limit_blas_threads(V.shape[0] * self.n_bits**2):
            R, losses = itq_rotation(
                V,
                R0,
                self.max_iter,
                callback=loss_printer("ITQ", self.max_iter) if self.verbose else None,
            )
        self.components_ = W.astype(X.dtype, copy=False)
        self.rotation_ = R.astype(X.dtype, copy=False)
        self.loss_curve_ = losses
        self.n_iter_ = self.max_iter

    def _project(self, X):
        return ((X - self.mean_) @ self.components_) @ self.rotation_
