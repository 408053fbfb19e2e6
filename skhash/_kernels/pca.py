"""Principal directions with a deterministic sign convention."""

import numpy as np


def principal_directions(Xc, n_components):
    """Top principal directions of centred data.

    Parameters
    ----------
    Xc : ndarray, shape (n, d)
        Centred data.
    n_components : int
        Number of directions, ``<= d``.

    Returns
    -------
    W : ndarray, shape (d, n_components)
        Orthonormal columns, by decreasing variance. Each column's entry of
        largest magnitude is made positive, so the result is deterministic.
    variances : ndarray, shape (n_components,)
        Variance of the data along each direction.
    """
    n, d = Xc.shape
    cov = Xc.T @ Xc / max(n - 1, 1)
    evals, evecs = np.linalg.eigh(cov)
    order = np.argsort(evals)[::-1][:n_components]
    W = evecs[:, order]
    idx = np.argmax(np.abs(W), axis=0)
    signs = np.sign(W[idx, np.arange(W.shape[1])])
    signs[signs == 0] = 1
    return W * signs, np.maximum(evals[order], 0)
