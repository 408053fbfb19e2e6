"""Exact merging of partial search results (database chunks, shards)."""

import numpy as np


def merge_topk(distances, indices, k):
    """Merge per-shard top-k results into the global top-k, by (distance, index).

    Parameters
    ----------
    distances : list of ndarray of int, each (n_queries, k_s)
        Each shard's distances; rows sorted or not.
    indices : list of ndarray of int64, each (n_queries, k_s)
        Global database indices of the same entries.
    k : int
        Number of neighbours to keep (at most the total of the ``k_s``).

    Returns
    -------
    dist : ndarray of int32, shape (n_queries, k)
    ind : ndarray of int64, shape (n_queries, k)

    Notes
    -----
    Exact as long as each shard returned its own top ``min(k, shard size)``
    under the same (distance, index) order: every global top-k entry is then in
    its shard's list.

    Examples
    --------
    >>> import numpy as np
    >>> from skhash.neighbors import merge_topk
    >>> d, i = merge_topk([np.array([[1, 3]]), np.array([[1, 2]])],
    ...                   [np.array([[5, 6]]), np.array([[0, 9]])], k=3)
    >>> d, i
    (array([[1, 1, 2]], dtype=int32), array([[0, 5, 9]]))
    """
    D = np.concatenate([np.asarray(d, dtype=np.int64) for d in distances], axis=1)
    I = np.concatenate([np.asarray(i, dtype=np.int64) for i in indices], axis=1)
    if k > D.shape[1]:
        raise ValueError(f"k={k} exceeds the {D.shape[1]} merged candidates.")
    # One sort on a combined key: distance in the high bits, index in the low.
    key = (D << 40) | I if I.size and I.max() < (1 << 40) else None
    if key is not None:
        order = np.argsort(key, axis=1, kind="stable")[:, :k]
    else:
        order = np.lexsort((I, D), axis=-1)[:, :k]
    return (
        np.take_along_axis(D, order, 1).astype(np.int32),
        np.take_along_axis(I, order, 1),
    )


def merge_radius(dist_parts, ind_parts):
    """Concatenate per-shard radius results of each query, by (distance, index).

    Parameters
    ----------
    dist_parts, ind_parts : list of list of ndarray
        ``dist_parts[s][q]`` are shard ``s``'s distances for query ``q``.

    Returns
    -------
    dists, inds : list of ndarray (int32, int64), one per query
    """
    n_q = len(dist_parts[0]) if dist_parts else 0
    dists, inds = [], []
    for q in range(n_q):
        d = np.concatenate([p[q] for p in dist_parts]).astype(np.int32, copy=False)
        i = np.concatenate([p[q] for p in ind_parts]).astype(np.int64, copy=False)
        order = np.lexsort((i, d))
        dists.append(d[order])
        inds.append(i[order])
    return dists, inds
