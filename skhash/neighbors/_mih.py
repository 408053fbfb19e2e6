"""Multi-index hashing (Norouzi, Punjani and Fleet, CVPR 2012): exact, sublinear.

Each code (``b`` bits) is cut into ``m`` disjoint substrings of about
``log2(n)`` bits; substring ``i`` of every database code is the key of a
direct-address table (a CSR layout: ``offsets`` of length ``2**s_i + 1`` and
the database ids sorted by key). Pigeonhole: if two codes differ in at most
``r`` bits, write ``r = m * r' + a`` (``0 <= a < m``); then one of the
substrings ``0 .. a`` differs in at most ``r'`` bits, or one of the others in
at most ``r' - 1``. So

* **radius search** probes substrings ``0 .. a`` at distances ``0 .. r'`` and
  the others at ``0 .. r' - 1``, and verifies each candidate's full distance;
* **k-NN** grows the search in steps ``(r', i)``: after substring ``i`` has
  been probed at distance ``r'`` (and all substrings at ``r' - 1``), every
  code within ``m * r' + i`` bits of the query has been seen (an unseen code
  differs in at least ``r' + 1`` bits on substrings ``0 .. i`` and ``r'`` on
  the rest). The search stops as soon as ``k`` verified codes lie within that
  guaranteed radius; their (distance, index) order is then the exact answer.

The kernels are compiled with numba when it is installed (the ``fast``
extra) and otherwise run as plain Python, correct but slow.
"""

import math

import numpy as np

from skhash._kernels.bits import codes_to_words
from skhash.neighbors._jit import HAVE_NUMBA, njit, numba_threads, popcount64, prange

#: k-NN with ``k * LARGE_K_RATIO > n_db`` is answered by a brute-force scan.
LARGE_K_RATIO = 50

#: Longest substring (bits): its table has ``2**MAX_SUBSTRING_BITS + 1`` offsets.
MAX_SUBSTRING_BITS = 24


def default_n_substrings(n_bits, n_db):
    """Norouzi et al.'s choice m = b / log2(n), with substrings <= 24 bits."""
    m = round(n_bits / max(1.0, math.log2(max(n_db, 2))))
    return int(min(n_bits, max(1, m, math.ceil(n_bits / MAX_SUBSTRING_BITS))))


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


@njit(cache=True)
def _next_combination(v):
    """Gosper's hack: next integer with the same number of set bits."""
    t = v | (v - 1)
    # (~t & -~t) is the lowest clear bit of t.
    low = (~t) & (t + 1)
    tz = 0
    x = v
    while (x & 1) == 0:
        x >>= 1
        tz += 1
    return (t + 1) | ((low - 1) >> (tz + 1))


@njit(cache=True)
def _probe(
    q_words,
    qi,
    db_words,
    qkey,
    length,
    r_sub,
    table_off,
    offsets,
    ids,
    stamp,
    mark,
    cand,
    n_cand,
):
    """Probe one table at exactly ``r_sub`` flips; verify and store new codes.

    ``cand`` holds (distance << 32 | index) keys; returns the new count, or
    ``-(count + 1)`` when ``cand`` is full and must be grown before probing
    again (the codes already stored are stamped and skipped then).
    """
    if r_sub > length:
        return n_cand
    n_words = db_words.shape[1]
    if r_sub == 0:
        mask = np.int64(0)
    else:
        mask = (np.int64(1) << r_sub) - 1
    limit = np.int64(1) << length
    while mask < limit:
        key = np.int64(qkey) ^ mask
        lo = offsets[table_off + key]
        hi = offsets[table_off + key + 1]
        for p in range(lo, hi):
            idx = ids[p]
            if stamp[idx] == mark:
                continue
            stamp[idx] = mark
            d = 0
            for w in range(n_words):
                d += popcount64(q_words[qi, w] ^ db_words[idx, w])
            if n_cand >= cand.shape[0]:
                stamp[idx] = mark - 1  # not stored: revisit after growing
                return -(n_cand + 1)
            cand[n_cand] = (np.int64(d) << 32) | np.int64(idx)
            n_cand += 1
        if mask == 0:
            break
        mask = _next_combination(mask)
    return n_cand


