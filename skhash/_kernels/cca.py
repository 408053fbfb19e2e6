"""Canonical correlation analysis as CCA-ITQ uses it (Gong & Lazebnik)."""

import numpy as np
import scipy.linalg


def cca_directions(Xc, Y, n_components, reg=1e-4):
    """Top canonical directions of the data ``Xc`` against the labels ``Y``.

    Solves ``Cxx^-1 Cxy Cyy^-1 Cyx w = r^2 w`` with ridge-regularised
    covariances (``reg`` added to both diagonals, covariances normalised by
    ``n - 1``), as the generalised symmetric problem
    ``Cxy Cyy^-1 Cyx w = r^2 Cxx w``.

    Parameters
    ----------
    Xc : ndarray, shape (n, d)
        Centred data.
    Y : ndarray, shape (n, c)
        Label indicator matrix (centred inside).
    n_components : int
        Number of directions, ``<= d``.
    reg : float
        Ridge on the covariance diagonals.

    Returns
    -------
    W : ndarray, shape (d, n_components)
        Unit-norm directions by decreasing canonical correlation (Matlab's
        ``eig`` normalisation); each column's entry of largest magnitude is
        positive.
    r : ndarray, shape (n_components,)
        Canonical correlations, ``>= 0``.
    """
    n = Xc.shape[0]
    Yc = Y - Y.mean(axis=0)
    denom = max(n - 1, 1)
    Cxx = Xc.T @ Xc / denom
    Cxx[np.diag_indices_from(Cxx)] += reg
    Cyy = Yc.T @ Yc / denom
    Cyy[np.diag_indices_from(Cyy)] += reg
    Cxy = Xc.T @ Yc / denom
    M = Cxy @ np.linalg.solve(Cyy, Cxy.T)
    M = 0.5 * (M + M.T)
    d = Xc.shape[1]
    evals, vecs = scipy.linalg.eigh(
        M, 0.5 * (Cxx + Cxx.T), subset_by_index=[d - n_components, d - 1]
    )
    order = np.argsort(evals)[::-1]
    evals, W = evals[order], vecs[:, order]
    W = W / np.linalg.norm(W, axis=0)
    idx = np.argmax(np.abs(W), axis=0)
    signs = np.sign(W[idx, np.arange(W.shape[1])])
    signs[signs == 0] = 1
    return W * signs, np.sqrt(np.maximum(evals, 0.0))
