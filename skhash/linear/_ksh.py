"""Kernel-based Supervised Hashing."""

from numbers import Real

import numpy as np
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Interval

from skhash._blas import limit_blas_threads
from skhash._kernels import ksh as _ksh
from skhash._kernels.sdh import squared_distances
from skhash._validation import IntInterval, check_kernel_width, check_memory
from skhash.base import BaseHasher
from skhash.linear._sdh import label_indicator
from skhash.linear._validation import draw_anchors


def pairwise_label_signs(y):
    """``S`` with +1 where two samples share a label, -1 elsewhere."""
    Y, _ = label_indicator(y)
    return np.where(Y @ Y.T > 0, 1.0, -1.0)


class KSH(BaseHasher):
    """Kernel-based Supervised Hashing (KSH).

    Each bit is a kernel hash function on ``m`` random anchors ``x_(j)``,

    .. math:: h_k(x) = \\operatorname{sgn}\\Big(\\sum_{j=1}^m
              (\\kappa(x_{(j)}, x) - \\mu_j)\\, a_{jk}\\Big),

    with a Gaussian kernel ``kappa`` whose features are centred by their
    training means ``mu_j`` (which is the paper's bias ``b_k``). On ``l``
    labelled samples with pairwise labels ``S`` (+1 when two samples share a
    label, -1 otherwise), KSH fits code inner products to the scaled labels,

    .. math:: \\min_{A}\\ \\|H_l H_l^T - L\\, S\\|_F^2,
              \\quad H_l = \\operatorname{sgn}(\\bar K_l A),

    greedily, one bit at a time: with the residue
    ``R_{k-1} = L S - sum_{t<k} h_t h_t^T``, bit ``k`` minimises
    ``-h_k^T R_{k-1} h_k``. Its projection ``a_k`` starts from the spectral
    relaxation (the top generalised eigenvector of
    ``K^T R K a = lambda K^T K a``, scaled to ``||K a||^2 = l``) and is refined
    by gradient descent on the smoothed cost, where ``sgn`` is replaced by
    ``phi(z) = 2 / (1 + exp(-z)) - 1``.

    Parameters
    ----------
    n_bits : int, default=32
        Code length ``L``.
    n_anchors : int, default=300
        Number ``m`` of anchors, drawn at random from the training samples.
        More than ``n_samples`` uses every sample, with a ``UserWarning``.
    n_labeled : int, default=2000
        Number ``l`` of training samples whose labels form the ``l x l``
        pairwise matrix (the paper uses 1,000-2,000; memory grows as ``l^2``).
        Drawn at random; fewer samples: all of them.
    sigma : float, default=None
        Gaussian kernel width. ``None``: ``sigma^2`` is the mean squared
        distance from the training samples to the anchors (the official code).
    max_iter : int, default=500
        Gradient-descent iterations per bit (0 keeps the spectral solution).
    random_state : int, RandomState instance or None, default=None
        Seed of the anchors and of the labelled subset.
    verbose : int, default=0
        Print the fit error after each bit when > 0.

    Attributes
    ----------
    anchors_ : ndarray of shape (n_anchors_, n_features)
        The anchors.
    n_anchors_ : int
        Number of anchors used, ``min(n_anchors, n_samples)``.
    sigma_ : float
        Kernel width used.
    kernel_mean_ : ndarray of shape (n_anchors_,)
        Training mean of the kernel features (the bias).
    projection_ : ndarray of shape (n_anchors_, n_bits)
        The projections ``A``.
    loss_curve_ : list of float
        ``||H_l H_l^T - L S||_F^2`` on the labelled subset after each bit.
    n_iter_ : int
        Largest number of gradient-descent iterations run for one bit.
    bit_balance_ : ndarray of shape (n_bits,)
        Fraction of training samples whose bit is 1, per bit.
    n_bits_ : int
        Code length.
    n_features_in_ : int
        Number of features seen in ``fit``.

    See Also
    --------
    SDH : Supervised Discrete Hashing, on the same kind of RBF anchor features.
    CCAITQ : A linear supervised baseline.

    Notes
    -----
    ``y`` is 1-D class labels (same class = similar) or a 0/1 multi-label
    indicator (at least one shared label = similar). The paper refines each
    bit with Nesterov's accelerated gradient; here the same smoothed cost is
    minimised by L-BFGS (``scipy.optimize``), a solver change only. As in the
    official code, the refined projection replaces the spectral one only when
    its *discrete* cost ``-h^T R h`` is lower, so each bit is at least as good
    as the spectral relaxation. When every sample has exactly one label,
    ``S = 2 Y Y^T - 1`` and the residue is applied in low-rank form, never
    built (``O(l (c + L))`` per product instead of ``O(l^2)``; same values up
    to rounding); memory is then ``O(l (c + L) + n m)``, otherwise
    ``O(l^2 + n m)``.

    References
    ----------
    W. Liu, J. Wang, R. Ji, Y.-G. Jiang, S.-F. Chang, "Supervised Hashing with
    Kernels", CVPR 2012.

    Examples
    --------
    >>> import numpy as np
    >>> from skhash.linear._ksh import KSH
    >>> rng = np.random.default_rng(0)
    >>> X, y = rng.normal(size=(100, 8)), rng.integers(0, 3, size=100)
    >>> ksh = KSH(n_bits=12, n_anchors=20, max_iter=20, random_state=0).fit(X, y)
    >>> codes = ksh.transform(X[:4])
    >>> codes.shape, codes.dtype
    ((4, 2), dtype('uint8'))
    """

    _requires_y = True
    _parameter_constraints: dict = {
        **BaseHasher._parameter_constraints,
        "n_anchors": [IntInterval(1, None, closed="left")],
        "n_labeled": [IntInterval(2, None, closed="left")],
        "sigma": [Interval(Real, 0, None, closed="neither"), None],
        "max_iter": [IntInterval(0, None, closed="left")],
        "verbose": ["verbose"],
    }

    def __init__(
        self,
        n_bits=32,
        *,
        n_anchors=300,
        n_labeled=2000,
        sigma=None,
        max_iter=500,
        random_state=None,
        verbose=0,
    ):
        self.n_bits = n_bits
        self.n_anchors = n_anchors
        self.n_labeled = n_labeled
        self.sigma = sigma
        self.max_iter = max_iter
        self.random_state = random_state
        self.verbose = verbose

    def _fit(self, X, y):
        rng = check_random_state(self.random_state)
        X64 = np.asarray(X, dtype=np.float64)
        n = X64.shape[0]
        rows = draw_anchors(self, n, rng)
        m = len(rows)
        l_ = min(self.n_labeled, n)
        check_memory(
            self,
            8 * (n * m + m * self.n_bits + l_ * l_ + l_ * self.n_bits),
            f"its kernel, projection and label matrices with n_bits={self.n_bits}, "
            f"n_samples={n}, n_anchors={m}, n_labeled={l_}",
        )
        self.anchors_ = X64[rows]
        self.n_anchors_ = m
        if self.sigma is None:
            d2 = float(squared_distances(X64, self.anchors_).mean())
            sigma = np.sqrt(d2) if d2 > 0 else 1.0
        else:
            sigma = float(self.sigma)
        check_kernel_width(self, sigma)
        self.sigma_ = float(sigma)
        K = _ksh.kernel_features(X64, self.anchors_, self.sigma_)
        self.kernel_mean_ = K.mean(axis=0)
        K -= self.kernel_mean_
        labeled = np.sort(rng.choice(n, size=l_, replace=False))
        Y, _ = label_indicator(np.asarray(y)[labeled])
        if np.all(Y.sum(axis=1) == 1):
            # one label per sample: S = 2 Y Y^T - 1, residue kept low-rank
            S, onehot = None, Y
        else:
            S, onehot = np.where(Y @ Y.T > 0, 1.0, -1.0), None
        # Per iteration: products of the l x m kernel matrix with vectors.
        with limit_blas_threads(K.shape[1] * l_):
            A, losses, n_iters = _ksh.greedy_ksh(
                K[labeled],
                S,
                self.n_bits,
                self.max_iter,
                verbose=self.verbose,
                labels=onehot,
            )
        self.projection_ = A.astype(X.dtype, copy=False)
        self.loss_curve_ = losses
        self.n_iter_ = max(n_iters)
        self.bit_balance_ = (K @ A >= 0).mean(axis=0)

    def _project(self, X):
        K = _ksh.kernel_features(
            np.asarray(X, dtype=np.float64),
            self.anchors_,
            self.sigma_,
            self.kernel_mean_,
        )
        return (K @ self.projection_).astype(X.dtype, copy=False)
