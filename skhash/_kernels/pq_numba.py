"""Compiled kernel of exact ADC k-NN (needs numba; imported only when present).

Groups of ``group`` queries (``prange`` over groups): each block of
``_BLOCK`` database codes is scored for every query of the group while it is
in cache. Codes are read item-major (``codes`` is ``(n_db, M)``, the layout of
``transform``): each item's distance is summed in a register in the order
``m = 0 .. M-1`` (the order of the NumPy path, so distances are
bit-identical) and compared at once with the worst of a bounded max-heap on
(distance, index) that keeps the ``k`` best. Items are scanned by increasing
index, so an item whose distance equals the heap's worst never enters: ties
are resolved by index, as brute force. The heap is the pair heap of
:mod:`skhash._kernels.heap`.
"""

import numpy as np

from skhash._kernels.heap import sift_down, sort_heap
from skhash._kernels.jit import HAVE_NUMBA, njit, prange

if not HAVE_NUMBA:  # pragma: no cover - depends on the environment
    raise ImportError("numba is not installed, or disabled by SKHASH_DISABLE_NUMBA.")

_BLOCK = 512
#: Queries scored per pass over the database (at most; see ``group_size``).
GROUP = 8


def group_size(n_queries, n_threads=None):
    """Queries per group: ``GROUP``, fewer when that would idle threads.

    ``n_threads`` defaults to numba's current thread count.
    """
    if n_threads is None:
        import numba

        n_threads = numba.get_num_threads()
    return int(max(1, min(GROUP, n_queries // max(1, n_threads))))


@njit(cache=True, inline="always")
def _offer(d, j, hdq, hiq, k):
    """Put item ``j`` (distance ``d``) in the heap if strictly better than its worst."""
    if d < hdq[0]:
        hdq[0] = d
        hiq[0] = j
        sift_down(hdq, hiq, 0, k)


@njit(cache=True, parallel=True)
def adc_topk(T, codes, k, group=1):
    """k nearest database items of each query by ADC, ties by index.

    Queries are processed in groups of ``group`` (``prange`` over groups): a
    block of ``_BLOCK`` database codes is read once into cache and scored for
    every query of the group, which divides the memory traffic over the
    database by the group size. Four items are summed side by side (four
    independent chains of additions, each in the order ``m = 0 .. M-1``),
    then offered to the heap in index order.

    Parameters
    ----------
    T : ndarray, shape (n_q, M, K)
        Per-query look-up tables (float32 or float64).
    codes : ndarray of uint8, shape (n_db, M)
        Database codes, item-major (C-contiguous).
    k : int
        Number of neighbours, ``1 <= k <= n_db``.
    group : int
        Queries per pass over the database.

    Returns
    -------
    dist : ndarray, shape (n_q, k)
    ind : ndarray of int64, shape (n_q, k)
    """
    n_q, M, _ = T.shape
    n_db = codes.shape[0]
    out_d = np.empty((n_q, k), dtype=T.dtype)
    out_i = np.empty((n_q, k), dtype=np.int64)
    n_groups = (n_q + group - 1) // group
    for g in prange(n_groups):
        q0 = g * group
        G = min(q0 + group, n_q) - q0
        hd = np.full((G, k), np.inf, dtype=T.dtype)
        hi = np.empty((G, k), dtype=np.int64)
        for qq in range(G):
            for j in range(k):
                hi[qq, j] = n_db + j
        for s in range(0, n_db, _BLOCK):
            e = min(s + _BLOCK, n_db)
            e4 = s + (e - s) // 4 * 4
            for qq in range(G):
                lut = T[q0 + qq]
                hdq = hd[qq]
                hiq = hi[qq]
                # four items at a time: four independent addition chains
                for j in range(s, e4, 4):
                    c0 = codes[j]
                    c1 = codes[j + 1]
                    c2 = codes[j + 2]
                    c3 = codes[j + 3]
                    d0 = lut[0, c0[0]]
                    d1 = lut[0, c1[0]]
                    d2 = lut[0, c2[0]]
                    d3 = lut[0, c3[0]]
                    for m in range(1, M):
                        row = lut[m]
                        d0 += row[c0[m]]
                        d1 += row[c1[m]]
                        d2 += row[c2[m]]
                        d3 += row[c3[m]]
                    _offer(d0, j, hdq, hiq, k)
                    _offer(d1, j + 1, hdq, hiq, k)
                    _offer(d2, j + 2, hdq, hiq, k)
                    _offer(d3, j + 3, hdq, hiq, k)
                for j in range(e4, e):
                    c = codes[j]
                    d = lut[0, c[0]]
                    for m in range(1, M):
                        d += lut[m, c[m]]
                    _offer(d, j, hdq, hiq, k)
        for qq in range(G):
            hdq = hd[qq]
            hiq = hi[qq]
            sort_heap(hdq, hiq)
            out_d[q0 + qq] = hdq
            out_i[q0 + qq] = hiq
    return out_d, out_i
