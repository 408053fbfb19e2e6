"""Supervised Discrete Hashing."""

from numbers import Real

import numpy as np
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Interval

from skhash._kernels import sdh as _sdh
from skhash._kernels.dcc import dcc
from skhash._validation import IntInterval, check_kernel_width, check_memory
from skhash.base import BaseHasher
from skhash.linear._validation import draw_anchors


def label_indicator(y):
    """Labels as a float ``(n, n_classes)`` 0/1 indicator matrix.

    1-D ``y`` (class labels) is one-hot encoded in the order of
    ``np.unique(y)``; a 2-D ``y`` must already be a 0/1 multi-label indicator.
    Returns the indicator and whether ``y`` was single-label.
    """
    y = np.asarray(y)
    if y.ndim == 2 and y.shape[1] == 1:
        y = y.ravel()
    if y.ndim == 1:
        classes, inverse = np.unique(y, return_inverse=True)
        Y = np.zeros((y.shape[0], len(classes)))
        Y[np.arange(y.shape[0]), inverse] = 1.0
        return Y, True
    Y = y.astype(np.float64)
    if not np.all((Y == 0) | (Y == 1)):
        raise ValueError(
            "y must be 1-D class labels or a 2-D 0/1 multi-label indicator "
            "matrix; the 2-D y given has values other than 0 and 1."
        )
    return Y, False


