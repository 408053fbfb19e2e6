"""Product quantization maths: k-means per subspace, encoding, ADC/SDC tables,
OPQ's eigenvalue allocation and orthogonal Procrustes, exact ADC search.

Notation (Jégou, Douze, Schmid, TPAMI 2011; Ge, He, Ke, Sun, CVPR 2013):

* ``M`` subspaces, ``K`` codewords per subspace;
* ``bounds``: ``M + 1`` increasing column offsets, subspace ``m`` holds the
  columns ``bounds[m]:bounds[m + 1]`` (equal widths ``D / M`` when ``M`` divides
  ``D``, else widths that differ by at most one);
* ``C``: list of ``M`` sub-codebooks, ``C[m]`` of shape ``(K, d_m)``;
* ``codes``: ``uint8`` ``(n, M)`` codeword indices;
* ``T``: ADC look-up tables ``(n, M, K)``, ``T[i, m, k] = ||x_im - C[m][k]||^2``.

Everything here is arrays in, arrays out: no validation, no scikit-learn.
"""

import numpy as np
from scipy import sparse

#: Bound on the bytes of one temporary distance block (rows x codewords, or
#: queries x database items).
BLOCK_BYTES = 1 << 26


def subspace_bounds(n_features, n_subspaces):
    """Column offsets of ``n_subspaces`` contiguous, nearly equal subspaces.

    The first ``n_features % n_subspaces`` subspaces get one extra column, as
    ``numpy.array_split`` does; with ``n_subspaces`` dividing ``n_features``
    every subspace has ``n_features / n_subspaces`` columns (the paper's split).
    """
    q, r = divmod(int(n_features), int(n_subspaces))
    widths = np.full(n_subspaces, q, dtype=np.int64)
    widths[:r] += 1
    return np.concatenate(([0], np.cumsum(widths)))


