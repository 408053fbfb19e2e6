"""Multi-index hashing search (Norouzi, Punjani and Fleet, CVPR 2012): exact, sublinear.

The searcher of ``HammingNeighbors(algorithm="mih")`` and of the radius
queries that ``algorithm="auto"`` answers by multi-index hashing. The tables
(:mod:`skhash._kernels.mih`) are built when the searcher is built, in
``fit``; the compiled probe-and-verify kernels are in
:mod:`skhash._kernels.mih_numba`. The searcher holds its own copy of the
codes (one per substring, in bucket order), so it is an index backend: a
memory-mapped database is read in full when it is built.
"""

import math

import numpy as np

from skhash._kernels.bits import codes_to_words
from skhash._kernels.jit import HAVE_NUMBA, numba_threads, parallel_chunksize
from skhash._kernels.mih import (
    MAX_SUBSTRING_BITS,
    build_tables,
    default_n_substrings,
    permute_bits,
    substring_bit_order,
    substring_keys,
    substring_lengths,
)
from skhash._kernels.mih_numba import mih_knn, mih_radius_count, mih_radius_fill
from skhash._validation import IntInterval
from skhash.neighbors._database import as_database

#: k-NN with ``k * LARGE_K_RATIO > n_db`` is answered by a brute-force scan.
LARGE_K_RATIO = 50

#: Default per-query work budget (probes + bucket entries) as a fraction of
#: ``n_db``; a query that needs more is answered by a scan. A query scanned on
#: its own costs more than its share of a batched scan, and the work spent
#: before giving up is lost, so the budget is generous; on 1,000,000 learned
#: codes (32, 64, 128 bits) and on random 64-bit codes, 1/8 was as fast as or
#: faster than smaller budgets (``doc/benchmarks_search.rst``).
MAX_WORK_FRACTION = 1 / 8

#: Queries per chunk of the parallel k-NN loop (dynamic scheduling: the costs
#: of queries vary a lot).
QUERY_CHUNK = 4