class SDH(BaseHasher):
    """Supervised Discrete Hashing (SDH).

    Codes ``B`` in {-1, +1} must predict the labels linearly and be predicted
    by a hash function ``sign(P^T phi(x))`` of RBF features ``phi`` to random
    anchors. SDH minimises (samples as rows)

    .. math::

        \\min_{B, W, P}\\ \\|Y - B W\\|_F^2 + \\lambda \\|W\\|_F^2
        + \\nu \\left(\\|B - \\Phi P\\|_F^2 + \\delta \\|P\\|_F^2\\right),
        \\quad B \\in \\{-1, 1\\}^{n \\times L}

    by alternating exact ridge steps for ``P`` and ``W`` with a discrete cyclic
    coordinate descent (DCC) over the bits of ``B``, from random codes. No
    pairwise matrix is ever formed, so memory is ``O(n (m + L + C))``.

    Parameters
    ----------
    n_bits : int, default=32
        Code length ``L``.
    n_anchors : int, default=1000
        Number ``m`` of random training samples used as RBF anchors. More
        than ``n_samples`` uses every sample, with a ``UserWarning``.
    sigma : float, default=None
        RBF width. ``None``: the mean Euclidean distance from each training
        sample to its nearest anchor (the official ``runSDH``), leaving out
        zero distances (a sample's own anchor, duplicates), so that anchors
        drawn from the samples, or all of them, do not shrink the width.
    label_ridge : float, default=1.0
        Ridge ``lambda`` of the label regression ``W``; positive (at 0 the
        regression on +-1 codes is singular as soon as two bits agree).
    quantization_weight : float, default=1e-5
        Weight ``nu`` of the hash-function fitting term.
    hash_ridge : float, default=1e-2
        Ridge ``delta`` of the hash-function regression ``P``.
    max_iter : int, default=5
        Outer alternations.
    n_sweeps : int, default=10
        DCC passes over the bits in each B-step.
    random_state : int, RandomState instance or None, default=None
        Seed of the anchors and of the initial random codes.
    verbose : int, default=0
        Print the objective after each alternation when > 0.

    Attributes
    ----------
    anchors_ : ndarray of shape (n_anchors_, n_features)
        The RBF anchors.
    n_anchors_ : int
        Number of anchors used, ``min(n_anchors, n_samples)``.
    sigma_ : float
        The RBF width used.
    projection_ : ndarray of shape (n_anchors_ + 1, n_bits)
        Hash function ``P`` (last row: bias).
    classifier_ : ndarray of shape (n_bits, n_classes)
        Label regression ``W`` on the codes.
    loss_curve_ : list of float
        Objective above after each alternation (never increases).
    n_iter_ : int
        Alternations run.
    bit_balance_ : ndarray of shape (n_bits,)
        Fraction of training samples whose bit is 1, per bit.
    n_bits_ : int
        Code length.
    n_features_in_ : int
        Number of features seen in ``fit``.

    See Also
    --------
    skhash.deep.SHBDNN : The supervised binary deep network compared with SDH.

    Notes
    -----
    Steps per alternation: ``P = (Phi^T Phi + delta I)^-1 Phi^T B``, then
    ``W = (B^T B + lambda I)^-1 B^T Y``, then DCC on
    ``tr(B W W^T B^T) - 2 tr(B^T (Y W^T + nu Phi P))`` warm-started from the
    current ``B``; each step minimises the objective over its block, so
    ``loss_curve_`` never increases. The official code regularises the
    P-step with ``delta = 1e-2`` although the paper writes a plain least
    squares; ``delta`` is written into the objective above so the alternation
    stays exact. ``Y`` is the 0/1 class indicator (one-hot for 1-D ``y``; a
    multi-label indicator as given). Codes of new data, database included,
    come from ``sign(P^T phi(x))`` (bit = 1 where ``>= 0``), not from the
    learned ``B``.

    References
    ----------
    F. Shen, C. Shen, W. Liu, H. T. Shen, "Supervised Discrete Hashing",
    CVPR 2015.

    Examples
    --------
    >>> import numpy as np
    >>> from skhash.linear._sdh import SDH
    >>> rng = np.random.default_rng(0)
    >>> X, y = rng.normal(size=(100, 8)), rng.integers(0, 3, size=100)
    >>> sdh = SDH(n_bits=12, n_anchors=20, random_state=0).fit(X, y)
    >>> codes = sdh.transform(X[:4])
    >>> codes.shape, codes.dtype
    ((4, 2), dtype('uint8'))
    """

    _requires_y = True
    _parameter_constraints: dict = {
        **BaseHasher._parameter_constraints,
        "n_anchors": [IntInterval(1, None, closed="left")],
        "sigma": [Interval(Real, 0, None, closed="neither"), None],
        "label_ridge": [Interval(Real, 0, None, closed="neither")],
        "quantization_weight": [Interval(Real, 0, None, closed="left")],
        "hash_ridge": [Interval(Real, 0, None, closed="left")],
        "max_iter": [IntInterval(0, None, closed="left")],
        "n_sweeps": [IntInterval(1, None, closed="left")],
        "verbose": ["verbose"],
    }

    def __init__(
        self,
        n_bits=32,
        *,
        n_anchors=1000,
        sigma=None,
        label_ridge=1.0,
        quantization_weight=1e-5,
        hash_ridge=1e-2,
        max_iter=5,
        n_sweeps=10,
        random_state=None,
        verbose=0,
    ):
        self.n_bits = n_bits
        self.n_anchors = n_anchors
        self.sigma = sigma
        self.label_ridge = label_ridge
        self.quantization_weight = quantization_weight
        self.hash_ridge = hash_ridge
        self.max_iter = max_iter
        self.n_sweeps = n_sweeps
        self.random_state = random_state
        self.verbose = verbose

    def _objective(self, Y, B, W, Phi, P):
        nu = self.quantization_weight
        return float(
            ((Y - B @ W) ** 2).sum()
            + self.label_ridge * (W**2).sum()
            + nu * (((B - Phi @ P) ** 2).sum() + self.hash_ridge * (P**2).sum())
        )

    def _fit(self, X, y):
        rng = check_random_state(self.random_state)
        Y, _ = label_indicator(y)
        X64 = np.asarray(X, dtype=np.float64)
        n = X64.shape[0]
        rows = draw_anchors(self, n, rng)
        m = len(rows)
        L = self.n_bits
        check_memory(
            self,
            8 * (n * m + 3 * n * L + L * L + m * L),
            f"its (n_samples, n_bits) and (n_bits, n_bits) matrices with "
            f"n_bits={L}, n_samples={n}, n_anchors={m}",
        )
        self.anchors_ = X64[rows]
        self.n_anchors_ = m
        if self.sigma is None:
            sigma = _sdh.nearest_anchor_width(X64, self.anchors_, rows)
        else:
            sigma = float(self.sigma)
        check_kernel_width(self, sigma)
        self.sigma_ = sigma
        Phi = _sdh.rbf_anchor_features(X64, self.anchors_, sigma)
        L = self.n_bits
        B = np.where(rng.standard_normal((n, L)) >= 0, 1.0, -1.0)
        nu = self.quantization_weight
        P = W = None
        losses = []
        for it in range(self.max_iter):
            P = _sdh.ridge(Phi, B, self.hash_ridge)
            W = _sdh.ridge(B, Y, self.label_ridge)
            Q = Y @ W.T + nu * (Phi @ P)
            B = dcc(B, Q, W @ W.T, self.n_sweeps)
            losses.append(self._objective(Y, B, W, Phi, P))
            if self.verbose > 0:
                print(
                    f"SDH iteration {it + 1}/{self.max_iter}: "
                    f"objective {losses[-1]:.6g}"
                )
        if P is None:  # max_iter=0: hash function fitted to the random codes
            P = _sdh.ridge(Phi, B, self.hash_ridge)
            W = _sdh.ridge(B, Y, self.label_ridge)
        self.projection_ = P.astype(X.dtype, copy=False)
        self.classifier_ = W
        self.loss_curve_ = losses
        self.n_iter_ = len(losses)
        self.bit_balance_ = (Phi @ P >= 0).mean(axis=0)

    def _project(self, X):
        Phi = _sdh.rbf_anchor_features(
            np.asarray(X, dtype=np.float64), self.anchors_, self.sigma_
        )
        return (Phi @ self.projection_).astype(X.dtype, copy=False)
