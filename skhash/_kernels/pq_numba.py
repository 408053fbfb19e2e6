"""numba kernel of exact ADC k-NN (optional: imported only when numba exists).

One query at a time (``prange`` over queries): the query's ``(M, K)`` look-up
table stays in L1, database codes are read subspace-major (``codes_t`` is
``(M, n_db)``) in blocks of ``_BLOCK`` items, each block's distances are summed
in the order ``m = 0 .. M-1`` (the order of the NumPy path, so distances are
bit-identical), and a bounded max-heap on (distance, index) keeps the ``k``
best. Items are scanned by increasing index, so an item whose distance equals
the heap's worst never enters: ties are resolved by index, as brute force.
"""

import numpy as np
from numba import njit, prange

_BLOCK = 512


@njit(cache=True, inline="always")
def _worse(d1, i1, d2, i2):
    return d1 > d2 or (d1 == d2 and i1 > i2)


@njit(cache=True)
def _sift_down(hd, hi, pos, size):
    while True:
        left = 2 * pos + 1
        if left >= size:
            return
        child = left
        right = left + 1
        if right < size and _worse(hd[right], hi[right], hd[left], hi[left]):
            child = right
        if _worse(hd[child], hi[child], hd[pos], hi[pos]):
            hd[pos], hd[child] = hd[child], hd[pos]
            hi[pos], hi[child] = hi[child], hi[pos]
            pos = child
        else:
            return


@njit(cache=True, parallel=True)
def adc_topk(T, codes_t, k):
    """k nearest database items of each query by ADC, ties by index.

    Parameters
    ----------
    T : ndarray, shape (n_q, M, K)
        Per-query look-up tables (float32 or float64).
    codes_t : ndarray of uint8, shape (M, n_db)
        Database codes, subspace-major.
    k : int
        Number of neighbours, ``1 <= k <= n_db``.

    Returns
    -------
    dist : ndarray, shape (n_q, k)
    ind : ndarray of int64, shape (n_q, k)
    """
    n_q, M, _ = T.shape
    n_db = codes_t.shape[1]
    out_d = np.empty((n_q, k), dtype=T.dtype)
    out_i = np.empty((n_q, k), dtype=np.int64)
    for q in prange(n_q):
        lut = T[q]
        hd = np.full(k, np.inf, dtype=T.dtype)
        hi = np.empty(k, dtype=np.int64)
        for j in range(k):
            hi[j] = n_db + j
        buf = np.empty(_BLOCK, dtype=T.dtype)
        for s in range(0, n_db, _BLOCK):
            e = min(s + _BLOCK, n_db)
            n = e - s
            for j in range(n):
                buf[j] = 0
            for m in range(M):
                row = codes_t[m]
                lm = lut[m]
                for j in range(n):
                    buf[j] += lm[row[s + j]]
            for j in range(n):
                d = buf[j]
                if d < hd[0]:
                    hd[0] = d
                    hi[0] = s + j
                    _sift_down(hd, hi, 0, k)
        # heap sort: pop the worst to the end, giving ascending (dist, index)
        for size in range(k - 1, 0, -1):
            hd[0], hd[size] = hd[size], hd[0]
            hi[0], hi[size] = hi[size], hi[0]
            _sift_down(hd, hi, 0, size)
        out_d[q] = hd
        out_i[q] = hi
    return out_d, out_i
