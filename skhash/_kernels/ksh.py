"""Kernel-based supervised hashing (KSH, Liu et al. CVPR 2012): the greedy solver.

Samples are rows. ``K`` is the ``(l, m)`` matrix of *centred* kernel features
of the ``l`` labelled samples to ``m`` anchors; ``R`` is the ``(l, l)``
residue ``L S - sum_{t<k} h_t h_t^T`` of the code inner-product fit, with
``S`` the +-1 pairwise label matrix. Bit ``k`` is ``h_k = sgn(K a_k)``.

The residue is only ever used through products (``R p``, ``K^T R K``,
``h^T R h``, ``||R||_F``). For single-label data ``S = 2 Y Y^T - 1 1^T``
(``Y`` the one-hot labels), so ``R = P Q^T`` with ``P = [2L Y, -L 1, -H]`` and
``Q = [Y, 1, H]`` (``H`` the bits learned so far) has rank at most
``n_classes + 1 + k``: :class:`LowRankResidue` applies it in ``O(l (c + k))``
instead of the ``O(l^2)`` of the dense :class:`DenseResidue` (same values up
to rounding).
"""

import numpy as np
import scipy.linalg
import scipy.optimize

from skhash._kernels.sdh import squared_distances


def kernel_features(X, anchors, sigma, mean=None):
    """Gaussian kernel to anchors, ``exp(-||x - a_j||^2 / (2 sigma^2))``.

    Returns the ``(n, m)`` features minus ``mean`` (the training mean of the
    features; ``None``: no centring).
    """
    K = np.exp(-squared_distances(X, anchors) / (2.0 * sigma * sigma))
    if mean is not None:
        K -= mean
    return K


def phi(z):
    """The sign's smooth surrogate ``2 / (1 + exp(-z)) - 1 = tanh(z / 2)``."""
    return np.tanh(0.5 * z)


class DenseResidue:
    """The residue ``R`` as a dense symmetric ``(l, l)`` matrix (any labels)."""

    def __init__(self, R):
        self.R = np.array(R, dtype=np.float64)

    def matvec(self, p):
        return self.R @ p

    def sandwich(self, K):
        """``K^T R K``."""
        return K.T @ self.R @ K

    def subtract(self, h):
        """``R <- R - h h^T``."""
        self.R -= np.outer(h, h)

    def frobenius2(self):
        return float(np.sum(self.R * self.R))


class LowRankResidue:
    """The residue of single-label data as ``R = P Q^T`` (see the module doc).

    Parameters
    ----------
    Y : ndarray of shape (l, c)
        One-hot labels (exactly one 1 per row), so ``S = 2 Y Y^T - 1``.
    scale : float
        ``L``, the code length that scales ``S``.
    """

    def __init__(self, Y, scale):
        Y = np.asarray(Y, dtype=np.float64)
        one = np.ones((Y.shape[0], 1))
        self.P = np.hstack([2.0 * scale * Y, -scale * one])
        self.Q = np.hstack([Y, one])

    def matvec(self, p):
        return self.P @ (self.Q.T @ p)

    def sandwich(self, K):
        """``K^T R K = (K^T P)(Q^T K)``."""
        return (K.T @ self.P) @ (self.Q.T @ K)

    def subtract(self, h):
        """``R <- R - h h^T``: one more column in ``P`` and ``Q``."""
        h = np.asarray(h, dtype=np.float64)[:, None]
        self.P = np.hstack([self.P, -h])
        self.Q = np.hstack([self.Q, h])

    def frobenius2(self):
        """``||P Q^T||_F^2 = sum((P^T P) * (Q^T Q))``."""
        return float(np.sum((self.P.T @ self.P) * (self.Q.T @ self.Q)))


def _as_residue(R):
    if isinstance(R, DenseResidue | LowRankResidue):
        return R
    return DenseResidue(R)


def smoothed_cost(a, K, R):
    """``-phi(K a)^T R phi(K a)`` and its gradient with respect to ``a``.

    Uses ``phi'(z) = (1 - phi(z)^2) / 2`` and the symmetry of ``R`` (an
    ``(l, l)`` array or a residue object).
    """
    R = _as_residue(R)
    p = phi(K @ a)
    Rp = R.matvec(p)
    f = -float(p @ Rp)
    grad = -K.T @ (Rp * (1.0 - p * p))
    return f, grad


