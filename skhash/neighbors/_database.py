"""The database of the search backends: packed codes, whole or in chunks."""

import copy
import mmap
from functools import cached_property

import numpy as np

from skhash._kernels.bits import transpose_words, used_bits

#: Codes per chunk when a memory-mapped database is searched piece by piece
#: (8 MiB of words at 64 bits: fits the L3 cache of the reference machine).
MMAP_CHUNK_ROWS = 1 << 20


def is_memory_mapped(arr):
    """Whether ``arr`` (or an array it is a view of) lives in a memory map."""
    seen = 0
    while arr is not None and seen < 32:
        if isinstance(arr, (np.memmap, mmap.mmap)):
            return True
        arr = getattr(arr, "base", None)
        seen += 1
    return False


class CodeDatabase:
    """Packed database codes as every search backend reads them.

    In memory, the word-transposed ``uint64`` copy of the scan kernels is built
    once (it *is* the codes for 64-bit codes). A memory-mapped database is
    never copied: it is read ``chunk_rows`` codes at a time at each search
    (transposed per chunk for the scans, as raw codes for FAISS), so memory is
    bounded by the chunk whatever the database size; the chunks' results are
    merged exactly. Backends built on the same database share it (the
    transposed words, the code width).

    Parameters
    ----------
    codes : ndarray of uint8, shape (n_db, n_bytes)
        Packed codes (an array, a view, or a ``np.memmap``).
    chunk_rows : int or None
        Chunk size for memory-mapped databases; None uses ``MMAP_CHUNK_ROWS``.
    in_memory : bool or None
        Force (True) or avoid (False) the full transposed copy; None decides
        by :func:`is_memory_mapped`.
    transpose : bool, default=True
        Build the transposed copy of a database in memory. Backends that read
        only the raw codes (FAISS) pass False.

    Attributes
    ----------
    n_db, n_bytes, n_words : int
        Codes, bytes per code, ``uint64`` words per code.
    max_dist : int
        ``8 * n_bytes``, the largest possible distance.
    """

    def __init__(self, codes, chunk_rows=None, in_memory=None, transpose=True):
        self.codes = codes
        self.n_db, self.n_bytes = codes.shape
        self.n_words = max(1, (self.n_bytes + 7) // 8)
        self.max_dist = 8 * self.n_bytes
        if in_memory is None:
            in_memory = not is_memory_mapped(codes)
        self.in_memory = bool(in_memory)
        self.chunk_rows = int(chunk_rows or MMAP_CHUNK_ROWS)
        self.transpose = bool(transpose)
        self._db_t = None
        if self.in_memory and self.transpose:
            self._db_t = transpose_words(codes)

    @cached_property
    def n_bits(self):
        """The code width in use (:func:`~skhash._kernels.bits.used_bits`).

        One pass over the codes, made the first time it is asked for (by the
        backends and policies that need it, in ``fit``) and kept.
        """
        return used_bits(self.codes) if self.n_db else self.max_dist

    def with_chunk_rows(self, chunk_rows):
        """The same database (shared arrays) read in chunks of ``chunk_rows``."""
        if chunk_rows is None or int(chunk_rows) == self.chunk_rows:
            return self
        other = copy.copy(self)
        other.chunk_rows = int(chunk_rows)
        return other

    def chunks(self):
        """Yield ``(offset, db_t)``: word-transposed pieces covering the database."""
        if self._db_t is not None:
            yield 0, self._db_t
            return
        if self.in_memory:
            yield 0, transpose_words(self.codes)
            return
        for s in range(0, self.n_db, self.chunk_rows):
            e = min(s + self.chunk_rows, self.n_db)
            yield s, transpose_words(np.asarray(self.codes[s:e]))

    def code_chunks(self):
        """Yield ``(offset, codes)``: C-contiguous pieces of the packed codes."""
        if self.in_memory:
            yield 0, np.ascontiguousarray(self.codes)
            return
        for s in range(0, self.n_db, self.chunk_rows):
            e = min(s + self.chunk_rows, self.n_db)
            yield s, np.ascontiguousarray(self.codes[s:e])

    def __getstate__(self):
        # The transposed copy is derived data: rebuild it after unpickling.
        state = self.__dict__.copy()
        state["_db_t"] = None
        return state

    def __setstate__(self, state):
        self.__dict__.update(state)
        if self.in_memory and self.__dict__.setdefault("transpose", True):
            self._db_t = transpose_words(self.codes)


#: The class's name in searchers pickled by skhash 0.1.0 development versions.
WordDatabase = CodeDatabase


def as_database(codes, chunk_rows=None, transpose=True):
    """``codes`` as a :class:`CodeDatabase` (shared if it already is one)."""
    if isinstance(codes, CodeDatabase):
        return codes.with_chunk_rows(chunk_rows)
    return CodeDatabase(codes, chunk_rows=chunk_rows, transpose=transpose)
