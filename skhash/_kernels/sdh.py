"""Supervised discrete hashing (SDH) pieces: RBF anchor features and ridge steps.

Samples are rows. ``Phi`` is the ``(n, m + 1)`` matrix of RBF features to
``m`` anchors plus a constant column.
"""

import numpy as np

#: Entries of one (rows, anchors) distance block.
BLOCK_ENTRIES = 1 << 22


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


def nearest_anchor_width(X, anchors, anchor_rows=None):
    """Mean Euclidean distance from each sample to its nearest other anchor.

    The RBF width of the official ``runSDH`` (the mean over the training
    samples of the distance to the nearest anchor), with zero distances left
    out: a sample's own anchor (``anchor_rows[j]`` is the row of ``X`` that
    anchor ``j`` was drawn from) and anchors equal to the sample, up to
    rounding. Otherwise, with the anchors drawn from the samples, every anchor
    contributes a 0, and with as many anchors as samples the width collapses
    to rounding noise. Samples with no other anchor are left out; 1.0 when
    none remains.

    Parameters
    ----------
    X : ndarray, shape (n, d)
        Training samples.
    anchors : ndarray, shape (m, d)
        Anchors.
    anchor_rows : ndarray of int, shape (m,), default=None
        Row of ``X`` of each anchor, when they were drawn from ``X``.

    Returns
    -------
    sigma : float
    """
    anchor_rows = None if anchor_rows is None else np.asarray(anchor_rows)
    a_sq = np.einsum("ij,ij->i", anchors, anchors)
    nearest = np.empty(X.shape[0])
    step = max(1, BLOCK_ENTRIES // max(len(anchors), 1))  # rows per block
    for s in range(0, X.shape[0], step):
        Xs = X[s : s + step]
        d2 = squared_distances(Xs, anchors)
        # Rounding of the expansion ||x||^2 - 2 x.a + ||a||^2 is relative to
        # the squared norms; below this the two points are the same.
        scale = np.einsum("ij,ij->i", Xs, Xs)[:, None] + a_sq[None, :]
        d2[d2 <= 1e-10 * scale] = np.inf
        if anchor_rows is not None:
            own = (anchor_rows >= s) & (anchor_rows < s + len(Xs))
            d2[anchor_rows[own] - s, np.flatnonzero(own)] = np.inf
        nearest[s : s + len(Xs)] = d2.min(axis=1)
    nearest = nearest[np.isfinite(nearest)]
    return float(np.sqrt(nearest).mean()) if len(nearest) else 1.0


def ridge(A, T, alpha):
    """``argmin_W ||T - A W||_F^2 + alpha ||W||_F^2 = (A^T A + alpha I)^-1 A^T T``."""
    G = A.T @ A
    G[np.diag_indices_from(G)] += alpha
    return np.linalg.solve(G, A.T @ T)
