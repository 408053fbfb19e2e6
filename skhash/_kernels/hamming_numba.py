"""Compiled exact Hamming k-NN and radius kernels (needs numba).

All kernels take the database *word-transposed*: ``db_t`` is a C-contiguous
``uint64`` array of shape ``(n_words, n_db)``, so that the inner loops run over
contiguous database codes and LLVM vectorises the xor + popcount (AVX-512
``VPOPCNTQ`` where the CPU has it). Queries are ``(n_q, n_words)`` ``uint64``.
Results are ordered by (distance, database index), the brute-force tie rule.

The kernels, and when each is used:

* ``knn_heap``: blocks of 32 queries x 512 codes; the distances of a block are
  computed with vectorised popcounts, then a vectorised count of ``d < tau``
  (``tau`` = the query's current k-th distance) decides whether the scalar
  heap pass is needed at all. Codes are scanned in increasing index order, so
  a code tied with the k-th distance never displaces it: the strict ``<`` keeps
  the tie rule.
* ``knn_select``: the same blocks for large ``k``, but a hit costs O(1) (a
  running counting selection: per-distance counts of the kept codes and an
  append buffer) instead of an O(log k) heap update, which dominates the heap
  kernel at large ``k``. Its running threshold starts from a guess made on a
  sample of evenly spaced blocks (re-scanning any query whose guess proves too
  low), and blocks with hits are visited through a byte-per-code hit row read
  eight codes per word.
* ``knn_count``: counting selection for large ``k`` (relative to ``n_db``): one
  row of distances per query, the k-th distance found by binary search over
  the ``max_dist + 1`` possible values with vectorised counts, candidates
  collected with 64-wide block skipping and counting-sorted by distance.
* ``radius_count`` / ``radius_fill``: two passes (count, then fill) so the
  output is allocated exactly; rows are counting-sorted by distance.

Every kernel is parallel over query blocks (``prange``) and cached on disk
(``cache=True``), so only the first call after installation compiles. Without
numba (or with ``SKHASH_DISABLE_NUMBA`` set) importing this module raises
``ImportError``; the NumPy kernels of :mod:`skhash._kernels.hamming` give the
same results.
"""

import numpy as np

from skhash._kernels.heap import sift_down_key, sift_up_key
from skhash._kernels.jit import HAVE_NUMBA, lowest_bit, njit, popcount64, prange

if not HAVE_NUMBA:  # pragma: no cover - depends on the environment
    raise ImportError("numba is not installed, or disabled by SKHASH_DISABLE_NUMBA.")

QUERY_BLOCK = 32
CODE_BLOCK = 512
_SHIFT = np.int64(32)
_LOW = np.int64(0xFFFFFFFF)


@njit(cache=True)
def _block_distances(q_words, qi, db_t, c0, cb, out_row):
    """out_row[:cb] = Hamming distances of query qi to codes c0 .. c0+cb."""
    # 1-D slices (not db_t[w, c0 + j]) let LLVM prove the indices non-negative
    # and vectorise the loops: 5-10x faster.
    n_words = db_t.shape[0]
    qw = q_words[qi, 0]
    col = db_t[0, c0 : c0 + cb]
    if n_words == 2:  # 128 bits: both words summed in registers, one store
        qw1 = q_words[qi, 1]
        col1 = db_t[1, c0 : c0 + cb]
        for j in range(cb):
            out_row[j] = popcount64(qw ^ col[j]) + popcount64(qw1 ^ col1[j])
        return
    for j in range(cb):
        out_row[j] = popcount64(qw ^ col[j])
    for w in range(1, n_words):
        qw = q_words[qi, w]
        col = db_t[w, c0 : c0 + cb]
        for j in range(cb):
            out_row[j] += popcount64(qw ^ col[j])


@njit(cache=True, inline="always")
def _count_below(row, n, t):
    """Number of ``row[:n]`` strictly below ``t`` (a vectorised count)."""
    hits = 0
    for j in range(n):
        hits += row[j] < t
    return hits


