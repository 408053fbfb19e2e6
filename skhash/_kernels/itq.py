"""Iterative quantization (Gong & Lazebnik): the Procrustes alternation."""

import numpy as np


def random_rotation(n, rng):
    """Random orthogonal ``(n, n)`` matrix (QR of a Gaussian matrix, sign-fixed)."""
    A = rng.standard_normal((n, n))
    Q, R = np.linalg.qr(A)
    return Q * np.where(np.diag(R) < 0, -1.0, 1.0)


def itq_rotation(V, R, max_iter, callback=None):
    """Minimise ``||B - V R||_F`` over B in {-1, +1} and orthogonal R.

    Alternates ``B = sign(V R)`` (with sign(0) = +1) and the orthogonal
    Procrustes update ``R = U W^T`` where ``V^T B = U S W^T``.

    Parameters
    ----------
    V : ndarray, shape (n, L)
        Centred, PCA-projected data.
    R : ndarray, shape (L, L)
        Initial orthogonal rotation.
    max_iter : int
        Number of alternations.
    callback : callable, default=None
        Called as ``callback(iteration, loss)`` after each loss is computed.

    Returns
    -------
    R : ndarray, shape (L, L)
        The learned rotation.
    losses : list of float
        Quantization loss ``||B - V R||_F^2`` before each rotation update.
    """
    losses = []
    for it in range(max_iter):
        Z = V @ R
        B = np.where(Z >= 0, 1.0, -1.0)
        losses.append(float(((B - Z) ** 2).sum()))
        if callback is not None:
            callback(it, losses[-1])
        U, _, Wt = np.linalg.svd(V.T @ B)
        R = U @ Wt
    return R, losses


def loss_printer(name, max_iter):
    """Callback of ``itq_rotation`` printing one line per alternation."""

    def callback(it, loss):
        print(f"[{name}] iteration {it + 1}/{max_iter}: quantization loss {loss:.6g}")

    return callback
