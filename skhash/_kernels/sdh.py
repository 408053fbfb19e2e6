"""Supervised discrete hashing (SDH) pieces: RBF anchor features and ridge steps.

Samples are rows. ``Phi`` is the ``(n, m + 1)`` matrix of RBF features to
``m`` anchors plus a constant column.
"""

import numpy as np


def squared_distances(X, A):
    """Squared Euclidean distances ``(n, m)`` between rows of X and A, >= 0."""
    d = (
        np.einsum("ij,ij->i", X, X)[:, None]
        - 2.0 * (X @ A.T)
        + np.einsum("ij,ij->i", A, A)[None, :]
    )
    return np.maximum(d, 0.0, out=d)


def rbf_anchor_features(X, anchors, sigma):
    """``[exp(-||x - a_j||^2 / (2 sigma^2))_j, 1]``, shape ``(n, m + 1)``."""
    K = np.exp(-squared_distances(X, anchors) / (2.0 * sigma * sigma))
    return np.hstack([K, np.ones((X.shape[0], 1), dtype=K.dtype)])


def nearest_anchor_width(X, anchors):
    """Mean Euclidean distance from each sample to its nearest anchor."""
    return float(np.sqrt(squared_distances(X, anchors).min(axis=1)).mean())


def ridge(A, T, alpha):
    """``argmin_W ||T - A W||_F^2 + alpha ||W||_F^2 = (A^T A + alpha I)^-1 A^T T``."""
    G = A.T @ A
    G[np.diag_indices_from(G)] += alpha
    return np.linalg.solve(G, A.T @ T)
