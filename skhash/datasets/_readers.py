"""Readers for the binary formats of the hashing benchmarks.

* ``.fvecs`` / ``.ivecs`` / ``.bvecs`` (INRIA TEXMEX: SIFT1M, GIST1M): each vector
  is stored as a little-endian int32 dimension ``d`` followed by ``d`` components
  (float32, int32 or uint8).
* IDX (MNIST, Fashion-MNIST): a big-endian header ``0, 0, type code, ndim``, then
  ``ndim`` big-endian int32 sizes, then the values in row-major order; plain or
  gzip-compressed (detected from the magic bytes, not from the file name).
"""

import gzip
import os

import numpy as np

__all__ = ["read_bvecs", "read_fvecs", "read_idx", "read_ivecs"]

# IDX type codes -> big-endian NumPy dtypes.
_IDX_DTYPES = {
    0x08: np.dtype("u1"),
    0x09: np.dtype("i1"),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}


def _read_vecs(path, component_dtype, max_rows):
    component_dtype = np.dtype(component_dtype).newbyteorder("<")
    raw = np.fromfile(os.fspath(path), dtype=np.uint8)
    if raw.size == 0:
        return np.empty((0, 0), dtype=component_dtype.newbyteorder("="))
    if raw.size < 4:
        raise ValueError(f"{os.fspath(path)!r} is too short to be a *vecs file.")
    d = int(raw[:4].view("<i4")[0])
    if d <= 0:
        raise ValueError(
            f"{os.fspath(path)!r}: invalid vector dimension {d} in the first record."
        )
    record = 4 + d * component_dtype.itemsize
    if raw.size % record:
        raise ValueError(
            f"{os.fspath(path)!r}: size {raw.size} bytes is not a multiple of the "
            f"record size {record} (dimension {d}); the file is truncated or the "
            "vectors do not all have the same dimension."
        )
    n = raw.size // record
    if max_rows is not None:
        n = min(n, int(max_rows))
    records = raw[: n * record].reshape(n, record)
    dims = records[:, :4].copy().view("<i4").ravel()
    if np.any(dims != d):
        bad = int(np.flatnonzero(dims != d)[0])
        raise ValueError(
            f"{os.fspath(path)!r}: vector {bad} has dimension {dims[bad]}, "
            f"expected {d}; mixed dimensions are not supported."
        )
    data = records[:, 4:].copy().view(component_dtype)
    return data.astype(component_dtype.newbyteorder("="), copy=False)


def read_fvecs(path, *, max_rows=None):
    """Read a ``.fvecs`` file (float32 vectors) into a 2-D array.

    Parameters
    ----------
    path : str or path-like
        File to read.
    max_rows : int, default=None
        Read at most this many vectors (all when None).

    Returns
    -------
    X : ndarray of shape (n_vectors, dim), dtype float32

    Raises
    ------
    ValueError
        If the file is truncated or its vectors do not all have the same
        dimension.

    Examples
    --------
    >>> import numpy as np, tempfile, os
    >>> from skhash.datasets import read_fvecs
    >>> X = np.arange(6, dtype=np.float32).reshape(2, 3)
    >>> rows = np.hstack([np.full((2, 1), 3, "<i4").view("<f4"), X])
    >>> path = os.path.join(tempfile.mkdtemp(), "x.fvecs")
    >>> rows.astype("<f4").tofile(path)
    >>> read_fvecs(path)
    array([[0., 1., 2.],
           [3., 4., 5.]], dtype=float32)
    """
    return _read_vecs(path, "f4", max_rows)


