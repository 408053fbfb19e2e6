"""Exact Euclidean nearest-neighbour ground truth, computed in chunks."""

import numpy as np

__all__ = ["euclidean_ground_truth"]


def euclidean_ground_truth(
    X_query, X_database, k, *, chunk_size=None, return_distance=False
):
    """Exact Euclidean ``k`` nearest database items of every query.

    Distances are screened with the fast expansion
    ``|q|^2 - 2 q.x + |x|^2`` in float64, one block of queries at a time, and
    every candidate within a rounding margin of the ``k``-th smallest is then
    re-scored exactly as ``sum((q - x)^2)``; the result is sorted by (distance,
    database index), so ties are broken by index. Memory is bounded by
    ``chunk_size * n_database`` float64 values.

    Parameters
    ----------
    X_query : array-like of shape (n_queries, n_features)
    X_database : array-like of shape (n_database, n_features)
    k : int
        Number of neighbours, ``1 <= k <= n_database``.
    chunk_size : int, default=None
        Queries per block; default keeps a block under about 256 MB.
    return_distance : bool, default=False
        Also return the Euclidean distances.

    Returns
    -------
    distances : ndarray of shape (n_queries, k), float64
        Only if ``return_distance`` is True.
    indices : ndarray of shape (n_queries, k), int64
        Database indices, nearest first, ties by index.

    Examples
    --------
    >>> import numpy as np
    >>> from skhash.datasets import euclidean_ground_truth
    >>> db = np.array([[0.0], [2.0], [1.0], [-1.0]])
    >>> euclidean_ground_truth(np.array([[0.0]]), db, 3)
    array([[0, 2, 3]])
    """
    Q = np.asarray(X_query, dtype=np.float64)
    D = np.asarray(X_database, dtype=np.float64)
    if Q.ndim != 2 or D.ndim != 2:
        raise ValueError("X_query and X_database must be 2-D arrays.")
    if Q.shape[1] != D.shape[1]:
        raise ValueError(
            f"X_query has {Q.shape[1]} features but X_database has {D.shape[1]}."
        )
    if not (np.isfinite(Q).all() and np.isfinite(D).all()):
        raise ValueError("X_query and X_database must not contain NaN or inf.")
    n_db = D.shape[0]
    if (
        not isinstance(k, (int, np.integer))
        or isinstance(k, bool)
        or not (1 <= k <= n_db)
    ):
        raise ValueError(f"k must be an int in [1, n_database={n_db}]; got {k!r}.")
    if chunk_size is None:
        chunk_size = max(1, (256 * 2**20) // (8 * max(n_db, 1)))
    elif int(chunk_size) < 1:
        raise ValueError(f"chunk_size must be >= 1; got {chunk_size!r}.")
    chunk_size = int(chunk_size)

    d_norm = np.einsum("ij,ij->i", D, D)
    d_scale = float(d_norm.max()) if n_db else 0.0
    # Rounding bound of the expansion, relative to the norms involved.
    eps = 8 * np.finfo(np.float64).eps * (Q.shape[1] + 4)
    out_i = np.empty((Q.shape[0], k), dtype=np.int64)
    out_d = np.empty((Q.shape[0], k), dtype=np.float64)
    for start in range(0, Q.shape[0], chunk_size):
        q = Q[start : start + chunk_size]
        q_norm = np.einsum("ij,ij->i", q, q)
        approx = q_norm[:, None] - 2.0 * (q @ D.T) + d_norm[None, :]
        kth = np.partition(approx, k - 1, axis=1)[:, k - 1]
        margin = eps * (q_norm + d_scale) + 1e-300
        for r in range(q.shape[0]):
            cand = np.flatnonzero(approx[r] <= kth[r] + margin[r])
            diff = D[cand] - q[r]
            exact = np.einsum("ij,ij->i", diff, diff)
            order = np.lexsort((cand, exact))[:k]
            out_i[start + r] = cand[order]
            out_d[start + r] = np.sqrt(exact[order])
    if return_distance:
        return out_d, out_i
    return out_i
