"""The database of a search backend: word-transposed codes, whole or in chunks."""

import mmap

import numpy as np

from skhash._kernels.bits import codes_to_words

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


def transpose_words(codes):
    """``(n_words, n)`` C-contiguous ``uint64`` copy of codes (a view if possible).

    For 8-byte codes the transpose of the ``(n, 1)`` word view is already
    contiguous, so no copy is made.
    """
    return np.ascontiguousarray(codes_to_words(codes).T)


class WordDatabase:
    """Packed codes prepared for the brute-force kernels.

    In memory, the word-transposed ``uint64`` copy is built once (it *is* the
    codes for 64-bit codes). A memory-mapped database is not copied: it is read
    and transposed ``chunk_rows`` codes at a time at each search, so memory
    stays bounded by the chunk whatever the database size; results of the
    chunks are merged exactly.

    Parameters
    ----------
    codes : ndarray of uint8, shape (n_db, n_bytes)
    chunk_rows : int or None
        Chunk size for memory-mapped databases; None uses ``MMAP_CHUNK_ROWS``.
    in_memory : bool or None
        Force (True) or avoid (False) the full transposed copy; None decides
        by :func:`is_memory_mapped`.
    """

    def __init__(self, codes, chunk_rows=None, in_memory=None):
        self.codes = codes
        self.n_db, self.n_bytes = codes.shape
        self.n_words = max(1, (self.n_bytes + 7) // 8)
        self.max_dist = 8 * self.n_bytes
        if in_memory is None:
            in_memory = not is_memory_mapped(codes)
        self.in_memory = bool(in_memory)
        self.chunk_rows = int(chunk_rows or MMAP_CHUNK_ROWS)
        self._db_t = transpose_words(codes) if self.in_memory else None

    def chunks(self):
        """Yield ``(offset, db_t)`` pieces covering the database in order."""
        if self._db_t is not None:
            yield 0, self._db_t
            return
        for s in range(0, self.n_db, self.chunk_rows):
            e = min(s + self.chunk_rows, self.n_db)
            yield s, transpose_words(np.asarray(self.codes[s:e]))

    def __getstate__(self):
        # The transposed copy is derived data: rebuild it after unpickling.
        state = self.__dict__.copy()
        state["_db_t"] = None
        return state

    def __setstate__(self, state):
        self.__dict__.update(state)
        if self.in_memory:
            self._db_t = transpose_words(self.codes)
