"""Multi-index hashing (Norouzi, Punjani and Fleet, CVPR 2012): exact, sublinear.

Each code (``b`` bits) is cut into ``m`` disjoint substrings (Norouzi et
al.: about ``log2(n)`` bits; here about ``log2(n) - 6`` for k-NN, see
:func:`default_n_substrings`); substring ``i`` of every database code is the key of a
direct-address table (a CSR layout: ``offsets`` of length ``2**s_i + 1`` and
the database ids sorted by key). Pigeonhole: if two codes differ in at most
``r`` bits, write ``r = m * r' + a`` (``0 <= a < m``); then one of the
substrings ``0 .. a`` differs in at most ``r'`` bits, or one of the others in
at most ``r' - 1``. So

* **radius search** probes substrings ``0 .. a`` at distances ``0 .. r'`` and
  the others at ``0 .. r' - 1``, and verifies each candidate's full distance;
* **k-NN** grows the search one *level* at a time (one table probed at the
  next distance). More generally than the round-robin ``(r', i)`` steps of
  the paper: once table ``j`` has been probed to distance ``r_j``, every code
  within ``sum_j (r_j + 1) - 1`` bits of the query has been seen, in
  whatever order the levels came; so the next level is the one that reads
  the fewest entries (tabulated per bucket at build time). The search stops
  as soon as ``k`` verified codes lie within that guaranteed radius; their
  (distance, index) order is then the exact answer.

Implementation (profiled on 1,000,000 64-bit ITQ codes, see
``doc/benchmarks_search.rst``): each table stores its codes' words in bucket
order next to their ids, so a probe streams through its bucket; duplicates
(a code found through several tables) are recognised from the code's own
substring distances, with no visited array; a bounded heap keeps the top
``k`` and most entries are rejected by one popcount against its k-th
distance; the probes are generated a few ahead of the verification (across
step boundaries), their bucket bounds loaded and first cache lines
prefetched, so memory latency overlaps with the popcounts of earlier
buckets; the whole per-query loop is one
compiled function, parallel over queries; a query whose work passes a
budget is answered by the scan. By default the bits are first assigned to
substrings so that their keys collide least (``reorder_bits``, a greedy form
of the paper's substring optimisation), which is exact.

The kernels are compiled with numba when it is installed (the ``fast``
extra) and otherwise run as plain Python, correct but slow.
"""

import math

import numpy as np

from skhash._kernels.bits import codes_to_words
from skhash._validation import IntInterval
from skhash.neighbors._jit import (
    HAVE_NUMBA,
    _lowest_bit,
    _sift_down,
    _sift_up,
    njit,
    numba_threads,
    popcount64,
    prange,
    prefetch,
)

#: k-NN with ``k * LARGE_K_RATIO > n_db`` is answered by a brute-force scan.
LARGE_K_RATIO = 50

#: Default per-query work budget (probes + bucket entries) as a fraction of
#: ``n_db``; a query that needs more is answered by a scan. 1/8 rather than
#: 1/32: a query scanned on its own costs more than its share of a batched
#: scan, and the work spent before giving up is lost. On 1,000,000 learned
#: codes (32, 64, 128 bits) and on random 64-bit codes, 1/8 was as fast or
#: faster in every case measured (``doc/benchmarks_search.rst``).
MAX_WORK_FRACTION = 1 / 8

#: Queries per chunk of the parallel k-NN loop (dynamic scheduling).
QUERY_CHUNK = 4

#: Longest substring (bits): its table has ``2**MAX_SUBSTRING_BITS + 1`` offsets.
MAX_SUBSTRING_BITS = 24


#: k-NN substrings aim at ``log2(n) - SUBSTRING_SHORTFALL`` bits: buckets of
#: about ``2**6`` codes on average.
SUBSTRING_SHORTFALL = 6


def default_n_substrings(n_bits, n_db):
    """Substrings ``m`` for k-NN: ``n_bits / (log2(n_db) - 6)``, rounded.

    Norouzi et al. choose ``m = b / log2(n)`` (buckets of about one code),
    which balances probes against bucket entries when both cost the same.
    Here a probe (a random access) costs about as much as 50-200 entries
    read in sequence, so shorter substrings (bigger buckets, fewer probes)
    win. The rule was fitted to exhaustive sweeps of ``m`` on ITQ codes of
    augmented MNIST, k = 10 (``doc/benchmarks_search.rst``), where it picks
    the fastest ``m`` or one within the noise: 64 bits at n = 50,000 /
    250,000 / 1,000,000 / 4,000,000 give m = 7 / 5 / 5 / 4, 32 bits at 1M
    m = 2, 128 bits at 1M m = 9 (m = 8 was 2% faster). Substrings are at
    most 24 bits.

    Parameters
    ----------
    n_bits : int
        Bits of the codes (those used by the database).
    n_db : int
        Database size.

    Returns
    -------
    int

    Examples
    --------
    >>> default_n_substrings(64, 1_000_000), default_n_substrings(64, 4_000_000)
    (5, 4)
    """
    target = max(1.0, math.log2(max(n_db, 2)) - SUBSTRING_SHORTFALL)
    m = math.floor(n_bits / target + 0.5)
    return int(min(n_bits, max(1, m, math.ceil(n_bits / MAX_SUBSTRING_BITS))))


