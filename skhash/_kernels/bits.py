"""The only converter between bits, signs and packed codes.

Vocabulary (see ``doc/api.rst``):

* bits  : ``uint8`` 0/1 array, ``(n_samples, n_bits)``
* signs : float -1/+1 array, ``(n_samples, n_bits)``
* codes : ``uint8`` array, ``(n_samples, ceil(n_bits / 8))``, bits packed
  most-significant first (``np.packbits(..., bitorder="big")``), padding bits 0.
"""

import numpy as np


def n_bytes(n_bits):
    """Number of bytes that hold ``n_bits`` packed bits."""
    return (int(n_bits) + 7) // 8


def real_to_bits(values):
    """Binarise real outputs: bit = 1 where ``values >= 0`` (sign(0) -> 1)."""
    return (np.asarray(values) >= 0).astype(np.uint8)


def bits_to_signs(bits, dtype=np.float64):
    """Map 0/1 bits to -1/+1 signs."""
    return np.asarray(bits, dtype=dtype) * 2 - 1


def signs_to_bits(signs):
    """Map -1/+1 signs (or any reals) to bits with the >= 0 rule."""
    return real_to_bits(signs)


def pack(bits):
    """Pack a 2-D 0/1 array into codes (big bit order, zero padding)."""
    return np.packbits(np.asarray(bits, dtype=np.uint8), axis=1, bitorder="big")


def unpack(codes, n_bits):
    """Unpack codes into a ``(n_samples, n_bits)`` 0/1 ``uint8`` array."""
    return np.unpackbits(codes, axis=1, count=int(n_bits), bitorder="big")


def real_to_codes(values):
    """Binarise real outputs and pack them in one step."""
    return pack(real_to_bits(values))


def codes_to_words(codes):
    """View codes as a C-contiguous ``uint64`` word array.

    Rows are zero-padded on the right to a multiple of 8 bytes, which leaves
    Hamming distances unchanged. Returns an array of shape
    ``(n_samples, ceil(n_bytes / 8))``.
    """
    codes = np.asarray(codes, dtype=np.uint8)
    n, nb = codes.shape
    n_words = max(1, (nb + 7) // 8)
    if nb == n_words * 8 and codes.flags.c_contiguous:
        return codes.view(np.uint64)
    padded = np.zeros((n, n_words * 8), dtype=np.uint8)
    padded[:, :nb] = codes
    return padded.view(np.uint64)


def transpose_words(codes):
    """Word-transposed codes: a C-contiguous ``uint64`` array ``(n_words, n)``.

    Word ``w`` of every code is contiguous, the layout of the scan kernels.
    For 8-byte codes the transpose of the ``(n, 1)`` word view is already
    contiguous, so no copy is made.
    """
    return np.ascontiguousarray(codes_to_words(codes).T)


def used_bits(codes, chunk=1 << 20):
    """The code width in use: one past the last bit set in any code (at least 1).

    Packed codes carry no record of their length in bits: codes of ``n_bits``
    not a multiple of 8 end with padding bits that are 0 in every code. This
    width leaves them out (and any trailing bits that happen to be 0
    everywhere, which carry no information either). Reads the codes ``chunk``
    rows at a time, so a memory-mapped array is not loaded whole.

    Examples
    --------
    >>> import numpy as np
    >>> used_bits(np.array([[0b10100000], [0b01000000]], dtype=np.uint8))
    3
    """
    n, n_bytes = codes.shape
    used = np.zeros(n_bytes, np.uint8)
    for s in range(0, n, chunk):
        used |= np.bitwise_or.reduce(np.asarray(codes[s : s + chunk]), axis=0)
    nz = np.flatnonzero(np.unpackbits(used))
    return int(nz[-1]) + 1 if nz.size else 1
