"""4-bit product codes for fast-scan ADC: layout, quantized tables, reference search.

A fast scan (André, Kermarrec and Le Scouarnec, "Cache locality is not enough:
high-performance nearest neighbor search with product quantization fast scan",
VLDB 2015) scores 4-bit product codes with in-register table look-ups: a
query's ``(M, 16)`` float table is quantized to ``uint8`` so that one
sub-quantizer's 16 entries fill half of a 256-bit register, and one byte
shuffle (``vpshufb``) looks up the distances of 16 database items at once.

Layout (``pack_codes``): the database is cut into blocks of ``BLOCK = 32``
items and the ``M`` sub-quantizers into pairs (``M`` padded to even with a
sub-quantizer whose codes and table entries are 0). For block ``b`` and pair
``p`` there are 32 bytes: bytes ``0..15`` hold sub-quantizer ``2p`` and bytes
``16..31`` sub-quantizer ``2p + 1``; in each half, byte ``j`` holds item
``32 b + j`` in its low nibble and item ``32 b + 16 + j`` in its high nibble.
The last block is padded with code 0; padded items are never returned.

Quantized tables (``quantize_tables``): per query, each sub-quantizer's row
is shifted by its minimum, and all rows are scaled by one factor ``s`` so the
largest shifted entry maps to ``vmax = min(255, 65534 // M)``, then rounded.
An item's quantized distance is the integer sum of its ``M`` entries (below
65535, so 16-bit accumulators never overflow) and approximates the ADC
distance as ``bias + sum / s`` with ``bias`` the sum of the row minima. Each
rounded entry is within ``0.5 / s`` of the exact one, so

    ``|approximate - exact| <= M / (2 s)``  (``error_bound``),

up to float rounding in the exact sum. Ranking by the quantized sums, ties by
index, is what the compiled kernel and :func:`fastscan_kneighbors_numpy`
both return, bit for bit.
"""

import numpy as np

#: Database items per block of the packed layout.
BLOCK = 32
#: Codewords per sub-quantizer of a 4-bit code.
N_CLUSTERS = 16


def n_pairs(n_subspaces):
    """Number of sub-quantizer pairs (``n_subspaces`` rounded up to even, halved)."""
    return (int(n_subspaces) + 1) // 2