def radius_n_substrings(n_bits, n_db, radius):
    """Substrings ``m`` for a radius query: at least ``radius + 1``.

    With ``m > radius`` substrings, a code within ``radius`` bits matches the
    query exactly on one of the first ``radius + 1`` substrings, so only
    those tables are probed, at distance 0, and longer substrings make
    sparser buckets. So ``m`` is the largest of ``radius + 1``, Norouzi et
    al.'s ``b / log2(n)`` rounded up (substrings of about ``log2(n)`` bits,
    so that the tables stay about as large as the database) and
    ``ceil(b / 24)``.

    Parameters
    ----------
    n_bits : int
        Bits of the codes.
    n_db : int
        Database size.
    radius : int
        Search radius.

    Returns
    -------
    int

    Examples
    --------
    >>> radius_n_substrings(64, 1_000_000, 2), radius_n_substrings(64, 1_000_000, 5)
    (4, 6)
    """
    m = math.ceil(n_bits / max(1.0, math.log2(max(n_db, 2))) - 1e-9)
    m = max(int(radius) + 1, m, math.ceil(n_bits / MAX_SUBSTRING_BITS))
    return int(min(n_bits, max(1, m)))


def substring_keys(codes, starts, lengths, chunk=1 << 16):
    """Integer keys ``(n, m)`` of the substrings ``[starts[i], starts[i]+lengths[i])``.

    Bit ``j`` of a code is bit ``j`` of ``np.unpackbits(codes, bitorder="big")``;
    within a substring the first bit is the most significant of the key.
    """
    n = codes.shape[0]
    m = len(starts)
    keys = np.empty((n, m), dtype=np.uint64)
    for s in range(0, n, chunk):
        bits = np.unpackbits(np.asarray(codes[s : s + chunk]), axis=1)
        for i in range(m):
            b = bits[:, starts[i] : starts[i] + lengths[i]].astype(np.uint64)
            w = np.left_shift(
                np.uint64(1), np.arange(lengths[i] - 1, -1, -1, dtype=np.uint64)
            )
            keys[s : s + chunk, i] = b @ w if lengths[i] else 0
    return keys


def substring_bit_order(codes, lengths, n_sample=1 << 14, seed=0):
    """Assign bits to substrings so that each substring's keys spread out.

    A greedy form of Norouzi et al.'s substring optimisation (TPAMI 2014,
    bits assigned to substrings so that the bits within one substring are
    as independent as possible). Here the assignment is scored directly by
    what a probe costs: the number of colliding pairs ``sum_b c_b (c_b - 1)``
    of the substring keys on a sample of the codes (``c_b``: sample codes in
    bucket ``b``; a probe of a query drawn like the database reads about
    ``n * sum_b p_b**2`` entries). Substrings take turns; each takes the free
    bit that adds the fewest colliding pairs to its keys. The first
    ``sum(lengths)`` bits are assigned; later bit positions keep their place.

    Parameters
    ----------
    codes : ndarray of uint8, shape (n, n_bytes)
        Packed codes (the database).
    lengths : sequence of int
        Substring lengths in bits.
    n_sample : int, default=16384
        Codes sampled (without replacement) to score the assignment.
    seed : int, default=0
        Seed of the sample.

    Returns
    -------
    perm : ndarray of int64, shape (8 * n_bytes,)
        Bit ``j`` of a permuted code is bit ``perm[j]`` of the original
        (see :func:`permute_bits`); substring ``i`` is the permuted bits
        ``sum(lengths[:i]) .. sum(lengths[:i + 1]) - 1``.

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> bits = rng.integers(0, 2, (1000, 4), dtype=np.uint8)
    >>> # bits 4-7 repeat bits 0-3: keeping copies apart spreads the keys
    >>> codes = np.packbits(np.hstack([bits, bits]), axis=1)
    >>> perm = substring_bit_order(codes, [4, 4])
    >>> np.sort(perm[:4] % 4), np.sort(perm[4:] % 4)
    (array([0, 1, 2, 3]), array([0, 1, 2, 3]))
    """
    lengths = [int(x) for x in lengths]
    n, n_bytes = codes.shape
    n_bits = sum(lengths)
    n_total = 8 * n_bytes
    if n > n_sample:
        idx = np.sort(np.random.default_rng(seed).choice(n, n_sample, replace=False))
        sample = np.asarray(codes[idx])
    else:
        sample = np.asarray(codes)
    bits = np.unpackbits(sample, axis=1)[:, :n_bits].astype(np.int32)
    n_s = bits.shape[0]
    groups = [[] for _ in lengths]
    keys = np.zeros((len(lengths), n_s), dtype=np.int64)
    free = list(range(n_bits))
    while free:
        for i, length in enumerate(lengths):
            if len(groups[i]) >= length or not free:
                continue
            # Split every current bucket by each candidate bit: a bucket of
            # c codes, c1 of them with the bit set, gives c1^2 + (c - c1)^2.
            order = np.argsort(keys[i], kind="stable")
            sk = keys[i][order]
            starts = np.flatnonzero(np.r_[True, sk[1:] != sk[:-1]])
            c = np.diff(np.r_[starts, n_s])[:, None].astype(np.int64)
            c1 = np.add.reduceat(bits[order][:, free], starts, axis=0).astype(np.int64)
            score = (c1 * c1 + (c - c1) ** 2).sum(axis=0)
            best = free[int(np.argmin(score))]
            groups[i].append(best)
            keys[i] = 2 * keys[i] + bits[:, best]
            free.remove(best)
    perm = [b for g in groups for b in g] + list(range(n_bits, n_total))
    return np.asarray(perm, dtype=np.int64)