@njit(cache=True, parallel=True)
def knn_heap(q_words, db_t, k, offset, out_d, out_i):
    """Exact k nearest codes by a bounded max-heap of (distance, index) keys.

    Parameters
    ----------
    q_words : uint64 (n_q, n_words)
    db_t : uint64 (n_words, n_db), C-contiguous
    k : int, 1 <= k <= n_db
    offset : int
        Added to the returned indices (for databases searched in pieces).
    out_d : int32 (n_q, k), out_i : int64 (n_q, k)
        Receive the result, sorted by (distance, index).
    """
    n_q = q_words.shape[0]
    n_db = db_t.shape[1]
    n_blocks = (n_q + QUERY_BLOCK - 1) // QUERY_BLOCK
    max_plus = np.int32(64 * db_t.shape[0] + 1)
    for b in prange(n_blocks):
        q0 = b * QUERY_BLOCK
        q1 = min(q0 + QUERY_BLOCK, n_q)
        m = q1 - q0
        heaps = np.empty((m, k), dtype=np.int64)
        sizes = np.zeros(m, dtype=np.int64)
        tau = np.full(m, max_plus, dtype=np.int32)
        dist = np.empty((m, CODE_BLOCK), dtype=np.int32)
        for c0 in range(0, n_db, CODE_BLOCK):
            cb = min(CODE_BLOCK, n_db - c0)
            for qi in range(m):
                row = dist[qi]
                _block_distances(q_words, q0 + qi, db_t, c0, cb, row)
                t = tau[qi]
                if _count_below(row, cb, t) == 0:
                    continue
                heap = heaps[qi]
                size = sizes[qi]
                for j in range(cb):
                    d = row[j]
                    if d >= t:
                        continue
                    key = (np.int64(d) << _SHIFT) | np.int64(c0 + j)
                    if size < k:
                        heap[size] = key
                        sift_up_key(heap, size)
                        size += 1
                        if size == k:
                            t = np.int32(heap[0] >> _SHIFT)
                    else:
                        heap[0] = key
                        sift_down_key(heap, k)
                        t = np.int32(heap[0] >> _SHIFT)
                sizes[qi] = size
                tau[qi] = t
        for qi in range(m):
            keys = np.sort(heaps[qi, : sizes[qi]])
            for j in range(k):
                out_d[q0 + qi, j] = np.int32(keys[j] >> _SHIFT)
                out_i[q0 + qi, j] = (keys[j] & _LOW) + offset


@njit(cache=True)
def _row_distances(q_words, qi, db_t, row):
    n_db = db_t.shape[1]
    for c0 in range(0, n_db, CODE_BLOCK):
        cb = min(CODE_BLOCK, n_db - c0)
        _fill_row(q_words, qi, db_t, c0, cb, row)


@njit(cache=True)
def _fill_row(q_words, qi, db_t, c0, cb, row):
    _block_distances(q_words, qi, db_t, c0, cb, row[c0 : c0 + cb])


@njit(cache=True)
def _count_le(row, t):
    c = 0
    for j in range(row.shape[0]):
        c += row[j] <= t
    return c


@njit(cache=True)
def _select_row(row, k, max_dist, offset, out_d, out_i, hist):
    """Counting selection of the k smallest (distance, index) of one row."""
    n = row.shape[0]
    lo, hi = 0, max_dist  # smallest t with count(row <= t) >= k
    while lo < hi:
        mid = (lo + hi) // 2
        if _count_le(row, mid) >= k:
            hi = mid
        else:
            lo = mid + 1
    t = lo
    for d in range(t + 2):
        hist[d] = 0
    # Collect with 64-wide block skipping; indices come in increasing order,
    # so the first codes at distance t are the ones the tie rule keeps.
    n_below = 0
    for j in range(n):
        if row[j] < t:
            n_below += 1
    need_at = k - n_below
    cand_d = np.empty(k, dtype=np.int32)
    cand_i = np.empty(k, dtype=np.int64)
    c = 0
    for s in range(0, n, 64):
        e = min(s + 64, n)
        any_hit = 0
        for j in range(s, e):
            any_hit += row[j] <= t
        if any_hit == 0:
            continue
        for j in range(s, e):
            d = row[j]
            if d < t or (d == t and need_at > 0):
                if d == t:
                    need_at -= 1
                cand_d[c] = d
                cand_i[c] = j
                hist[d + 1] += 1
                c += 1
    for d in range(1, t + 2):
        hist[d] += hist[d - 1]
    for c2 in range(k):
        d = cand_d[c2]
        pos = hist[d]
        hist[d] += 1
        out_d[pos] = d
        out_i[pos] = cand_i[c2] + offset


