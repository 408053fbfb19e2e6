"""Hamming distance kernels on packed codes (NumPy ``bitwise_count``)."""

import numpy as np

from skhash._kernels.bits import codes_to_words


def pairwise_hamming(words_a, words_b, out=None):
    """Dense Hamming distance matrix between two ``uint64`` word arrays.

    Parameters
    ----------
    words_a : ndarray of uint64, shape (n_a, n_words)
    words_b : ndarray of uint64, shape (n_b, n_words)
    out : ndarray of int32, shape (n_a, n_b), optional
        Preallocated output.

    Returns
    -------
    dist : ndarray of int32, shape (n_a, n_b)
    """
    n_a, n_words = words_a.shape
    n_b = words_b.shape[0]
    if out is None:
        out = np.zeros((n_a, n_b), dtype=np.int32)
    else:
        out[...] = 0
    tmp = np.empty((n_a, n_b), dtype=np.uint64)
    cnt = np.empty((n_a, n_b), dtype=np.uint8)
    for w in range(n_words):
        np.bitwise_xor(words_a[:, w, None], words_b[None, :, w], out=tmp)
        np.bitwise_count(tmp, out=cnt)
        out += cnt
    return out


def hamming_codes(codes_a, codes_b):
    """Dense Hamming distance matrix between two packed code arrays."""
    return pairwise_hamming(codes_to_words(codes_a), codes_to_words(codes_b))


def distance_dtype(n_bits_max):
    """Smallest unsigned dtype that holds distances up to ``n_bits_max``."""
    return np.uint8 if n_bits_max <= 255 else np.uint16


def distance_block(q_words, db_words_t, out, db_chunk=16384):
    """Hamming distances of a block of queries to the whole database.

    Parameters
    ----------
    q_words : ndarray of uint64, shape (n_q, n_words)
    db_words_t : ndarray of uint64, shape (n_words, n_db)
        The database, word-transposed (each word is a contiguous row).
    out : ndarray of uint8 or uint16, shape (n_q, n_db)
        Receives the distances.
    db_chunk : int
        Database codes processed at once, bounding the ``uint64`` temporary to
        ``n_q * db_chunk`` words.

    Returns
    -------
    out : ndarray
    """
    n_q, n_words = q_words.shape
    n_db = db_words_t.shape[1]
    width = min(db_chunk, n_db)
    tmp = np.empty((n_q, width), dtype=np.uint64)
    cnt = np.empty((n_q, width), dtype=out.dtype) if n_words > 1 else None
    for start in range(0, n_db, width):
        stop = min(start + width, n_db)
        m = stop - start
        t = tmp[:, :m]
        o = out[:, start:stop]
        for w in range(n_words):
            np.bitwise_xor(q_words[:, w, None], db_words_t[None, w, start:stop], out=t)
            if w == 0:
                np.bitwise_count(t, out=o, casting="unsafe")
            else:
                c = cnt[:, :m]
                np.bitwise_count(t, out=c, casting="unsafe")
                o += c
    return out


def topk_rows(D, k, max_dist):
    """Exact k smallest entries of each row, ordered by (distance, column).

    Counting selection: the k-th distance ``t`` of a row is read off the
    histogram of its ``max_dist + 1`` possible values; every column with a
    distance below ``t`` is kept, then the first columns (by index) at exactly
    ``t`` fill the remaining places.

    Parameters
    ----------
    D : ndarray of unsigned int, shape (n_q, n_db)
        Distance rows.
    k : int
        Number of neighbours, ``1 <= k <= n_db``.
    max_dist : int
        Largest possible distance.

    Returns
    -------
    dist : ndarray of int32, shape (n_q, k)
    ind : ndarray of int64, shape (n_q, k)
    """
    n_q = D.shape[0]
    dist = np.empty((n_q, k), dtype=np.int32)
    ind = np.empty((n_q, k), dtype=np.int64)
    for i in range(n_q):
        row = D[i]
        counts = np.bincount(row, minlength=max_dist + 1)
        cum = np.cumsum(counts)
        t = int(np.searchsorted(cum, k))  # first distance with cum >= k
        cand = np.flatnonzero(row <= t)
        cd = row[cand]
        n_below = int(cum[t - 1]) if t > 0 else 0
        below = cand[cd < t]
        at = cand[cd == t][: k - n_below]
        sel = np.concatenate((below, at))
        order = np.argsort(row[sel], kind="stable")
        ind[i] = sel[order]
        dist[i] = row[ind[i]]
    return dist, ind


def radius_rows(D, radius):
    """Columns with distance ``<= radius`` of each row, by (distance, column).

    Returns
    -------
    dist : list of ndarray of int32
    ind : list of ndarray of int64
    """
    dists, inds = [], []
    for row in D:
        sel = np.flatnonzero(row <= radius)
        order = np.argsort(row[sel], kind="stable")
        sel = sel[order]
        inds.append(sel.astype(np.int64, copy=False))
        dists.append(row[sel].astype(np.int32))
    return dists, inds
