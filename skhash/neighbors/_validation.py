"""Validation of packed codes given to the search estimators."""

import numpy as np

from skhash._validation import RealInterval

#: Valid Hamming radii: finite and non-negative (the constructor's constraint).
RADIUS = RealInterval(0, None, closed="left")


def check_radius(r, name="radius"):
    """A finite, non-negative Hamming radius (not a bool, not NaN or inf)."""
    if isinstance(r, (bool, np.bool_)) or not RADIUS.is_satisfied_by(r):
        raise ValueError(f"{name} must be a finite non-negative number, got {r!r}.")
    return r


def check_code_type(codes, name="codes"):
    """Refuse a quantizer's codeword indices (marked arrays), which are not bits.

    Quantizers return :class:`skhash.base.QuantizerCodes`, an array carrying
    ``_skhash_code_type``; plain arrays pass.
    """
    kind = getattr(codes, "_skhash_code_type", "bits")
    if kind != "bits":
        raise ValueError(
            f"{name} are {kind} codes (codeword indices of a quantizer), not "
            "packed bits: Hamming distance is meaningless on them. Search them "
            "with skhash.QuantizedNeighbors."
        )


def check_codes(codes, name="codes", n_bytes=None):
    """Validate packed codes: 2-D, uint8 (or integers in [0, 255]), finite.

    Parameters
    ----------
    codes : array-like
        Packed codes, ``(n_samples, n_bytes)``.
    name : str
        Parameter name used in error messages.
    n_bytes : int or None
        Expected width (of the fitted database), or None.

    Returns
    -------
    codes : ndarray of uint8, C-contiguous
    """
    if hasattr(codes, "toarray") or hasattr(codes, "tocsr"):
        raise TypeError(
            f"{name} must be a dense array of packed codes; sparse input is not "
            "supported."
        )
    check_code_type(codes, name)
    arr = np.asarray(codes)
    if arr.ndim != 2:
        raise ValueError(
            f"{name} must be a 2-D array of packed codes (n_samples, n_bytes), got "
            f"an array with {arr.ndim} dimension(s). Reshape a single code with "
            "codes.reshape(1, -1)."
        )
    if arr.shape[1] == 0:
        raise ValueError(f"{name} has 0 bytes per row; at least 1 is required.")
    if arr.dtype != np.uint8:
        if arr.dtype.kind not in "biuf":
            raise ValueError(
                f"{name} must be packed uint8 codes, got dtype {arr.dtype}."
            )
        if arr.size and (
            not np.isfinite(arr).all() if arr.dtype.kind == "f" else False
        ):
            raise ValueError(f"{name} contains NaN or infinity; codes are uint8.")
        if arr.size and (
            (arr.min() < 0) or (arr.max() > 255) or (arr != np.round(arr)).any()
        ):
            raise ValueError(
                f"{name} must be packed uint8 codes (integers 0-255, as returned "
                f"by a hasher's transform), got dtype {arr.dtype} with values in "
                f"[{arr.min()}, {arr.max()}]. Pack 0/1 bits or signs with "
                "skhash.pack_bits."
            )
        arr = arr.astype(np.uint8)
    if n_bytes is not None and arr.shape[1] != n_bytes:
        raise ValueError(
            f"{name} have {arr.shape[1]} byte(s) per code ({8 * arr.shape[1]} bits "
            f"max) but the database was fitted with {n_bytes} byte(s) per code "
            f"({8 * n_bytes} bits max): query and database codes must come from "
            "the same code length."
        )
    return np.ascontiguousarray(arr)