@njit(cache=True, parallel=True)
def knn_count(q_words, db_t, k, offset, small, out_d, out_i):
    """Exact k nearest codes by counting selection (large k).

    ``small`` (max distance <= 255) stores the distance row as uint8, which
    halves the memory traffic of the vectorised counts.
    """
    n_q = q_words.shape[0]
    n_db = db_t.shape[1]
    max_dist = 64 * db_t.shape[0]
    for qi in prange(n_q):
        hist = np.empty(max_dist + 2, dtype=np.int64)
        if small:
            row8 = np.empty(n_db, dtype=np.uint8)
            _row_distances(q_words, qi, db_t, row8)
            _select_row(row8, k, max_dist, offset, out_d[qi], out_i[qi], hist)
        else:
            row16 = np.empty(n_db, dtype=np.uint16)
            _row_distances(q_words, qi, db_t, row16)
            _select_row(row16, k, max_dist, offset, out_d[qi], out_i[qi], hist)


@njit(cache=True, parallel=True)
def radius_count(q_words, db_t, radius, counts):
    """counts[q] = number of codes within ``radius`` (inclusive) of query q."""
    n_q = q_words.shape[0]
    n_db = db_t.shape[1]
    for qi in prange(n_q):
        row = np.empty(CODE_BLOCK, dtype=np.int32)
        c = 0
        for c0 in range(0, n_db, CODE_BLOCK):
            cb = min(CODE_BLOCK, n_db - c0)
            _block_distances(q_words, qi, db_t, c0, cb, row)
            for j in range(cb):
                c += row[j] <= radius
        counts[qi] = c


@njit(cache=True, parallel=True)
def radius_fill(q_words, db_t, radius, offset, starts, out_d, out_i):
    """Fill each query's slice ``starts[q]:starts[q+1]``, by (distance, index)."""
    n_q = q_words.shape[0]
    n_db = db_t.shape[1]
    for qi in prange(n_q):
        row = np.empty(CODE_BLOCK, dtype=np.int32)
        s = starts[qi]
        n_hit = starts[qi + 1] - s
        if n_hit == 0:
            continue
        tmp_d = np.empty(n_hit, dtype=np.int32)
        tmp_i = np.empty(n_hit, dtype=np.int64)
        hist = np.zeros(radius + 2, dtype=np.int64)
        c = 0
        for c0 in range(0, n_db, CODE_BLOCK):
            cb = min(CODE_BLOCK, n_db - c0)
            _block_distances(q_words, qi, db_t, c0, cb, row)
            hits = 0
            for j in range(cb):
                hits += row[j] <= radius
            if hits == 0:
                continue
            for j in range(cb):
                d = row[j]
                if d <= radius:
                    tmp_d[c] = d
                    tmp_i[c] = c0 + j
                    hist[d + 1] += 1
                    c += 1
        for d in range(1, radius + 2):
            hist[d] += hist[d - 1]
        for c2 in range(n_hit):
            d = tmp_d[c2]
            pos = s + hist[d]
            hist[d] += 1
            out_d[pos] = d
            out_i[pos] = tmp_i[c2] + offset


@njit(cache=True)
def _compact(buf, n, t, keep_at_t):
    """Keep the entries with distance < t and the first ``keep_at_t`` at t."""
    c = 0
    for p in range(n):
        d = buf[p] >> _SHIFT
        if d < t or (d == t and keep_at_t > 0):
            if d == t:
                keep_at_t -= 1
            buf[c] = buf[p]
            c += 1
    return c