def read_ivecs(path, *, max_rows=None):
    """Read an ``.ivecs`` file (int32 vectors, e.g. ground-truth ids).

    Parameters
    ----------
    path : str or path-like
        File to read.
    max_rows : int, default=None
        Read at most this many vectors (all when None).

    Returns
    -------
    X : ndarray of shape (n_vectors, dim), dtype int32

    Examples
    --------
    >>> import numpy as np, tempfile, os
    >>> from skhash.datasets import read_ivecs
    >>> rows = np.array([[2, 7, 9], [2, 1, 0]], dtype="<i4")
    >>> path = os.path.join(tempfile.mkdtemp(), "gt.ivecs")
    >>> rows.tofile(path)
    >>> read_ivecs(path)
    array([[7, 9],
           [1, 0]], dtype=int32)
    """
    return _read_vecs(path, "i4", max_rows)


def read_bvecs(path, *, max_rows=None):
    """Read a ``.bvecs`` file (uint8 vectors, e.g. SIFT1B).

    Parameters
    ----------
    path : str or path-like
        File to read.
    max_rows : int, default=None
        Read at most this many vectors (all when None).

    Returns
    -------
    X : ndarray of shape (n_vectors, dim), dtype uint8

    Examples
    --------
    >>> import numpy as np, tempfile, os
    >>> from skhash.datasets import read_bvecs
    >>> rec = np.array([4, 0, 0, 0, 1, 2, 3, 255], dtype=np.uint8)
    >>> path = os.path.join(tempfile.mkdtemp(), "x.bvecs")
    >>> np.concatenate([rec, rec]).tofile(path)
    >>> read_bvecs(path).shape
    (2, 4)
    """
    return _read_vecs(path, "u1", max_rows)


def _idx_from_bytes(buf, name="<bytes>"):
    if len(buf) < 4 or buf[0] != 0 or buf[1] != 0:
        raise ValueError(f"{name}: not an IDX file (bad magic number).")
    code, ndim = buf[2], buf[3]
    if code not in _IDX_DTYPES:
        raise ValueError(f"{name}: unknown IDX data type code 0x{code:02X}.")
    dtype = _IDX_DTYPES[code]
    header = 4 + 4 * ndim
    if len(buf) < header:
        raise ValueError(f"{name}: truncated IDX header.")
    shape = tuple(int(s) for s in np.frombuffer(buf, ">i4", ndim, 4))
    n_values = int(np.prod(shape, dtype=np.int64))
    expected = header + n_values * dtype.itemsize
    if len(buf) != expected:
        raise ValueError(
            f"{name}: IDX header announces shape {shape} ({expected} bytes) but the "
            f"data holds {len(buf)} bytes."
        )
    data = np.frombuffer(buf, dtype, n_values, header).reshape(shape)
    return data.astype(dtype.newbyteorder("="), copy=True)


def _read_maybe_gzip(path):
    with open(path, "rb") as f:
        magic = f.read(2)
        f.seek(0)
        if magic == b"\x1f\x8b":
            with gzip.GzipFile(fileobj=f) as g:
                return g.read()
        return f.read()


def read_idx(path):
    """Read an IDX file (MNIST format), plain or gzip-compressed.

    Parameters
    ----------
    path : str or path-like
        File to read; gzip compression is detected from the content.

    Returns
    -------
    data : ndarray
        Array with the shape of the IDX header (``(n, 28, 28)`` for MNIST
        images, ``(n,)`` for labels) in native byte order.

    Raises
    ------
    ValueError
        If the magic number, type code or size do not match the IDX format.

    Examples
    --------
    >>> import gzip, os, tempfile
    >>> import numpy as np
    >>> from skhash.datasets import read_idx
    >>> header = np.array([0x00000803, 2, 2, 3], dtype=">i4").tobytes()
    >>> path = os.path.join(tempfile.mkdtemp(), "img-idx3-ubyte.gz")
    >>> with gzip.open(path, "wb") as f:
    ...     _ = f.write(header + bytes(range(12)))
    >>> X = read_idx(path)
    >>> X.shape, X.dtype
    ((2, 2, 3), dtype('uint8'))
    """
    return _idx_from_bytes(_read_maybe_gzip(path), repr(os.fspath(path)))