@njit(cache=True)
def _knn_one(
    q_words,
    qi,
    qkeys,
    db_words,
    lengths,
    table_offs,
    offsets,
    ids,
    k,
    stamp,
    mark,
    cand,
    max_dist,
):
    """Progressive exact k-NN of one query; returns (sorted keys, count)."""
    m = lengths.shape[0]
    hist = np.zeros(max_dist + 2, dtype=np.int64)
    n_cand = 0
    max_len = 0
    for i in range(m):
        max_len = max(max_len, lengths[i])
    counted = 0
    for r_sub in range(max_len + 1):
        for i in range(m):
            while True:
                res = _probe(
                    q_words,
                    qi,
                    db_words,
                    qkeys[qi, i],
                    lengths[i],
                    r_sub,
                    table_offs[i],
                    offsets,
                    ids,
                    stamp,
                    mark,
                    cand,
                    n_cand,
                )
                if res >= 0:
                    n_cand = res
                    break
                n_cand = -res - 1
                bigger = np.empty(2 * cand.shape[0], dtype=np.int64)
                bigger[: cand.shape[0]] = cand
                cand = bigger
            for c in range(counted, n_cand):
                hist[cand[c] >> 32] += 1
            counted = n_cand
            guaranteed = m * r_sub + i
            found = 0
            for d in range(min(guaranteed, max_dist) + 1):
                found += hist[d]
            if found >= k:
                return cand, n_cand
    return cand, n_cand


@njit(cache=True, parallel=True)
def mih_knn(
    q_words, qkeys, db_words, lengths, table_offs, offsets, ids, k, out_d, out_i
):
    """Exact k-NN of every query by progressive multi-index search."""
    n_q = q_words.shape[0]
    n_db = db_words.shape[0]
    max_dist = 64 * db_words.shape[1]
    block = 64
    n_blocks = (n_q + block - 1) // block
    for b in prange(n_blocks):
        stamp = np.zeros(n_db, dtype=np.int32)
        cand = np.empty(max(4 * k, 256), dtype=np.int64)
        for qi in range(b * block, min(n_q, (b + 1) * block)):
            # Stamps 2, 4, 6, ...: "mark - 1" (re-probe after growing) never
            # collides with another query's mark.
            mark = 2 * (qi - b * block + 1)
            cand, n_cand = _knn_one(
                q_words,
                qi,
                qkeys,
                db_words,
                lengths,
                table_offs,
                offsets,
                ids,
                k,
                stamp,
                mark,
                cand,
                max_dist,
            )
            keys = np.sort(cand[:n_cand])
            for j in range(k):
                out_d[qi, j] = np.int32(keys[j] >> 32)
                out_i[qi, j] = keys[j] & np.int64(0xFFFFFFFF)


@njit(cache=True)
def mih_radius(
    q_words, qkeys, db_words, lengths, table_offs, offsets, ids, radius, out_counts
):
    """All codes within ``radius`` of each query; returns flat sorted keys."""
    n_q = q_words.shape[0]
    n_db = db_words.shape[0]
    m = lengths.shape[0]
    r_base = radius // m
    a = radius % m
    stamp = np.zeros(n_db, dtype=np.int32)
    cand = np.empty(1024, dtype=np.int64)
    out = np.empty(1024, dtype=np.int64)
    n_out = 0
    for qi in range(n_q):
        mark = 2 * (qi + 1)
        n_cand = 0
        for i in range(m):
            r_max = r_base if i <= a else r_base - 1
            for r_sub in range(r_max + 1):
                while True:
                    res = _probe(
                        q_words,
                        qi,
                        db_words,
                        qkeys[qi, i],
                        lengths[i],
                        r_sub,
                        table_offs[i],
                        offsets,
                        ids,
                        stamp,
                        mark,
                        cand,
                        n_cand,
                    )
                    if res >= 0:
                        n_cand = res
                        break
                    n_cand = -res - 1
                    bigger = np.empty(2 * cand.shape[0], dtype=np.int64)
                    bigger[: cand.shape[0]] = cand
                    cand = bigger
        kept = np.sort(cand[:n_cand])
        c = 0
        for j in range(n_cand):
            if (kept[j] >> 32) <= radius:
                c += 1
        while n_out + c > out.shape[0]:
            bigger = np.empty(2 * out.shape[0], dtype=np.int64)
            bigger[:n_out] = out[:n_out]
            out = bigger
        for j in range(c):
            out[n_out + j] = kept[j]
        n_out += c
        out_counts[qi] = c
    return out[:n_out]


