"""Public helpers for the packed code format (thin, validated wrappers)."""

import numpy as np

from skhash._kernels import bits as _bits
from skhash._kernels.hamming import hamming_codes


def _as_codes(codes, name):
    arr = np.asarray(codes)
    if arr.ndim != 2:
        raise ValueError(
            f"{name} must be a 2-D array of packed codes (n_samples, n_bytes), "
            f"got an array with {arr.ndim} dimension(s)."
        )
    if arr.dtype != np.uint8:
        raise ValueError(
            f"{name} must be packed codes of dtype uint8, got dtype {arr.dtype}. "
            "Use skhash.pack_bits to pack 0/1 bits or -1/+1 signs."
        )
    return np.ascontiguousarray(arr)


def pack_bits(bits_or_signs):
    """Pack bits (0/1) or signs (-1/+1, or any reals) into uint8 codes.

    An array whose values are all 0 or 1 (any numeric or boolean dtype) is taken
    as bits. Any other real array is taken as signs or real-valued outputs and
    binarised with the package rule: bit = 1 where the value is ``>= 0``.

    Parameters
    ----------
    bits_or_signs : array-like of shape (n_samples, n_bits)
        Either 0/1 bits (integer or boolean dtype, values in {0, 1}) or real
        values whose signs are the bits.

    Returns
    -------
    codes : ndarray of uint8, shape (n_samples, ceil(n_bits / 8))
        Bits packed eight to a byte, most significant first, padding bits 0.

    Examples
    --------
    >>> import numpy as np
    >>> from skhash import pack_bits
    >>> pack_bits(np.array([[1, 0, 1, 1, 0, 0, 0, 0, 1]]))
    array([[176, 128]], dtype=uint8)
    >>> pack_bits(np.array([[0.3, -1.0, 0.0]]))
    array([[160]], dtype=uint8)
    """
    arr = np.asarray(bits_or_signs)
    if arr.ndim != 2:
        raise ValueError(
            "bits_or_signs must be a 2-D array (n_samples, n_bits), got an array "
            f"with {arr.ndim} dimension(s)."
        )
    if arr.shape[1] == 0:
        raise ValueError("bits_or_signs must have at least one bit (column).")
    if arr.dtype == bool:
        return _bits.pack(arr)
    if not (
        np.issubdtype(arr.dtype, np.integer) or np.issubdtype(arr.dtype, np.floating)
    ):
        raise ValueError(
            f"bits_or_signs must be numeric or boolean, got dtype {arr.dtype}."
        )
    if not np.isfinite(arr).all():
        raise ValueError("bits_or_signs contains NaN or infinity.")
    if ((arr == 0) | (arr == 1)).all():
        return _bits.pack(arr)
    return _bits.real_to_codes(arr)


def unpack_codes(codes, n_bits):
    """Unpack uint8 codes into 0/1 bits.

    Parameters
    ----------
    codes : ndarray of uint8, shape (n_samples, n_bytes)
        Packed codes, as returned by a hasher's ``transform``.
    n_bits : int
        Code length; ``ceil(n_bits / 8)`` must equal ``n_bytes``.

    Returns
    -------
    bits : ndarray of uint8, shape (n_samples, n_bits)

    Examples
    --------
    >>> import numpy as np
    >>> from skhash import unpack_codes
    >>> unpack_codes(np.array([[176, 128]], dtype=np.uint8), 9)
    array([[1, 0, 1, 1, 0, 0, 0, 0, 1]], dtype=uint8)
    """
    codes = _as_codes(codes, "codes")
    n_bits = int(n_bits)
    if n_bits < 1:
        raise ValueError(f"n_bits must be >= 1, got {n_bits}.")
    if _bits.n_bytes(n_bits) != codes.shape[1]:
        raise ValueError(
            f"n_bits={n_bits} needs {_bits.n_bytes(n_bits)} byte(s) per code, but "
            f"codes has {codes.shape[1]} byte(s) per row."
        )
    return _bits.unpack(codes, n_bits)


def hamming_distance(codes_a, codes_b):
    """Dense matrix of Hamming distances between two sets of packed codes.

    Meant for small inputs; use :class:`skhash.HammingNeighbors` for search.

    Parameters
    ----------
    codes_a : ndarray of uint8, shape (n_a, n_bytes)
    codes_b : ndarray of uint8, shape (n_b, n_bytes)

    Returns
    -------
    distances : ndarray of int32, shape (n_a, n_b)
        Number of differing bits.

    Examples
    --------
    >>> import numpy as np
    >>> from skhash import hamming_distance, pack_bits
    >>> a = pack_bits(np.array([[1, 1, 0, 0, 1]]))
    >>> b = pack_bits(np.array([[1, 1, 0, 0, 1], [0, 0, 1, 1, 0]]))
    >>> hamming_distance(a, b)
    array([[0, 5]], dtype=int32)
    """
    a = _as_codes(codes_a, "codes_a")
    b = _as_codes(codes_b, "codes_b")
    if a.shape[1] != b.shape[1]:
        raise ValueError(
            f"codes_a has {a.shape[1]} byte(s) per code but codes_b has "
            f"{b.shape[1]}; both must come from the same code length."
        )
    return hamming_codes(a, b)