def permute_bits(codes, perm, chunk=1 << 16):
    """Packed codes with their bits reordered: new bit ``j`` = old bit ``perm[j]``.

    Hamming distances are unchanged when database and queries are permuted
    alike. Each input byte is mapped through a 256-entry table of its bits'
    contributions to the output words (no unpacking).

    Parameters
    ----------
    codes : ndarray of uint8, shape (n, n_bytes)
    perm : ndarray of int, shape (8 * n_bytes,)
        A permutation of ``range(8 * n_bytes)``.
    chunk : int, default=65536
        Codes permuted at a time.

    Returns
    -------
    ndarray of uint8, shape (n, n_bytes)

    Examples
    --------
    >>> import numpy as np
    >>> codes = np.array([[0b10000001]], dtype=np.uint8)
    >>> permute_bits(codes, np.array([1, 2, 3, 4, 5, 6, 7, 0]))
    array([[3]], dtype=uint8)
    """
    n, n_bytes = codes.shape
    n_words = (n_bytes + 7) // 8
    new_pos = np.argsort(np.asarray(perm))  # old bit -> new bit
    value_bits = np.unpackbits(np.arange(256, dtype=np.uint8)[:, None], axis=1)
    table = np.zeros((n_bytes, 256, 8 * n_words), dtype=np.uint8)
    for old in range(8 * n_bytes):
        new = int(new_pos[old])
        table[old // 8, :, new // 8] |= value_bits[:, old % 8] << (7 - new % 8)
    table = table.view(np.uint64)  # (n_bytes, 256, n_words)
    out = np.empty((n, n_bytes), dtype=np.uint8)
    words = np.empty((min(chunk, n), n_words), dtype=np.uint64)
    for s in range(0, n, chunk):
        block = np.asarray(codes[s : s + chunk])
        w = words[: block.shape[0]]
        w[:] = 0
        for b in range(n_bytes):
            w |= table[b, block[:, b]]
        out[s : s + chunk] = w.view(np.uint8)[:, :n_bytes]
    return out


@njit(cache=True, inline="always")
def _next_combination(v):
    """Gosper's hack: next integer with the same number of set bits."""
    t = v | (v - 1)
    low = (~t) & (t + 1)  # lowest clear bit of t
    tz = np.int64(popcount64(np.uint64((v & -v) - 1)))  # trailing zeros of v
    return (t + 1) | ((low - 1) >> (tz + 1))


@njit(cache=True, inline="always")
def _sub_distance(qw, words, p, masks, j):
    """Hamming distance of substring ``j`` between the query and ``words[p]``."""
    d = 0
    for w in range(qw.shape[0]):
        d += popcount64((qw[w] ^ words[p, w]) & masks[j, w])
    return d


@njit(cache=True)
def _heap_push(heap, size, k, key):
    """Offer ``key`` to the bounded max-heap ``heap[:size]``; returns the size."""
    if size < k:
        heap[size] = key
        _sift_up(heap, size)
        return size + 1
    if key >= heap[0]:
        return size
    heap[0] = key
    _sift_down(heap, k)
    return size


@njit(cache=True, inline="always")
def _offer(qw, words, ids, masks, p, d, i, done, heap, size, k, tau):
    """Offer entry ``p`` (distance ``d``, found through table ``i``) to the heap.

    ``done[j]``: the radius to which table ``j`` had been probed when the
    current level began. The code was found before iff some other substring
    ``j`` is within ``done[j]`` bits; then it is skipped. Returns (size, tau).
    """
    for j in range(masks.shape[0]):
        if j != i and _sub_distance(qw, words, p, masks, j) <= done[j]:
            return size, tau
    ckey = (np.int64(d) << 32) | np.int64(ids[p])
    if ckey < tau:
        size = _heap_push(heap, size, k, ckey)
        if size == k:
            tau = heap[0]
    return size, tau


#: Probes looked ahead of the verification in the k-NN search: their bucket
#: bounds are loaded and their first cache lines prefetched while earlier
#: buckets are verified, so memory latency overlaps with the popcounts.
LOOKAHEAD = 8

#: Ring of pending probes (a power of two >= LOOKAHEAD).
RING = 16

#: Cache lines of a bucket prefetched ahead (the hardware prefetcher
#: follows a longer bucket once it is being read).
PREFETCH_LINES = 8

#: Levels (probe radii 0 .. COST_LEVELS - 1) whose exact cost, per bucket,
#: is tabulated at build time to choose the k-NN search order.
COST_LEVELS = 3

#: Longest substring whose level costs are tabulated (longer ones use an
#: estimate).
MAX_COST_BITS = 20


def level_costs(keys, length, n_levels=COST_LEVELS):
    """Cost of probing a table at each radius, for every query key.

    ``out[r, key]`` is the number of database codes whose substring differs
    from ``key`` in exactly ``r`` bits (the entries a probe of radius ``r``
    reads) plus the number of such probes, ``C(length, r)``. Computed for
    all keys at once by a dynamic programme over the bits: after bit ``b``,
    ``f[r][key]`` sums the counts over the keys reached by flipping ``r`` of
    bits ``0 .. b`` (``O(n_levels * length * 2**length)``).

    Parameters
    ----------
    keys : ndarray of int, shape (n,)
        Substring keys of the database codes, in ``[0, 2**length)``.
    length : int
        Substring length in bits.
    n_levels : int, default=3
        Radii ``0 .. n_levels - 1``.

    Returns
    -------
    ndarray of int32, shape (n_levels, 2**length)
        Clipped to ``2**31 - 1``.

    Examples
    --------
    >>> import numpy as np
    >>> level_costs(np.array([0, 0, 3]), 2)
    array([[3, 1, 1, 2],
           [2, 5, 5, 2],
           [2, 1, 1, 3]], dtype=int32)
    """
    size = 1 << int(length)
    f = np.zeros((n_levels, size), dtype=np.int64)
    f[0] = np.bincount(np.asarray(keys, dtype=np.int64), minlength=size)
    for b in range(int(length)):
        for r in range(n_levels - 1, 0, -1):
            flipped = f[r - 1].reshape(-1, 2, 1 << b)[:, ::-1, :].reshape(-1)
            f[r] += flipped
    for r in range(n_levels):
        f[r] += math.comb(int(length), r)
    return np.minimum(f, np.iinfo(np.int32).max).astype(np.int32)


@njit(cache=True, inline="always")
def _level_cost(qcost, lengths, t, r, n_db):
    """Entries + probes of table ``t`` at radius ``r`` (tabulated or estimated)."""
    length = lengths[t]
    if r < qcost.shape[1]:
        return np.int64(qcost[t, r])
    c = np.int64(1)  # C(length, r)
    for j in range(r):
        c = c * (length - j) // (j + 1)
    return c * (1 + (n_db >> length))


@njit(cache=True, inline="always")
def _verify_bucket(
    qw, words, flat, ids, masks, lo, hi, i, done, heap, size, k, tau, tau_d
):
    """Offer the codes of ``words[lo:hi]`` (found through table ``i``) to the heap."""
    n_words = qw.shape[0]
    if n_words == 1 and size == k:
        # Vectorised: a bitmask of the entries within tau_d per run of 64
        # (most buckets have none), then only those entries are offered.
        q0 = qw[0]
        for s0 in range(lo, hi, 64):
            run = flat[s0 : min(s0 + 64, hi)]
            bits = np.uint64(0)
            for j in range(run.shape[0]):
                bits |= np.uint64(popcount64(q0 ^ run[j]) <= tau_d) << np.uint64(j)
            while bits:
                j = _lowest_bit(bits)
                bits &= bits - np.uint64(1)
                d = popcount64(q0 ^ run[j])
                if d <= tau_d:  # tau_d may have fallen
                    size, tau = _offer(
                        qw, words, ids, masks, s0 + j, d, i, done, heap, size, k, tau
                    )
                    tau_d = tau >> 32
        return size, tau, tau_d
    for p in range(lo, hi):
        d = 0
        for w in range(n_words):
            d += popcount64(qw[w] ^ words[p, w])
        if d <= tau_d:
            size, tau = _offer(qw, words, ids, masks, p, d, i, done, heap, size, k, tau)
            if size == k:
                tau_d = tau >> 32
    return size, tau, tau_d


@njit(cache=True)
def _knn_one(
    qw,
    qkey,
    words,
    ids,
    offsets,
    table_offs,
    lengths,
    masks,
    costs,
    k,
    heap,
    budget,
    stats,
):
    """Progressive exact k-NN of one query; fills ``heap``, returns its size.

    The search is a sequence of *levels*: a level probes one table ``t`` at
    exactly ``r`` flipped key bits, after its radii ``0 .. r - 1``. When
    table ``j`` has been probed to radius ``done[j]`` (-1: not yet), every
    code within ``sum(done + 1) - 1`` bits of the query has been seen
    (pigeonhole: a code unseen so far differs in at least ``done[j] + 1``
    bits on every substring ``j``), whatever the order of the levels. So the
    next level is the cheapest one, by the tabulated count of entries and
    probes it reads (``costs``); on 1,000,000 64-bit ITQ codes (m = 5) this
    reads 15% fewer entries than Norouzi et al.'s round-robin order. The
    search stops as soon as ``k`` verified codes lie within the guaranteed
    radius. A code found through table ``t`` was already found iff some other
    substring ``j`` is within ``done[j]`` bits: this test on the code itself
    (cached next to its id) replaces a visited array. Codes that cannot
    enter the current top ``k`` are rejected before it. When the work
    (probes + bucket entries) passes ``budget`` it returns -1 and the caller
    answers the query with the blocked scan kernel (same exact result).

    A producer plans the levels (``planned``: radius reached per table) and
    walks their probes up to ``LOOKAHEAD`` ahead of the verification,
    loading each bucket's bounds into a ring of ``RING`` slots (bounds; table,
    radius and whether it ends the level) and prefetching its first cache
    lines; the verification pops the ring, so a
    bucket is usually in cache when it is read, and checks the stopping rule
    at each level's end.
    """
    m = lengths.shape[0]
    n_db = ids.shape[0] // m
    n_words = qw.shape[0]
    line = max(1, 8 // n_words)  # bucket entries per 64-byte cache line
    ahead = PREFETCH_LINES * line
    flat = words.reshape(-1)
    ring_lo = np.empty(RING, dtype=np.int64)
    ring_hi = np.empty(RING, dtype=np.int64)
    ring_tag = np.empty(RING, dtype=np.int64)
    wrap = RING - 1
    planned = np.empty(m, dtype=np.int64)
    done = np.empty(m, dtype=np.int64)
    qcost = np.empty((m, costs.shape[1]), dtype=np.int64)
    for t in range(m):
        planned[t] = -1
        done[t] = -1
        row = table_offs[t] + qkey[t]
        for r in range(qcost.shape[1]):
            qcost[t, r] = costs[row, r]
    size = 0
    tau = np.int64(1) << 62  # heap max key once full
    tau_d = np.int64(1) << 30
    work = 0
    n_probe = 0
    status = 0  # 1: answered, 2: over budget
    # producer: the current level probes table pt (-1: choose the next) at
    # radius pr; its next probe flips the key bits pmask
    pt = -1
    pr = 0
    pmask = np.int64(0)
    p_done = False
    head = 0
    tail = 0
    radius = -1  # guaranteed: sum(done + 1) - 1, all tables still at -1
    while True:
        while not p_done and head - tail < LOOKAHEAD:
            if pt < 0:
                best_c = np.int64(1) << 62
                for t in range(m):
                    r = planned[t] + 1
                    if r <= lengths[t]:
                        c = _level_cost(qcost, lengths, t, r, n_db)
                        if c < best_c:
                            best_c = c
                            pt = t
                if pt < 0:
                    p_done = True
                    break
                pr = planned[pt] + 1
                planned[pt] = pr
                pmask = (np.int64(1) << pr) - 1
            slot = head & wrap
            base = pt * n_db
            key = qkey[pt] ^ pmask
            lo = base + offsets[table_offs[pt] + key]
            hi = base + offsets[table_offs[pt] + key + 1]
            for p in range(lo, min(hi, lo + ahead), line):
                prefetch(flat, p * n_words)
            ring_lo[slot] = lo
            ring_hi[slot] = hi
            end = True
            if pmask != 0:
                pmask = _next_combination(pmask)
                end = pmask >= (np.int64(1) << lengths[pt])
            ring_tag[slot] = (pt << 16) | (pr << 1) | np.int64(end)
            head += 1
            if end:
                pt = -1
        if tail == head:
            break
        slot = tail & wrap
        tail += 1
        tag = ring_tag[slot]
        t = tag >> 16
        lo = ring_lo[slot]
        hi = ring_hi[slot]
        n_probe += 1
        work += 1 + hi - lo
        size, tau, tau_d = _verify_bucket(
            qw, words, flat, ids, masks, lo, hi, t, done, heap, size, k, tau, tau_d
        )
        if tag & 1:  # end of the level
            done[t] = (tag >> 1) & 0x7FFF
            radius += 1
            if size == k and tau_d <= radius:
                status = 1
                break
            if work > budget:
                status = 2
                break
    stats[0] += n_probe
    stats[1] += work
    if status == 2:
        stats[2] += 1
        return -1
    return size


@njit(cache=True, parallel=True)
def mih_knn(
    q_words,
    qkeys,
    words,
    ids,
    offsets,
    table_offs,
    lengths,
    masks,
    costs,
    k,
    budget,
    out_d,
    out_i,
    stats,
):
    """Exact k-NN of every query by progressive multi-index search.

    ``costs``: :func:`level_costs` of every table, transposed and laid out
    like ``offsets`` (one row per bucket: the costs of radii 0, 1, ...; no
    columns if a substring is too long to tabulate, and the levels' costs
    are then estimated).
    ``stats[q]`` receives (probes, probes + bucket entries, 1 if the query
    fell back to a scan).
    """
    n_q = q_words.shape[0]
    for qi in prange(n_q):
        heap = np.empty(k, dtype=np.int64)
        qw = q_words[qi]
        size = _knn_one(
            qw,
            qkeys[qi],
            words,
            ids,
            offsets,
            table_offs,
            lengths,
            masks,
            costs,
            k,
            heap,
            budget,
            stats[qi],
        )
        if size < 0:
            continue  # answered by the blocked scan kernel afterwards
        keys = np.sort(heap[:size])
        for j in range(k):
            out_d[qi, j] = np.int32(keys[j] >> 32)
            out_i[qi, j] = keys[j] & np.int64(0xFFFFFFFF)


@njit(cache=True)
def _radius_one(
    qw, qkey, words, ids, offsets, table_offs, lengths, masks, radius, out, write
):
    """Codes within ``radius`` of one query (pigeonhole probes, no duplicates).

    Table ``i`` is probed at ``0 .. r_max[i]`` flipped bits, with ``radius =
    m * r' + a``, ``r_max[i] = r'`` for ``i <= a`` and ``r' - 1`` otherwise. A
    code is reported by the first table whose substring is within its
    ``r_max``. Returns the count; writes the (distance << 32 | index) keys into
    ``out`` when ``write``.
    """
    m = lengths.shape[0]
    n_db = ids.shape[0] // m
    r_base = radius // m
    a = radius % m
    c = 0
    for i in range(m):
        r_max_i = min(r_base if i <= a else r_base - 1, lengths[i])
        base = i * n_db
        toff = table_offs[i]
        limit = np.int64(1) << lengths[i]
        for r in range(r_max_i + 1):
            mask = np.int64(0) if r == 0 else (np.int64(1) << r) - 1
            while mask < limit:
                key = qkey[i] ^ mask
                for p in range(
                    base + offsets[toff + key], base + offsets[toff + key + 1]
                ):
                    d = 0
                    for w in range(qw.shape[0]):
                        d += popcount64(qw[w] ^ words[p, w])
                    if d > radius:
                        continue
                    new = True
                    for j in range(i):
                        r_max_j = r_base if j <= a else r_base - 1
                        if _sub_distance(qw, words, p, masks, j) <= r_max_j:
                            new = False
                            break
                    if new:
                        if write:
                            out[c] = (np.int64(d) << 32) | np.int64(ids[p])
                        c += 1
                if mask == 0:
                    break
                mask = _next_combination(mask)
    return c


@njit(cache=True, parallel=True)
def mih_radius_count(
    q_words, qkeys, words, ids, offsets, table_offs, lengths, masks, radius, counts
):
    """counts[q] = number of codes within ``radius`` of query q."""
    dummy = np.empty(0, dtype=np.int64)
    for qi in prange(q_words.shape[0]):
        counts[qi] = _radius_one(
            q_words[qi],
            qkeys[qi],
            words,
            ids,
            offsets,
            table_offs,
            lengths,
            masks,
            radius,
            dummy,
            False,
        )


@njit(cache=True, parallel=True)
def mih_radius_fill(
    q_words, qkeys, words, ids, offsets, table_offs, lengths, masks, radius, starts, out
):
    """Fill ``out[starts[q]:starts[q+1]]`` with query q's sorted keys."""
    for qi in prange(q_words.shape[0]):
        seg = out[starts[qi] : starts[qi + 1]]
        _radius_one(
            q_words[qi],
            qkeys[qi],
            words,
            ids,
            offsets,
            table_offs,
            lengths,
            masks,
            radius,
            seg,
            True,
        )
        seg[:] = np.sort(seg)


class _dynamic_schedule:
    """Hand out queries to threads in small chunks (their costs vary a lot)."""

    def __enter__(self):
        if HAVE_NUMBA:
            import numba

            self.old = numba.get_parallel_chunksize()
            numba.set_parallel_chunksize(QUERY_CHUNK)
        return self

    def __exit__(self, *exc):
        if HAVE_NUMBA:
            import numba

            numba.set_parallel_chunksize(self.old)
        return False


class MIHSearcher:
    """Exact k-NN and radius search by multi-index hashing.

    Parameters
    ----------
    codes : ndarray of uint8, shape (n_db, n_bytes)
    n_substrings : int or None
        Number of substrings ``m``; None uses :func:`default_n_substrings`
        (tuned for k-NN; ``HammingNeighbors(algorithm="auto")`` builds its
        radius-query index with :func:`radius_n_substrings`), with ``b`` the
        bits actually used by the database (trailing padding bits that are 0
        in every code are left out of the tables; the verification uses the
        full codes, so results stay exact).
    max_work : int or None
        Per-query budget of k-NN work (table probes + bucket entries read).
        A query that needs more (a far query, or codes too uniform for the
        tables to prune) is answered by a full scan instead, with the same
        exact result. None uses ``n_db * MAX_WORK_FRACTION``.
    reorder_bits : bool, default=True
        Assign bits to substrings with :func:`substring_bit_order` (fewest
        colliding substring keys on a sample of the database) instead of
        cutting the codes into consecutive runs; database and queries are
        permuted alike, so results are unchanged. On 1,000,000 64-bit ITQ
        codes of augmented MNIST (k = 10) it reads 11-14% fewer bucket
        entries and is about 5% faster, for about 0.2 s more build; see
        ``doc/benchmarks_search.rst``.
    """

    #: Valid ``algorithm_params`` (checked by HammingNeighbors before building).
    _parameter_constraints: dict = {
        "n_substrings": [None, IntInterval(1, None, closed="left")],
        "max_work": [None, IntInterval(0, None, closed="left")],
        "reorder_bits": ["boolean"],
    }

    name = "mih"

    def __init__(self, codes, n_substrings=None, max_work=None, reorder_bits=True):
        self.max_work = max_work
        self.reorder_bits = reorder_bits
        if codes.shape[0] >= 1 << 31:
            raise ValueError("MIH supports databases of fewer than 2**31 codes.")
        self.codes = codes
        self.n_db, self.n_bytes = codes.shape
        self.max_dist = 8 * self.n_bytes
        used = np.bitwise_or.reduce(np.asarray(codes), axis=0) if self.n_db else None
        bits_used = self.max_dist
        if used is not None:
            nz = np.flatnonzero(np.unpackbits(used))
            bits_used = int(nz[-1]) + 1 if nz.size else 1
        self.n_bits_used = bits_used
        m = n_substrings or default_n_substrings(bits_used, self.n_db)
        m = int(min(max(1, m), bits_used))
        if math.ceil(bits_used / m) > MAX_SUBSTRING_BITS:
            raise ValueError(
                f"n_substrings={m} gives substrings of more than "
                f"{MAX_SUBSTRING_BITS} bits for {bits_used}-bit codes; use at "
                f"least {math.ceil(bits_used / MAX_SUBSTRING_BITS)}."
            )
        base, extra = divmod(bits_used, m)
        self.lengths = np.array([base + (i < extra) for i in range(m)], np.int64)
        self.starts = np.concatenate(([0], np.cumsum(self.lengths)[:-1])).astype(
            np.int64
        )
        #: bit order of the tables (None: the codes' own order)
        self.perm_ = None
        if reorder_bits and m > 1 and self.n_db > 1:
            perm = substring_bit_order(codes, self.lengths)
            if (perm != np.arange(perm.size)).any():
                self.perm_ = perm
        self._build()

    def _permuted(self, codes):
        return codes if self.perm_ is None else permute_bits(codes, self.perm_)

    def _build(self):
        codes = self._permuted(self.codes)
        keys = substring_keys(codes, self.starts, self.lengths)
        m = len(self.lengths)
        n = self.n_db
        sizes = (1 << self.lengths) + 1
        self.table_offs = np.concatenate(([0], np.cumsum(sizes)[:-1])).astype(np.int64)
        # Bucket bounds within each table (int32: the top tables stay in cache).
        self.offsets = np.zeros(int(sizes.sum()), dtype=np.int32)
        # Per-bucket cost of each probe radius, laid out like the offsets
        # (no columns if a substring is too long to tabulate).
        tab = int(self.lengths.max()) <= MAX_COST_BITS
        self.costs = np.zeros(
            (int(sizes.sum()), COST_LEVELS if tab else 0), dtype=np.int32
        )
        self.ids = np.empty(m * n, dtype=np.int32)
        db_words = np.ascontiguousarray(codes_to_words(codes))
        # Each table's codes in bucket order, next to their ids: the probes
        # verify candidates by streaming through a bucket, no random access.
        self.words = np.empty((m * n, db_words.shape[1]), dtype=np.uint64)
        for i in range(m):
            counts = np.bincount(
                keys[:, i].astype(np.int64), minlength=1 << int(self.lengths[i])
            )
            o = self.table_offs[i]
            np.cumsum(counts, out=self.offsets[o + 1 : o + sizes[i]])
            if tab:
                self.costs[o : o + (1 << int(self.lengths[i]))] = level_costs(
                    keys[:, i], int(self.lengths[i])
                ).T
            order = np.argsort(keys[:, i], kind="stable")
            self.ids[i * n : (i + 1) * n] = order
            self.words[i * n : (i + 1) * n] = db_words[order]
        # masks[i]: the bits of substring i in the uint64 word layout.
        bits = np.zeros((m, self.max_dist), dtype=np.uint8)
        for i in range(m):
            bits[i, self.starts[i] : self.starts[i] + self.lengths[i]] = 1
        self.masks = np.ascontiguousarray(codes_to_words(np.packbits(bits, axis=1)))

    def _query(self, codes):
        codes = self._permuted(np.asarray(codes))
        q_words = np.ascontiguousarray(codes_to_words(codes))
        qkeys = substring_keys(codes, self.starts, self.lengths).astype(np.int64)
        return q_words, qkeys

    def _scan(self):
        if getattr(self, "_scanner", None) is None:
            if HAVE_NUMBA:
                from skhash.neighbors._numba_brute import NumbaBruteSearcher

                self._scanner = NumbaBruteSearcher(self.codes)
            else:
                from skhash.neighbors._brute import BruteSearcher

                self._scanner = BruteSearcher(self.codes)
        return self._scanner

    def kneighbors(self, codes, k, n_jobs=None):
        """k nearest codes of each query, by (distance, index).

        For ``k * LARGE_K_RATIO > n_db`` (e.g. the full rankings of ``score``)
        the search radius reaches most of the database and probing the tables
        costs more than a scan, so the exact brute-force scan answers instead.
        A query whose probes pass ``max_work`` is scanned on its own.
        """
        if k * LARGE_K_RATIO > self.n_db:
            return self._scan().kneighbors(codes, k, n_jobs)
        q_words, qkeys = self._query(codes)
        n_q = q_words.shape[0]
        out_d = np.empty((n_q, k), np.int32)
        out_i = np.empty((n_q, k), np.int64)
        stats = np.zeros((n_q, 3), np.int64)
        budget = self.max_work
        if budget is None:
            budget = max(1024, int(self.n_db * MAX_WORK_FRACTION))
        if n_q:
            with numba_threads(n_jobs), _dynamic_schedule():
                mih_knn(
                    q_words,
                    qkeys,
                    self.words,
                    self.ids,
                    self.offsets,
                    self.table_offs,
                    self.lengths,
                    self.masks,
                    self.costs,
                    k,
                    budget,
                    out_d,
                    out_i,
                    stats,
                )
        scanned = np.flatnonzero(stats[:, 2])
        if scanned.size:
            d, i = self._scan().kneighbors(np.asarray(codes)[scanned], k, n_jobs)
            out_d[scanned] = d
            out_i[scanned] = i
        #: per query: probes, probes + bucket entries read, scanned (0/1)
        self.last_stats_ = stats
        return out_d, out_i

    def radius_neighbors(self, codes, radius, n_jobs=None):
        """All codes within ``radius`` (inclusive), by (distance, index)."""
        q_words, qkeys = self._query(codes)
        n_q = q_words.shape[0]
        r = int(min(np.floor(radius), self.max_dist))
        counts = np.zeros(n_q, np.int64)
        args = (
            q_words,
            qkeys,
            self.words,
            self.ids,
            self.offsets,
            self.table_offs,
            self.lengths,
            self.masks,
            r,
        )
        with numba_threads(n_jobs):
            if n_q:
                mih_radius_count(*args, counts)
            starts = np.zeros(n_q + 1, np.int64)
            np.cumsum(counts, out=starts[1:])
            keys = np.empty(starts[-1], np.int64)
            if n_q:
                mih_radius_fill(*args, starts, keys)
        split = starts[1:-1]
        d = (keys >> 32).astype(np.int32)
        i = keys & np.int64(0xFFFFFFFF)
        return np.split(d, split), np.split(i, split)

    def __getstate__(self):
        # The tables are derived data, rebuilt from the codes on unpickling.
        state = self.__dict__.copy()
        for name in (
            "offsets",
            "ids",
            "words",
            "masks",
            "db_words",
            "table_offs",
            "costs",
            "_scanner",
        ):
            state.pop(name, None)
        return state

    def __setstate__(self, state):
        self.__dict__.update(state)
        self._build()


__all__ = ["MIHSearcher", "HAVE_NUMBA"]