class MIHSearcher:
    """Exact k-NN and radius search by multi-index hashing.

    Parameters
    ----------
    codes : ndarray of uint8, shape (n_db, n_bytes)
    n_substrings : int or None
        Number of substrings ``m``; None uses ``b / log2(n)`` (Norouzi et
        al.), with ``b`` the bits actually used by the database (trailing
        padding bits that are 0 in every code are left out of the tables; the
        verification uses the full codes, so results stay exact).
    """

    name = "mih"

    def __init__(self, codes, n_substrings=None):
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
        self._build()

    def _build(self):
        keys = substring_keys(self.codes, self.starts, self.lengths)
        m = len(self.lengths)
        sizes = (1 << self.lengths) + 1
        self.table_offs = np.concatenate(([0], np.cumsum(sizes)[:-1])).astype(np.int64)
        self.offsets = np.empty(int(sizes.sum()), dtype=np.int64)
        self.ids = np.empty(m * self.n_db, dtype=np.int64)
        for i in range(m):
            counts = np.bincount(
                keys[:, i].astype(np.int64), minlength=1 << int(self.lengths[i])
            )
            o = self.table_offs[i]
            self.offsets[o] = i * self.n_db
            np.cumsum(counts, out=self.offsets[o + 1 : o + sizes[i]])
            self.offsets[o + 1 : o + sizes[i]] += i * self.n_db
            self.ids[i * self.n_db : (i + 1) * self.n_db] = np.argsort(
                keys[:, i], kind="stable"
            )
        self.db_words = np.ascontiguousarray(codes_to_words(self.codes))

    def _query(self, codes):
        q_words = np.ascontiguousarray(codes_to_words(codes))
        qkeys = substring_keys(codes, self.starts, self.lengths)
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
        """
        if k * LARGE_K_RATIO > self.n_db:
            return self._scan().kneighbors(codes, k, n_jobs)
        q_words, qkeys = self._query(codes)
        n_q = q_words.shape[0]
        out_d = np.empty((n_q, k), np.int32)
        out_i = np.empty((n_q, k), np.int64)
        if n_q:
            with numba_threads(n_jobs):
                mih_knn(
                    q_words,
                    qkeys,
                    self.db_words,
                    self.lengths,
                    self.table_offs,
                    self.offsets,
                    self.ids,
                    k,
                    out_d,
                    out_i,
                )
        return out_d, out_i

    def radius_neighbors(self, codes, radius, n_jobs=None):
        """All codes within ``radius`` (inclusive), by (distance, index)."""
        q_words, qkeys = self._query(codes)
        n_q = q_words.shape[0]
        r = int(min(np.floor(radius), self.max_dist))
        counts = np.zeros(n_q, np.int64)
        keys = mih_radius(
            q_words,
            qkeys,
            self.db_words,
            self.lengths,
            self.table_offs,
            self.offsets,
            self.ids,
            r,
            counts,
        )
        split = np.cumsum(counts)[:-1]
        d = (keys >> 32).astype(np.int32)
        i = keys & np.int64(0xFFFFFFFF)
        return np.split(d, split), np.split(i, split)

    def __getstate__(self):
        # The tables are derived data, rebuilt from the codes on unpickling.
        state = self.__dict__.copy()
        for name in ("offsets", "ids", "db_words", "table_offs", "_scanner"):
            state.pop(name, None)
        return state

    def __setstate__(self, state):
        self.__dict__.update(state)
        self._build()


__all__ = ["MIHSearcher", "HAVE_NUMBA"]