class MIHSearcher:
    """Exact k-NN and radius search by multi-index hashing.

    Parameters
    ----------
    codes : ndarray of uint8, shape (n_db, n_bytes), or CodeDatabase
        Database codes. Given a database shared with a scan backend, the
        searcher reuses its code width and its scan (for the queries answered
        by a scan).
    n_substrings : int or None
        Number of substrings ``m``; None uses
        :func:`~skhash._kernels.mih.default_n_substrings` (tuned for k-NN;
        ``HammingNeighbors(algorithm="auto")`` builds its radius-query index
        with :func:`~skhash._kernels.mih.radius_n_substrings`), with ``b`` the
        bits actually used by the database (trailing padding bits that are 0
        in every code are left out of the tables; the verification uses the
        full codes, so results stay exact).
    max_work : int or None
        Per-query budget of k-NN work (table probes + bucket entries read).
        A query that needs more (a far query, or codes too uniform for the
        tables to prune) is answered by a full scan instead, with the same
        exact result. None uses ``n_db * MAX_WORK_FRACTION``.
    reorder_bits : bool, default=True
        Assign bits to substrings with
        :func:`~skhash._kernels.mih.substring_bit_order` (fewest colliding
        substring keys on a sample of the database) instead of cutting the
        codes into consecutive runs; database and queries are permuted alike,
        so results are unchanged. Fewer bucket entries are read for a little
        more build time (measured in ``doc/benchmarks_search.rst``).

    Attributes
    ----------
    n_bits_used : int
        The code width the tables cover.
    lengths, starts : ndarray of int64, shape (m,)
        Length and first bit of each substring (in the tables' bit order).
    perm_ : ndarray of int64 or None
        The tables' bit order (see :func:`~skhash._kernels.mih.permute_bits`);
        None for the codes' own order.
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
        self.db = as_database(codes)
        if self.db.n_db >= 1 << 31:
            raise ValueError("MIH supports databases of fewer than 2**31 codes.")
        self.n_db, self.n_bytes = self.db.n_db, self.db.n_bytes
        self.max_dist = self.db.max_dist
        bits_used = self.db.n_bits
        self.n_bits_used = bits_used
        m = n_substrings or default_n_substrings(bits_used, self.n_db)
        m = int(min(max(1, m), bits_used))
        if math.ceil(bits_used / m) > MAX_SUBSTRING_BITS:
            raise ValueError(
                f"n_substrings={m} gives substrings of more than "
                f"{MAX_SUBSTRING_BITS} bits for {bits_used}-bit codes; use at "
                f"least {math.ceil(bits_used / MAX_SUBSTRING_BITS)}."
            )
        self.lengths = substring_lengths(bits_used, m)
        self.starts = np.concatenate(([0], np.cumsum(self.lengths)[:-1])).astype(
            np.int64
        )
        self.perm_ = None
        if reorder_bits and m > 1 and self.n_db > 1:
            perm = substring_bit_order(self.db.codes, self.lengths)
            if (perm != np.arange(perm.size)).any():
                self.perm_ = perm
        self._build()

    @property
    def codes(self):
        """The database codes."""
        return self.db.codes

    def _permuted(self, codes):
        return codes if self.perm_ is None else permute_bits(codes, self.perm_)

    def _build(self):
        codes = np.asarray(self._permuted(self.db.codes))
        tables = build_tables(codes, self.starts, self.lengths)
        self.table_offs = tables.table_offs
        self.offsets = tables.offsets
        self.costs = tables.costs
        self.ids = tables.ids
        self.words = tables.words
        self.masks = tables.masks
        # The scan of the queries the tables do not answer shares the database.
        if HAVE_NUMBA:
            from skhash.neighbors._numba_brute import NumbaBruteSearcher

            self._scanner = NumbaBruteSearcher(self.db)
        else:
            from skhash.neighbors._brute import BruteSearcher

            self._scanner = BruteSearcher(self.db)

    def _query(self, codes):
        codes = self._permuted(np.asarray(codes))
        q_words = np.ascontiguousarray(codes_to_words(codes))
        qkeys = substring_keys(codes, self.starts, self.lengths).astype(np.int64)
        return q_words, qkeys

    def kneighbors(self, codes, k, n_jobs=None, return_stats=False):
        """k nearest codes of each query, by (distance, index).

        For ``k * LARGE_K_RATIO > n_db`` (e.g. the full rankings of ``score``)
        the search radius reaches most of the database and probing the tables
        costs more than a scan, so the exact brute-force scan answers instead.
        A query whose probes pass ``max_work`` is scanned on its own.

        Parameters
        ----------
        codes : ndarray of uint8, shape (n_queries, n_bytes)
        k : int
        n_jobs : int or None, default=None
        return_stats : bool, default=False
            Also return the work of each query.

        Returns
        -------
        dist : ndarray of int32, shape (n_queries, k)
        ind : ndarray of int64, shape (n_queries, k)
        stats : ndarray of int64, shape (n_queries, 3)
            Per query: probes, probes + bucket entries read, 1 if it was
            answered by a scan (all 0 when the whole batch was scanned). Only
            if ``return_stats``.
        """
        n_q = codes.shape[0]
        stats = np.zeros((n_q, 3), np.int64)
        if k * LARGE_K_RATIO > self.n_db:
            d, i = self._scanner.kneighbors(codes, k, n_jobs)
            return (d, i, stats) if return_stats else (d, i)
        q_words, qkeys = self._query(codes)
        out_d = np.empty((n_q, k), np.int32)
        out_i = np.empty((n_q, k), np.int64)
        budget = self.max_work
        if budget is None:
            budget = max(1024, int(self.n_db * MAX_WORK_FRACTION))
        if n_q:
            with numba_threads(n_jobs), parallel_chunksize(QUERY_CHUNK):
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
            d, i = self._scanner.kneighbors(np.asarray(codes)[scanned], k, n_jobs)
            out_d[scanned] = d
            out_i[scanned] = i
        return (out_d, out_i, stats) if return_stats else (out_d, out_i)

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
            "table_offs",
            "costs",
            "_scanner",
        ):
            state.pop(name, None)
        return state

    def __setstate__(self, state):
        if "db" not in state:  # pickled before the shared database layer
            state = dict(state)
            state["db"] = as_database(state.pop("codes"))
        self.__dict__.update(state)
        self._build()