#: ``knn_select`` samples about this many expected codes within the final
#: k-th distance (``k * n_sample / n_db``) to guess a starting threshold.
SAMPLE_EXPECTED = 12

#: ... and only when the sample is at most this fraction of the database.
SAMPLE_MAX_FRACTION = 1 / 16


@njit(cache=True)
def _sample_threshold(q_words, qi, db_t, k, row, hist):
    """A starting threshold for ``knn_select``: likely above the k-th distance.

    The distances of the query to ``n_s`` evenly spaced 512-code blocks (a
    sample of ``S`` codes) give ``t0``, the smallest distance with at least
    ``c = lam + 4 sqrt(lam) + 2`` sampled codes at or below it, where
    ``lam = k S / n_db`` is the expected sample count within the true k-th
    distance. Fewer than ``k`` database codes within ``t0`` would need a
    sample count more than 4 standard deviations above its mean (random
    database order; any order stays exact, see ``knn_select``). Returns
    ``t0 + 1`` (codes strictly below it are kept), or ``max_dist + 1`` when
    the sample would exceed ``SAMPLE_MAX_FRACTION`` of the database.
    """
    n_db = db_t.shape[1]
    max_dist = 64 * db_t.shape[0]
    n_cblocks = (n_db + CODE_BLOCK - 1) // CODE_BLOCK
    n_s = int(np.ceil(SAMPLE_EXPECTED * n_db / (k * CODE_BLOCK)))
    if n_s < 1 or n_s > n_cblocks * SAMPLE_MAX_FRACTION:
        return np.int32(max_dist + 1)
    hist[:] = 0
    n_sampled = 0
    for s in range(n_s):
        c0 = (s * n_cblocks // n_s) * CODE_BLOCK
        cb = min(CODE_BLOCK, n_db - c0)
        _block_distances(q_words, qi, db_t, c0, cb, row)
        for j in range(cb):
            hist[row[j]] += 1
        n_sampled += cb
    lam = k * n_sampled / n_db
    need = lam + 4.0 * np.sqrt(lam) + 2.0
    acc = 0
    for d in range(max_dist + 1):
        acc += hist[d]
        if acc >= need:
            return np.int32(d + 1)
    return np.int32(max_dist + 1)


@njit(cache=True, inline="always")
def _select_block(row, cb, c0, t, hits, k, buf, c, size, lt, flags):
    """Fold one block's hits (``d < t``) into a query's running selection.

    The hits are located through a byte per code (``d < t``, a vectorised
    comparison) read eight at a time as ``uint64`` words: a zero word skips
    eight codes, and the set bytes of the others are visited lowest first.
    ``flags`` is a ``uint8`` scratch row of ``CODE_BLOCK`` bytes.
    """
    cap = buf.shape[0]
    for j in range(cb):
        flags[j] = row[j] < t
    for j in range(cb, (cb + 7) // 8 * 8):
        flags[j] = 0
    words = flags.view(np.uint64)
    for w in range((cb + 7) // 8):
        bits = words[w]
        while bits:
            j = w * 8 + (lowest_bit(bits) >> 3)
            bits &= bits - np.uint64(1)
            hits -= 1
            d = row[j]
            if d >= t:  # t fell since the flags were taken
                continue
            if size == cap:
                size = _compact(buf, size, t, k - lt)
            buf[size] = (np.int64(d) << _SHIFT) | np.int64(c0 + j)
            size += 1
            c[d] += 1
            lt += 1
            while lt >= k:
                t -= 1
                lt -= c[t]
        if hits <= 0:
            break
    return t, size, lt


@njit(cache=True, parallel=True)
def knn_select(q_words, db_t, k, offset, out_d, out_i):
    """Exact k nearest codes by a running counting selection (large k).

    Like ``knn_heap`` (blocks of queries x codes, vectorised distances and
    hit counts), but a hit costs O(1) instead of a heap update: a code is
    kept iff fewer than ``k`` kept codes lie at its distance or below (codes
    come in index order, so ties keep the lower index). Per query, ``t`` is
    the smallest distance with ``k`` kept codes at or below it and
    ``cnt[d]`` counts kept codes by distance; kept codes are appended to a
    buffer of ``2 k`` keys, compacted when full. At the end the ``k`` kept
    codes are counting-sorted by distance (stable: ties by index).

    ``t`` does not start at infinity but at a guess from a sample of the
    database (``_sample_threshold``), so the first blocks do not fill the
    buffer with codes that later fall out. The guess only has to be an upper
    bound: a query that ends with fewer than ``k`` codes below it (the guess
    was too low, which the sample size makes rare) is scanned again from
    infinity, so the result is exact for any guess.

    At k = 1000 on 1M random codes more than half of the 512-code blocks
    hold a hit, so a block with hits is not scanned element by element but
    through ``_select_block``'s byte flags, and left once its hits are used
    up.
    """
    n_q = q_words.shape[0]
    n_db = db_t.shape[1]
    max_dist = 64 * db_t.shape[0]
    n_blocks = (n_q + QUERY_BLOCK - 1) // QUERY_BLOCK
    cap = 2 * k
    for b in prange(n_blocks):
        q0 = b * QUERY_BLOCK
        q1 = min(q0 + QUERY_BLOCK, n_q)
        m = q1 - q0
        bufs = np.empty((m, cap), dtype=np.int64)
        sizes = np.zeros(m, dtype=np.int64)
        cnt = np.zeros((m, max_dist + 2), dtype=np.int64)
        tau = np.empty(m, dtype=np.int32)
        guess = np.empty(m, dtype=np.int32)
        n_lt = np.zeros(m, dtype=np.int64)  # kept codes with distance < tau
        row = np.empty(CODE_BLOCK, dtype=np.int32)
        flags = np.empty(CODE_BLOCK, dtype=np.uint8)
        for qi in range(m):
            guess[qi] = _sample_threshold(q_words, q0 + qi, db_t, k, row, cnt[qi])
            tau[qi] = guess[qi]
            cnt[qi, :] = 0
        for c0 in range(0, n_db, CODE_BLOCK):
            cb = min(CODE_BLOCK, n_db - c0)
            for qi in range(m):
                _block_distances(q_words, q0 + qi, db_t, c0, cb, row)
                hits = _count_below(row, cb, tau[qi])
                if hits == 0:
                    continue
                tau[qi], sizes[qi], n_lt[qi] = _select_block(
                    row,
                    cb,
                    c0,
                    tau[qi],
                    hits,
                    k,
                    bufs[qi],
                    cnt[qi],
                    sizes[qi],
                    n_lt[qi],
                    flags,
                )
        for qi in range(m):
            if tau[qi] == guess[qi] and guess[qi] <= max_dist:
                # Fewer than k codes below the guess: scan again from infinity.
                t = np.int32(max_dist + 1)
                size = 0
                lt = 0
                cnt[qi, :] = 0
                for c0 in range(0, n_db, CODE_BLOCK):
                    cb = min(CODE_BLOCK, n_db - c0)
                    _block_distances(q_words, q0 + qi, db_t, c0, cb, row)
                    hits = _count_below(row, cb, t)
                    if hits > 0:
                        t, size, lt = _select_block(
                            row, cb, c0, t, hits, k, bufs[qi], cnt[qi], size, lt, flags
                        )
                tau[qi], sizes[qi], n_lt[qi] = t, size, lt
            t = tau[qi]
            buf = bufs[qi]
            size = _compact(buf, sizes[qi], t, k - n_lt[qi])
            hist = np.zeros(t + 2, dtype=np.int64)
            for p in range(size):
                hist[(buf[p] >> _SHIFT) + 1] += 1
            for d in range(1, t + 2):
                hist[d] += hist[d - 1]
            for p in range(size):
                d = buf[p] >> _SHIFT
                pos = hist[d]
                hist[d] += 1
                out_d[q0 + qi, pos] = np.int32(d)
                out_i[q0 + qi, pos] = (buf[p] & _LOW) + offset
