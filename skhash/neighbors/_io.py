"""Saving and loading a fitted HammingNeighbors; memory-mapped databases."""

import hashlib
import json
import os
import warnings

import numpy as np

# Format 2 records shape, dtype and SHA-256 of each array; format 1 did not.
_FORMAT = 2
_FORMATS = (1, 2)
# Rows hashed at a time, so that a memory-mapped database is read in chunks.
_HASH_BLOCK_BYTES = 1 << 26


class IndexFileError(ValueError):
    """A saved index is damaged: missing, truncated or modified files.

    Raised by :func:`load_index` for every inconsistency it finds; the message
    names the file.
    """


def _sha256(arr):
    """SHA-256 of the C-order bytes of ``arr``, read in blocks of rows."""
    h = hashlib.sha256()
    if arr.ndim == 0 or arr.shape[0] == 0:
        h.update(np.ascontiguousarray(arr).tobytes())
        return h.hexdigest()
    row = max(arr[:1].nbytes, 1)
    step = max(_HASH_BLOCK_BYTES // row, 1)
    for start in range(0, arr.shape[0], step):
        h.update(np.ascontiguousarray(arr[start : start + step]).tobytes())
    return h.hexdigest()


def _describe(arr):
    return {"shape": list(arr.shape), "dtype": arr.dtype.str, "sha256": _sha256(arr)}


def save_index(nn, path):
    """Save a fitted :class:`~skhash.HammingNeighbors` to a directory.

    The directory holds ``codes.npy`` (the database, a plain ``.npy`` file that
    :func:`load_index` can memory-map), ``labels.npy`` when the estimator was
    fitted with ``y``, and ``params.json`` (format version, constructor
    parameters, and the shape, dtype and SHA-256 of each array, which
    :func:`load_index` verifies). Backend structures (transposed words, MIH
    tables, a FAISS index) are derived data and are rebuilt by
    :func:`load_index`; for index formats you want to keep whole, pickle or
    ``joblib.dump`` the estimator instead (FAISS indexes are serialised with
    ``faiss.serialize_index_binary``).

    Parameters
    ----------
    nn : HammingNeighbors
        A fitted estimator.
    path : str or os.PathLike
        Directory to create (or overwrite files in).

    Returns
    -------
    path : str

    See Also
    --------
    load_index : The inverse.

    Examples
    --------
    >>> import numpy as np, tempfile, os
    >>> from skhash import HammingNeighbors
    >>> from skhash.neighbors import save_index, load_index
    >>> codes = np.random.default_rng(0).integers(0, 256, (100, 8), dtype=np.uint8)
    >>> with tempfile.TemporaryDirectory() as d:
    ...     nn = HammingNeighbors(n_neighbors=3).fit(codes)
    ...     p = save_index(nn, os.path.join(d, "ix"))
    ...     nn = load_index(p, mmap_mode="r")
    ...     print(nn.kneighbors(codes[:2])[1].shape, nn.n_samples_fit_)
    (2, 3) 100
    """
    from sklearn.utils.validation import check_is_fitted

    check_is_fitted(nn)
    path = os.fspath(path)
    os.makedirs(path, exist_ok=True)
    codes = np.asarray(nn._fit_codes)
    np.save(os.path.join(path, "codes.npy"), codes)
    has_y = nn.labels_ is not None
    arrays = {"codes": _describe(codes)}
    if has_y:
        labels = np.asarray(nn.labels_)
        np.save(os.path.join(path, "labels.npy"), labels)
        arrays["labels"] = _describe(labels)
    params = nn.get_params(deep=False)
    meta = {
        "format": _FORMAT,
        "class": type(nn).__name__,
        "params": params,
        "has_labels": has_y,
        "arrays": arrays,
    }
    with open(os.path.join(path, "params.json"), "w") as f:
        json.dump(meta, f, indent=1, default=str)
    return path


def load_index(path, mmap_mode=None, *, verify_checksum=True, **params):
    """Load a :class:`~skhash.HammingNeighbors` saved by :func:`save_index`.

    The shape and dtype of the saved arrays are always checked against the
    record in ``params.json``, and so, by default, is their SHA-256: a
    modified, truncated or corrupted file raises :class:`IndexFileError`
    naming the file, never a silently different search result.

    Parameters
    ----------
    path : str or os.PathLike
        Directory written by :func:`save_index`.
    mmap_mode : {None, "r", "c"}, default=None
        ``"r"`` memory-maps the codes instead of reading them: the database is
        then searched in chunks straight from the file (the scan backends
        ``"numba"``, ``"numpy"`` and ``"faiss"``), so it may be larger than
        memory. The index backends (``"mih"``, ``"torch"``) still read it in
        full into their own structures.
    verify_checksum : bool, default=True
        Hash the arrays and compare with the saved SHA-256. Hashing reads every
        byte once (in chunks, so memory stays bounded); for a huge
        memory-mapped index whose storage you trust, ``False`` skips it and
        loads in constant time (shape and dtype are still checked).
    **params
        Constructor parameters overriding the saved ones (e.g. ``n_jobs``).

    Returns
    -------
    nn : HammingNeighbors
        Fitted on the saved codes (and labels).

    Raises
    ------
    IndexFileError
        When a file of the index is missing, truncated or does not match its
        record (a subclass of ``ValueError``).

    Notes
    -----
    Indexes written before checksums were recorded (format 1) still load,
    with a ``UserWarning``; save them again to add the record.
    """
    from skhash.neighbors._hamming_neighbors import HammingNeighbors

    if mmap_mode not in (None, "r", "c"):
        raise ValueError(f'mmap_mode must be None, "r" or "c", got {mmap_mode!r}.')
    path = os.fspath(path)
    if not os.path.isdir(path):
        raise FileNotFoundError(f"{path} is not a directory written by save_index.")
    meta = _read_meta(path)
    codes = _load_array(path, "codes", meta, mmap_mode, verify_checksum)
    y = None
    if meta["has_labels"]:
        y = _load_array(path, "labels", meta, None, verify_checksum)
    return HammingNeighbors(**{**meta["params"], **params}).fit(codes, y)


def _read_meta(path):
    fname = os.path.join(path, "params.json")
    try:
        with open(fname, encoding="utf-8") as f:
            meta = json.load(f)
    except (OSError, ValueError) as exc:  # JSONDecodeError, UnicodeDecodeError
        raise IndexFileError(
            f"{fname} cannot be read as an index record ({type(exc).__name__}: "
            f"{exc}); the index is damaged or incomplete."
        ) from exc
    if (
        not isinstance(meta, dict)
        or meta.get("format") not in _FORMATS
        or meta.get("class") != "HammingNeighbors"
        or not isinstance(meta.get("params"), dict)
        or not isinstance(meta.get("has_labels"), bool)
    ):
        raise IndexFileError(
            f"{fname} does not hold a saved HammingNeighbors index record (format "
            f"{_FORMATS}); the file is damaged or from another program."
        )
    if meta["format"] == 1:
        warnings.warn(
            f"{fname} records no checksum (an index saved by an older skhash): "
            "the files cannot be verified. Save it again with save_index to "
            "add one.",
            UserWarning,
            stacklevel=3,
        )
    elif not isinstance(meta.get("arrays"), dict) or "codes" not in meta["arrays"]:
        raise IndexFileError(f"{fname} lacks the record of the saved arrays.")
    return meta


def _load_array(path, name, meta, mmap_mode, verify_checksum):
    fname = os.path.join(path, f"{name}.npy")
    try:
        arr = np.load(fname, mmap_mode=mmap_mode, allow_pickle=False)
    except (OSError, ValueError, EOFError) as exc:
        raise IndexFileError(
            f"{fname} cannot be read as a saved array ({type(exc).__name__}: "
            f"{exc}); the index is damaged or incomplete."
        ) from exc
    record = meta.get("arrays", {}).get(name) if meta["format"] >= 2 else None
    if record is None:
        if meta["format"] >= 2:
            raise IndexFileError(f"{path}/params.json lacks the record of {fname}.")
        return arr
    try:
        shape, dtype = tuple(record["shape"]), np.dtype(record["dtype"])
        digest = str(record["sha256"])
    except (KeyError, TypeError, ValueError) as exc:
        raise IndexFileError(
            f"{path}/params.json has a damaged record of {fname}."
        ) from exc
    if arr.shape != shape or arr.dtype != dtype:
        raise IndexFileError(
            f"{fname} holds an array of shape {arr.shape} and dtype {arr.dtype}, "
            f"but the index recorded shape {shape} and dtype {dtype}: the file "
            "was truncated or replaced."
        )
    if verify_checksum and _sha256(arr) != digest:
        raise IndexFileError(
            f"{fname} does not match its recorded SHA-256: the file was modified "
            "or corrupted after save_index. Search results from it would be "
            "wrong; save the index again."
        )
    return arr