def discrete_cost(h, R):
    """``-h^T R h`` for a +-1 vector ``h``: the bit's share of the fit error."""
    return -float(h @ _as_residue(R).matvec(h))


def sgn(z):
    """+-1 signs with sgn(0) = +1."""
    return np.where(z >= 0, 1.0, -1.0)


def spectral_projection(K, R, ridge=1e-10):
    """Spectral relaxation of one bit: ``max a^T K^T R K a, a^T K^T K a = l``.

    Solves the generalised symmetric eigenproblem ``K^T R K a = lambda K^T K a``
    (a tiny ridge keeps ``K^T K`` positive definite) and scales the top
    eigenvector so that ``||K a||^2 = l``. Sign: the entry of largest
    magnitude is positive (deterministic).
    """
    G = K.T @ K
    G = 0.5 * (G + G.T)
    G[np.diag_indices_from(G)] += ridge * max(float(np.trace(G)) / len(G), 1.0)
    M = _as_residue(R).sandwich(K)
    M = 0.5 * (M + M.T)
    m = len(G)
    _, vecs = scipy.linalg.eigh(M, G, subset_by_index=[m - 1, m - 1])
    a = vecs[:, -1]
    a = a * np.sign(a[np.argmax(np.abs(a))] or 1.0)
    norm2 = float(np.sum((K @ a) ** 2))
    if norm2 > 0:
        a = a * np.sqrt(K.shape[0] / norm2)
    return a


def greedy_ksh(K, S, n_bits, max_iter=500, verbose=0, labels=None):
    """Learn the KSH projections bit by bit.

    Parameters
    ----------
    K : ndarray, shape (l, m)
        Centred kernel features of the labelled samples.
    S : ndarray, shape (l, l) or None
        Pairwise labels, +1 similar, -1 dissimilar. Ignored when ``labels``
        is given.
    n_bits : int
        Code length ``L``.
    max_iter : int
        Gradient-descent iterations per bit on the smoothed cost (0: keep the
        spectral solution).
    verbose : int
        Print the fit error after each bit when > 0.
    labels : ndarray, shape (l, c), default=None
        One-hot labels of single-label data (``S = 2 Y Y^T - 1``): the
        residue is then kept in low-rank form (:class:`LowRankResidue`),
        ``O(l (c + L))`` per product instead of ``O(l^2)``.

    Returns
    -------
    A : ndarray, shape (m, n_bits)
        Projections; bit ``k`` of a sample with centred features ``k(x)`` is
        ``k(x) @ A[:, k] >= 0``.
    losses : list of float
        ``||H H^T - L S||_F^2`` over the labelled samples after each bit.
    n_iters : list of int
        Gradient-descent iterations run for each bit.
    """
    L = int(n_bits)
    if labels is not None:
        R = LowRankResidue(labels, L)
    else:
        R = DenseResidue(L * np.asarray(S, dtype=np.float64))
    A = np.zeros((K.shape[1], L))
    losses, n_iters = [], []
    for k in range(L):
        a0 = spectral_projection(K, R)
        h0 = sgn(K @ a0)
        best_a, best_cost = a0, discrete_cost(h0, R)
        n_iters.append(0)
        if max_iter > 0:
            res = scipy.optimize.minimize(
                smoothed_cost,
                a0,
                args=(K, R),
                jac=True,
                method="L-BFGS-B",
                options={"maxiter": int(max_iter)},
            )
            n_iters[-1] = int(res.nit)
            h1 = sgn(K @ res.x)
            cost1 = discrete_cost(h1, R)
            if cost1 < best_cost:
                best_a, best_cost = res.x, cost1
        A[:, k] = best_a
        h = sgn(K @ best_a)
        R.subtract(h)
        losses.append(R.frobenius2())
        if verbose > 0:
            print(f"KSH bit {k + 1}/{L}: fit error {losses[-1]:.6g}")
    return A, losses, n_iters