def _rows_per_block(n_cols, itemsize=8):
    return max(1, int(BLOCK_BYTES // (max(n_cols, 1) * itemsize)))


def sq_distances(X, C, x_sq=None):
    """Squared Euclidean distances ``(n, K)`` between rows of ``X`` and ``C``.

    Computed as ``||x||^2 - 2 x.c + ||c||^2`` (one matrix product) and clipped
    at 0 against rounding.
    """
    if x_sq is None:
        x_sq = np.einsum("ij,ij->i", X, X)
    c_sq = np.einsum("ij,ij->i", C, C)
    D = X @ C.T
    D *= -2
    D += x_sq[:, None]
    D += c_sq[None, :]
    np.maximum(D, 0, out=D)
    return D


def assign(X, C):
    """Index of the nearest codeword of each row, and the squared distance.

    Processes rows in blocks so the ``(rows, K)`` distance block stays small.
    Ties go to the smallest codeword index (``argmin``).
    """
    n = X.shape[0]
    labels = np.empty(n, dtype=np.int64)
    dist = np.empty(n, dtype=X.dtype)
    step = _rows_per_block(C.shape[0], X.itemsize)
    for s in range(0, n, step):
        D = sq_distances(X[s : s + step], C)
        lab = np.argmin(D, axis=1)
        labels[s : s + step] = lab
        dist[s : s + step] = D[np.arange(len(lab)), lab]
    return labels, dist


def split_empty_clusters(C, counts, sse, rng, eps=1.0 / 1024):
    """Re-seed the empty clusters by splitting clusters with a large error.

    faiss's rule (``split_clusters`` in ``Clustering.cpp``), except for the
    choice of the cluster to split: each empty cluster, in index order, copies
    the centroid of a cluster drawn with probability proportional to its
    squared error ``sse`` (faiss: to its size minus one), and the two copies
    are pushed apart by a relative perturbation of ``eps``, with opposite
    signs on alternate coordinates; the next assignment splits the points
    between them. Weighting by the error never splits a cluster of identical
    points (zero error), which faiss does over and over on the constant border
    pixels of MNIST. The split cluster's error is assumed to drop to a
    quarter in each half. ``C`` (empty rows overwritten) and ``sse`` are
    modified in place; with no error left anywhere the empty rows are kept.

    Parameters
    ----------
    C : ndarray, shape (K, d)
        Centroids; the rows of empty clusters are overwritten.
    counts : ndarray, shape (K,)
        Cluster sizes (0 = empty).
    sse : ndarray of float64, shape (K,)
        Squared error of each cluster.
    rng : numpy.random.RandomState
        Source of the draws.
    eps : float, default=1/1024
        Relative perturbation (faiss's ``EPS``).
    """
    sign = np.where(np.arange(C.shape[1]) % 2 == 0, 1.0, -1.0)
    for ci in np.flatnonzero(counts == 0):
        total = sse.sum()
        if not total > 0:
            return
        cj = rng.choice(len(sse), p=sse / total)
        c = C[cj].astype(np.float64)
        C[ci] = c * (1 + eps * sign)
        C[cj] = c * (1 - eps * sign)
        sse[ci] = sse[cj] = sse[cj] / 4


def update_centroids(X, labels, C_old, dist, rng):
    """k-means update: the mean of each cluster; empty clusters are re-seeded.

    An empty cluster becomes a perturbed copy of a cluster drawn with
    probability proportional to its squared error
    (:func:`split_empty_clusters`), so all ``K`` codewords stay in use where
    the data allow. ``dist`` is each point's squared distance to its centroid
    in the assignment ``labels``.
    """
    K, d = C_old.shape
    counts = np.bincount(labels, minlength=K)
    # Cluster sums as a sparse one-hot (K, n) product, in float64.
    onehot = sparse.csr_matrix(
        (np.ones(len(labels)), (labels, np.arange(len(labels)))), shape=(K, len(X))
    )
    sums = onehot @ X.astype(np.float64, copy=False)
    C = C_old.copy()
    nonempty = counts > 0
    C[nonempty] = (sums[nonempty] / counts[nonempty, None]).astype(C.dtype)
    if not nonempty.all():
        sse = np.bincount(labels, weights=dist, minlength=K).astype(np.float64)
        split_empty_clusters(C, counts, sse, rng)
    return C


def kmeans(X, K, n_iter, rng, init=None):
    """Lloyd's k-means, initialised on ``K`` distinct random training points.

    Empty clusters are re-seeded by splitting clusters with a large squared
    error (:func:`split_empty_clusters`).

    Parameters
    ----------
    X : ndarray, shape (n, d)
        Training rows, ``n >= K``.
    K : int
        Number of codewords.
    n_iter : int
        Number of Lloyd iterations (assignment + mean update).
    rng : numpy.random.RandomState or None
        Source of the initial sample and of the empty-cluster splits (None:
        ``RandomState(0)``, for a given ``init``).
    init : ndarray, shape (K, d), optional
        Starting codebook (warm start) instead of a random sample.

    Returns
    -------
    C : ndarray, shape (K, d)
        Codebook, in ``X``'s dtype.
    labels : ndarray of int64, shape (n,)
        Final assignment (to the returned codebook).
    inertia : float
        Sum of squared distances of the final assignment.
    """
    if rng is None:
        rng = np.random.RandomState(0)
    if init is None:
        C = X[np.sort(rng.choice(X.shape[0], K, replace=False))].copy()
    else:
        C = np.array(init, dtype=X.dtype, copy=True)
    labels, dist = assign(X, C)
    for _ in range(n_iter):
        C = update_centroids(X, labels, C, dist, rng)
        labels, dist = assign(X, C)
    return C, labels, float(dist.sum(dtype=np.float64))


def train_pq(X, bounds, K, n_iter, rng, init=None, callback=None):
    """k-means in each subspace; returns ``(codebooks, codes, distortion)``.

    ``distortion`` is the total squared reconstruction error
    ``sum_i ||x_i - decode(encode(x_i))||^2``. ``init`` optionally holds one
    starting codebook per subspace (warm start); ``callback(m, d_m, inertia)``
    is called after each subspace (progress output).
    """
    M = len(bounds) - 1
    codebooks, codes, total = [], np.empty((X.shape[0], M), np.uint8), 0.0
    for m in range(M):
        Xm = np.ascontiguousarray(X[:, bounds[m] : bounds[m + 1]])
        C, lab, inertia = kmeans(Xm, K, n_iter, rng, None if init is None else init[m])
        codebooks.append(C)
        codes[:, m] = lab
        total += inertia
        if callback is not None:
            callback(m, Xm.shape[1], inertia)
    return codebooks, codes, total


def encode(X, codebooks, bounds):
    """Nearest codeword per subspace: ``uint8`` codes ``(n, M)``."""
    M = len(codebooks)
    codes = np.empty((X.shape[0], M), dtype=np.uint8)
    for m in range(M):
        Xm = np.ascontiguousarray(X[:, bounds[m] : bounds[m + 1]])
        codes[:, m] = assign(Xm, codebooks[m])[0]
    return codes


def decode(codes, codebooks, bounds, dtype):
    """Reconstruction ``(n, D)``: each subvector replaced by its codeword."""
    out = np.empty((codes.shape[0], bounds[-1]), dtype=dtype)
    for m, C in enumerate(codebooks):
        out[:, bounds[m] : bounds[m + 1]] = C[codes[:, m]]
    return out


def adc_tables(X, codebooks, bounds):
    """ADC look-up tables ``T[i, m, k] = ||x_im - c_mk||^2``, ``(n, M, K)``."""
    M, K = len(codebooks), codebooks[0].shape[0]
    T = np.empty((X.shape[0], M, K), dtype=X.dtype)
    for m in range(M):
        Xm = np.ascontiguousarray(X[:, bounds[m] : bounds[m + 1]])
        T[:, m, :] = sq_distances(Xm, codebooks[m])
    return T


def sdc_tables(codebooks):
    """SDC tables ``S[m, k, l] = ||c_mk - c_ml||^2``, ``(M, K, K)``."""
    S = np.stack([sq_distances(C, C) for C in codebooks])
    for m in range(S.shape[0]):
        np.fill_diagonal(S[m], 0)
    return S


# --------------------------------------------------------------------- OPQ
def eigenvalue_allocation(eigenvalues, bounds):
    """Parametric OPQ: distribute principal directions over the subspaces.

    Directions are taken by decreasing eigenvalue; each goes to the subspace
    with the smallest product of the eigenvalues it already holds among those
    not yet full (Ge et al., "eigenvalue allocation"), which balances the
    products of variances across subspaces. Products are compared as sums of
    logarithms, shifted so that the smallest is 1 (as the authors' code
    does): every direction then adds a positive amount, so a subspace holding
    eigenvalues below 1 does not look ever emptier as it fills, and the
    allocation depends only on the ratios of the eigenvalues, not on the
    scale of the data. Eigenvalues are floored at ``1e-12`` times the largest
    one so that directions of zero variance (constant pixels) do not produce
    ``log(0)``.

    Parameters
    ----------
    eigenvalues : ndarray, shape (D,)
        Eigenvalues sorted in decreasing order.
    bounds : ndarray, shape (M + 1,)
        Subspace column offsets; subspace ``m`` takes
        ``bounds[m + 1] - bounds[m]`` directions.

    Returns
    -------
    order : ndarray of int64, shape (D,)
        ``order[j]`` is the index (into ``eigenvalues``) of the direction that
        becomes column ``j`` of the rotated space.
    """
    lam = np.asarray(eigenvalues, dtype=np.float64)
    floor = 1e-12 * max(float(lam.max(initial=0.0)), 1e-300)
    log_lam = np.log(np.maximum(lam, floor))
    if len(log_lam):
        log_lam += 1.0 - log_lam.min()
    M = len(bounds) - 1
    cap = np.diff(bounds)
    buckets = [[] for _ in range(M)]
    score = np.zeros(M)
    for j in range(len(lam)):
        open_ = [m for m in range(M) if len(buckets[m]) < cap[m]]
        m = min(open_, key=lambda b: (score[b], b))
        buckets[m].append(j)
        score[m] += log_lam[j]
    return np.array([j for b in buckets for j in b], dtype=np.int64)


def procrustes(X, Y):
    """Orthogonal ``R`` minimising ``||X R - Y||_F``.

    ``R = U V^T`` where ``X^T Y = U S V^T`` (orthogonal Procrustes).
    """
    U, _, Vt = np.linalg.svd(X.T @ Y)
    return U @ Vt


# -------------------------------------------------------------- ADC search
def adc_distances(T, codes):
    """Distances ``(n_q, n_db)``: ``sum_m T[q, m, codes[i, m]]``.

    Accumulated over ``m = 0 .. M-1`` in that order, in ``T``'s dtype (the
    order of a naive loop, so the numba kernel returns identical values).
    """
    n_q, M, _ = T.shape
    out = np.zeros((n_q, codes.shape[0]), dtype=T.dtype)
    for m in range(M):
        out += np.take(T[:, m, :], codes[:, m], axis=1)
    return out


def topk_rows(D, k):
    """The ``k`` smallest entries of each row, ordered by (distance, index)."""
    n_q, n = D.shape
    dist = np.empty((n_q, k), dtype=D.dtype)
    ind = np.empty((n_q, k), dtype=np.int64)
    if k == n:
        order = np.argsort(D, axis=1, kind="stable")
        return np.take_along_axis(D, order, axis=1), order
    kth = np.partition(D, k - 1, axis=1)[:, k - 1]
    for i in range(n_q):
        cand = np.flatnonzero(D[i] <= kth[i])  # ascending index
        o = np.argsort(D[i, cand], kind="stable")[:k]
        ind[i] = cand[o]
        dist[i] = D[i, ind[i]]
    return dist, ind


def adc_kneighbors_numpy(T, codes, k):
    """Exact ADC k-NN in NumPy, blocked over queries (bounded memory)."""
    n_q, n_db = T.shape[0], codes.shape[0]
    step = _rows_per_block(n_db, T.itemsize)
    dists, inds = [], []
    for s in range(0, n_q, step):
        d, i = topk_rows(adc_distances(T[s : s + step], codes), k)
        dists.append(d)
        inds.append(i)
    if not dists:
        return np.empty((0, k), T.dtype), np.empty((0, k), np.int64)
    return np.concatenate(dists), np.concatenate(inds)


def _numba_kernels():
    try:
        from skhash._kernels import pq_numba
    except ImportError:  # numba missing or disabled
        return None
    return pq_numba


def adc_kneighbors(T, codes, k, backend="auto"):
    """Exact ADC k-NN: ``(distances, indices)`` ordered by (distance, index).

    ``backend="auto"`` uses the numba heap kernel when numba is installed and
    ``k`` is small relative to the database (the heap pays off), else the NumPy
    blocked scan with a stable selection; ``"numba"`` and ``"numpy"`` force one.
    Both return identical values: same summation order, same tie rule.
    """
    n_db = codes.shape[0]
    if backend == "auto":
        use_numba = k <= max(1, n_db // 8) and k <= 4096
        nb = _numba_kernels() if use_numba else None
    elif backend == "numba":
        nb = _numba_kernels()
        if nb is None:
            raise ImportError(
                "backend='numba' needs numba: pip install numba (skhash[fast])."
            )
    else:
        nb = None
    if nb is None:
        return adc_kneighbors_numpy(T, codes, k)
    group = nb.group_size(T.shape[0])
    return nb.adc_topk(
        np.ascontiguousarray(T), np.ascontiguousarray(codes, np.uint8), int(k), group
    )
