"""Multi-index hashing tables (Norouzi, Punjani and Fleet, CVPR 2012).

Each code (``b`` bits) is cut into ``m`` disjoint substrings; substring ``i``
of every database code is the key of a direct-address table. Pigeonhole: if
two codes differ in at most ``r`` bits, write ``r = m * r' + a``
(``0 <= a < m``); then one of the substrings ``0 .. a`` differs in at most
``r'`` bits, or one of the others in at most ``r' - 1``, so probing the
tables around the query's keys finds every code within ``r`` bits.

This module holds the NumPy side: the number and lengths of the substrings,
the assignment of bits to substrings, the keys, and the tables
(:func:`build_tables`). The compiled probe-and-verify kernels are in
:mod:`skhash._kernels.mih_numba`; the searcher is
``skhash.neighbors._mih.MIHSearcher``.
"""

import math
from collections import namedtuple

import numpy as np

from skhash._kernels.bits import codes_to_words

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
    augmented MNIST, k = 10, where it picks the fastest ``m`` or one within
    the noise (the sweeps are in ``doc/benchmarks_search.rst``): 64 bits at
    n = 50,000 / 250,000 / 1,000,000 / 4,000,000 give m = 7 / 5 / 5 / 4.
    Substrings are at most 24 bits.

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


def substring_lengths(n_bits, m):
    """Lengths of ``m`` consecutive substrings covering ``n_bits`` bits.

    The first ``n_bits % m`` substrings are one bit longer than the others.

    Examples
    --------
    >>> substring_lengths(10, 3)
    array([4, 3, 3])
    """
    base, extra = divmod(int(n_bits), int(m))
    return np.array([base + (i < extra) for i in range(int(m))], np.int64)


#: The arrays of a multi-index: see :func:`build_tables`.
MIHTables = namedtuple(
    "MIHTables", ["table_offs", "offsets", "costs", "ids", "words", "masks"]
)


def build_tables(codes, starts, lengths):
    """The direct-address tables of multi-index hashing, one per substring.

    Table ``i`` is a CSR layout over the keys of substring ``i``: its bucket
    bounds are ``offsets[table_offs[i] : table_offs[i] + 2**lengths[i] + 1]``
    (positions within the table's ``n`` entries), and its entries, in bucket
    order, are ``ids[i * n : (i + 1) * n]`` (database indices) next to
    ``words[i * n : (i + 1) * n]`` (the codes' ``uint64`` words): a probe
    verifies the candidates of a bucket by streaming through it, with no
    random access.

    Parameters
    ----------
    codes : ndarray of uint8, shape (n, n_bytes)
        Packed database codes (already in the tables' bit order).
    starts, lengths : ndarray of int64, shape (m,)
        First bit and length of each substring.

    Returns
    -------
    MIHTables
        ``table_offs`` (int64, ``(m,)``): where each table's bounds start in
        ``offsets``; ``offsets`` (int32); ``costs`` (int32, one row per bucket
        laid out like ``offsets``: :func:`level_costs` of radii
        ``0 .. COST_LEVELS - 1``, or no columns if a substring is longer than
        ``MAX_COST_BITS``); ``ids`` (int32, ``(m * n,)``); ``words`` (uint64,
        ``(m * n, n_words)``); ``masks`` (uint64, ``(m, n_words)``: the bits of
        each substring in the word layout).
    """
    keys = substring_keys(codes, starts, lengths)
    m = len(lengths)
    n, n_bytes = codes.shape
    sizes = (1 << lengths) + 1
    table_offs = np.concatenate(([0], np.cumsum(sizes)[:-1])).astype(np.int64)
    # Bucket bounds within each table (int32: the top tables stay in cache).
    offsets = np.zeros(int(sizes.sum()), dtype=np.int32)
    tab = int(lengths.max()) <= MAX_COST_BITS
    costs = np.zeros((int(sizes.sum()), COST_LEVELS if tab else 0), dtype=np.int32)
    ids = np.empty(m * n, dtype=np.int32)
    db_words = np.ascontiguousarray(codes_to_words(codes))
    words = np.empty((m * n, db_words.shape[1]), dtype=np.uint64)
    for i in range(m):
        counts = np.bincount(
            keys[:, i].astype(np.int64), minlength=1 << int(lengths[i])
        )
        o = table_offs[i]
        np.cumsum(counts, out=offsets[o + 1 : o + sizes[i]])
        if tab:
            costs[o : o + (1 << int(lengths[i]))] = level_costs(
                keys[:, i], int(lengths[i])
            ).T
        order = np.argsort(keys[:, i], kind="stable")
        ids[i * n : (i + 1) * n] = order
        words[i * n : (i + 1) * n] = db_words[order]
    bits = np.zeros((m, 8 * n_bytes), dtype=np.uint8)
    for i in range(m):
        bits[i, starts[i] : starts[i] + lengths[i]] = 1
    masks = np.ascontiguousarray(codes_to_words(np.packbits(bits, axis=1)))
    return MIHTables(table_offs, offsets, costs, ids, words, masks)