def pack_codes(codes):
    """Pack ``(n, M)`` 4-bit codes into the fast-scan block layout.

    Parameters
    ----------
    codes : ndarray of uint8, shape (n, M)
        One codeword index in ``[0, 16)`` per item and sub-quantizer.

    Returns
    -------
    packed : ndarray of uint8, shape (ceil(n / 32), ceil(M / 2), 32)
        The layout described in the module docstring.

    Examples
    --------
    >>> import numpy as np
    >>> codes = np.arange(32 * 2, dtype=np.uint8).reshape(32, 2) % 16
    >>> packed = pack_codes(codes)
    >>> packed.shape
    (1, 1, 32)
    >>> int(packed[0, 0, 0]) == int(codes[0, 0]) | int(codes[16, 0]) << 4
    True
    """
    codes = np.asarray(codes, dtype=np.uint8)
    n, M = codes.shape
    P = n_pairs(M)
    nb = -(-n // BLOCK)
    full = np.zeros((nb * BLOCK, 2 * P), dtype=np.uint8)
    full[:n, :M] = codes
    # (block, item-in-block, subquantizer) -> (block, subquantizer, item)
    full = full.reshape(nb, BLOCK, 2 * P).transpose(0, 2, 1)
    half = BLOCK // 2
    nibbles = full[:, :, :half] | (full[:, :, half:] << 4)  # (nb, 2P, 16)
    return np.ascontiguousarray(nibbles.reshape(nb, P, BLOCK))


def quantize_tables(T):
    """Quantize float ADC tables to ``uint8`` for the fast scan.

    Parameters
    ----------
    T : ndarray of shape (n_queries, M, 16)
        Float look-up tables (``distance_tables``).

    Returns
    -------
    Q : ndarray of uint8, shape (n_queries, ceil(M / 2), 32)
        Quantized tables in the pair layout of :func:`pack_codes` (a padded
        sub-quantizer's entries are 0).
    scale : ndarray of float64, shape (n_queries,)
        The factor ``s`` of the module docstring.
    bias : ndarray of float64, shape (n_queries,)
        Sum over sub-quantizers of each row's minimum.

    Examples
    --------
    >>> import numpy as np
    >>> T = np.random.default_rng(0).random((1, 3, 16))
    >>> Q, scale, bias = quantize_tables(T)
    >>> Q.shape, int(Q.max())
    ((1, 2, 32), 255)
    """
    T = np.asarray(T, dtype=np.float64)
    n_q, M, K = T.shape
    if K != N_CLUSTERS:
        raise ValueError(
            f"the fast scan needs 16 codewords per sub-quantizer (n_clusters=16), "
            f"got tables with {K}."
        )
    P = n_pairs(M)
    mins = T.min(axis=2)
    R = T - mins[:, :, None]
    span = R.reshape(n_q, -1).max(axis=1) if M else np.zeros(n_q)
    vmax = min(255, 65534 // max(1, 2 * P))
    safe = np.where(span > 0, span, 1.0)
    scale = vmax / safe
    Q = np.zeros((n_q, 2 * P, N_CLUSTERS), dtype=np.uint8)
    Q[:, :M] = np.rint(R * scale[:, None, None]).astype(np.uint8)
    return Q.reshape(n_q, P, 2 * N_CLUSTERS), scale, mins.sum(axis=1)


def error_bound(scale, n_subspaces):
    """Largest gap between a fast-scan distance and the exact ADC distance.

    Parameters
    ----------
    scale : ndarray of shape (n_queries,)
        The scale returned by :func:`quantize_tables`.
    n_subspaces : int
        Number of sub-quantizers ``M``.

    Returns
    -------
    bound : ndarray of shape (n_queries,)
        ``M / (2 scale)``: each of the ``M`` rounded entries is off by at most
        half a quantization step.

    Examples
    --------
    >>> float(error_bound(np.array([10.0]), 4)[0])
    0.2
    """
    return int(n_subspaces) / (2.0 * np.asarray(scale, dtype=np.float64))


def unpack_distances(Q, packed):
    """Quantized distances ``(n_queries, n_blocks * 32)`` of every padded item.

    The NumPy oracle of the compiled kernel: for each pair and nibble, a
    table look-up summed in ``int64`` (exact, so order does not matter).
    """
    n_q = Q.shape[0]
    nb, P, _ = packed.shape
    half = BLOCK // 2
    out = np.zeros((n_q, nb, BLOCK), dtype=np.int64)
    lo = packed & 0x0F  # (nb, P, 32)
    hi = packed >> 4
    for p in range(P):
        for h in range(2):  # the two sub-quantizers of the pair
            cols = slice(h * half, (h + 1) * half)
            tab = Q[:, p, cols].astype(np.int64)  # (n_q, 16)
            out[:, :, :half] += tab[:, lo[:, p, cols]]
            out[:, :, half:] += tab[:, hi[:, p, cols]]
    return out.reshape(n_q, nb * BLOCK)


def fastscan_kneighbors_numpy(Q, packed, n_samples, k):
    """Top ``k`` by quantized distance, ties by index (the reference).

    Parameters
    ----------
    Q : ndarray of uint8, shape (n_queries, P, 32)
        Quantized tables (:func:`quantize_tables`).
    packed : ndarray of uint8, shape (n_blocks, P, 32)
        Packed codes (:func:`pack_codes`).
    n_samples : int
        Number of real (unpadded) database items.
    k : int
        Number of neighbours, ``1 <= k <= n_samples``.

    Returns
    -------
    dist : ndarray of int64, shape (n_queries, k)
        Quantized distances (integer sums), ascending.
    ind : ndarray of int64, shape (n_queries, k)
    """
    n_q = Q.shape[0]
    dist = np.empty((n_q, k), dtype=np.int64)
    ind = np.empty((n_q, k), dtype=np.int64)
    step = max(1, (1 << 23) // max(1, packed.shape[0] * BLOCK))
    for s in range(0, n_q, step):
        D = unpack_distances(Q[s : s + step], packed)[:, :n_samples]
        order = np.argsort(D, axis=1, kind="stable")[:, :k]
        ind[s : s + step] = order
        dist[s : s + step] = np.take_along_axis(D, order, axis=1)
    return dist, ind


def rerank(T, codes, cand, k, backend="auto"):
    """Exact ADC re-ranking of candidate lists: top ``k`` by (distance, index).

    Parameters
    ----------
    T : ndarray of shape (n_queries, M, K)
        Float look-up tables.
    codes : ndarray of uint8, shape (n_samples, M)
        Database codes, one per sub-quantizer.
    cand : ndarray of int64, shape (n_queries, n_candidates)
        Candidate database indices of each query (distinct).
    k : int
        Number of neighbours kept, ``k <= n_candidates``.
    backend : {"auto", "numba", "numpy"}, default="auto"
        ``"auto"``: numba when installed. Both give identical results.

    Returns
    -------
    dist : ndarray of T's dtype, shape (n_queries, k)
        Exact ADC distances, summed over ``m = 0 .. M-1`` in that order (the
        order of the exact kernels, so the values are identical).
    ind : ndarray of int64, shape (n_queries, k)

    Examples
    --------
    >>> import numpy as np
    >>> T = np.arange(2 * 16, dtype=float).reshape(1, 2, 16)
    >>> codes = np.array([[3, 1], [0, 0], [1, 2]], dtype=np.uint8)
    >>> dist, ind = rerank(T, codes, np.array([[0, 2, 1]]), 2)
    >>> dist.tolist(), ind.tolist()
    ([[16.0, 19.0]], [[1, 2]])
    """
    nb = _numba_kernels() if backend in ("auto", "numba") else None
    if backend == "numba" and nb is None:
        raise ImportError("backend='numba' needs numba: pip install numba.")
    if nb is not None:
        return nb.rerank_topk(
            np.ascontiguousarray(T),
            np.ascontiguousarray(codes, np.uint8),
            np.ascontiguousarray(cand, np.int64),
            int(k),
        )
    n_q, M, _ = T.shape
    C = codes[cand]  # (n_q, n_cand, M)
    rows = np.arange(n_q)[:, None]
    D = np.zeros(cand.shape, dtype=T.dtype)
    for m in range(M):
        D += T[rows, m, C[:, :, m]]
    # (distance, index) order: sort by index first, then stably by distance
    by_index = np.argsort(cand, axis=1, kind="stable")
    D = np.take_along_axis(D, by_index, axis=1)
    cand = np.take_along_axis(cand, by_index, axis=1)
    order = np.argsort(D, axis=1, kind="stable")[:, :k]
    return np.take_along_axis(D, order, axis=1), np.take_along_axis(cand, order, axis=1)


def _numba_kernels():
    import os

    if os.environ.get("SKHASH_DISABLE_NUMBA"):
        return None
    try:
        from skhash._kernels import pq_fastscan_numba
    except ImportError:  # numba missing
        return None
    return pq_fastscan_numba


def available_backends():
    """Fast-scan kernels usable here, fastest first.

    ``"simd"`` (numba and an AVX2 CPU), ``"portable"`` (numba) and
    ``"numpy"`` (always). All three return identical results.

    Examples
    --------
    >>> "numpy" in available_backends()
    True
    """
    nb = _numba_kernels()
    names = []
    if nb is not None and nb.fastscan_topk_simd is not None:
        names.append("simd")
    if nb is not None:
        names.append("portable")
    return names + ["numpy"]


def _resolve_backend(backend):
    """``backend`` itself, or the fastest one for ``"auto"``; checks availability."""
    if backend == "auto":
        return available_backends()[0]
    if backend not in available_backends():
        raise ImportError(
            f"fast-scan backend {backend!r} is not available here (numba missing, "
            f"or no AVX2 for 'simd'); available: {available_backends()}."
        )
    return backend


def fastscan_kneighbors(Q, packed, n_samples, k, backend="auto"):
    """Top ``k`` by quantized distance, ties by index: ``(dist, ind)`` int64.

    ``backend``: ``"auto"`` (the first of :func:`available_backends`),
    ``"simd"``, ``"portable"`` or ``"numpy"``; every backend returns the same
    integers. Arguments as in :func:`fastscan_kneighbors_numpy`.
    """
    backend = _resolve_backend(backend)
    Q = np.ascontiguousarray(Q, dtype=np.uint8)
    packed = np.ascontiguousarray(packed, dtype=np.uint8)
    if backend == "numpy":
        return fastscan_kneighbors_numpy(Q, packed, int(n_samples), int(k))
    nb = _numba_kernels()
    kernel = nb.fastscan_topk_simd if backend == "simd" else nb.fastscan_topk_portable
    group = nb.group_size(Q.shape[0])
    return kernel(Q, packed, int(n_samples), int(k), group)


def exact_window(T, scale):
    """Per-query window, in quantized units, that holds the exact ADC top k.

    Each quantized sum is within ``M / 2`` units of ``s`` times the exact
    distance (``M`` sub-quantizers), and the float sum of ``M`` table entries
    within ``delta = 2 M eps sum_m max_c |T[m, c]|`` of the real sum. An item
    whose quantized distance exceeds the ``k``-th smallest by more than
    ``M + 2 s delta`` units is then farther, in exact ADC, than ``k`` other
    items, so it cannot be among the exact top ``k``: ``M + 1 +
    ceil(2 s delta)`` units (one unit for the rounding of the tables) keep
    every item that can.

    Parameters
    ----------
    T : ndarray of shape (n_queries, M, 16)
        Float look-up tables.
    scale : ndarray of shape (n_queries,)
        From :func:`quantize_tables`.

    Returns
    -------
    window : ndarray of int64, shape (n_queries,)

    Examples
    --------
    >>> import numpy as np
    >>> T = np.random.default_rng(0).random((2, 16, 16)).astype(np.float32)
    >>> _, scale, _ = quantize_tables(T)
    >>> exact_window(T, scale).tolist()
    [18, 18]
    """
    T = np.asarray(T)
    M = T.shape[1]
    eps = np.finfo(T.dtype).eps if T.dtype.kind == "f" else np.finfo(np.float64).eps
    magnitude = np.abs(T).max(axis=2).sum(axis=1).astype(np.float64)
    delta = 2.0 * M * eps * magnitude
    return (M + 1 + np.ceil(2.0 * scale * delta)).astype(np.int64)


def fastscan_exact_numpy(Q, packed, n_samples, k, window, T, codes):
    """Exact ADC top ``k`` from the window of the quantized ranking (reference).

    Every item within ``window[q]`` units of query ``q``'s ``k``-th quantized
    distance is re-ranked by :func:`rerank`.
    """
    n_q = Q.shape[0]
    dist = np.empty((n_q, k), dtype=T.dtype)
    ind = np.empty((n_q, k), dtype=np.int64)
    step = max(1, (1 << 23) // max(1, packed.shape[0] * BLOCK))
    for s in range(0, n_q, step):
        D = unpack_distances(Q[s : s + step], packed)[:, :n_samples]
        kth = np.partition(D, k - 1, axis=1)[:, k - 1]
        for r in range(D.shape[0]):
            cand = np.flatnonzero(D[r] <= kth[r] + window[s + r])
            d, i = rerank(T[s + r : s + r + 1], codes, cand[None], k, backend="numpy")
            dist[s + r], ind[s + r] = d[0], i[0]
    return dist, ind


def fastscan_exact(Q, packed, n_samples, k, window, T, codes, backend="auto"):
    """Exact ADC top ``k`` through the fast scan: ``(dist, ind)``.

    The fast scan keeps every item within ``window`` of each query's
    ``k``-th quantized distance (:func:`exact_window`), and those are ranked
    by exact ADC: the result of an exact ADC scan, ties by index. Backends as
    in :func:`fastscan_kneighbors`, identical results.
    """
    backend = _resolve_backend(backend)
    Q = np.ascontiguousarray(Q, dtype=np.uint8)
    packed = np.ascontiguousarray(packed, dtype=np.uint8)
    window = np.ascontiguousarray(window, dtype=np.int64)
    T = np.ascontiguousarray(T)
    codes = np.ascontiguousarray(codes, dtype=np.uint8)
    if backend == "numpy":
        return fastscan_exact_numpy(Q, packed, int(n_samples), int(k), window, T, codes)
    nb = _numba_kernels()
    kernel = nb.fastscan_exact_simd if backend == "simd" else nb.fastscan_exact_portable
    group = nb.group_size(Q.shape[0])
    return kernel(Q, packed, int(n_samples), int(k), window, T, codes, group)
