"""Saving and loading a fitted HammingNeighbors; memory-mapped databases."""

import json
import os

import numpy as np

_FORMAT = 1


def save_index(nn, path):
    """Save a fitted :class:`~skhash.HammingNeighbors` to a directory.

    The directory holds ``codes.npy`` (the database, a plain ``.npy`` file that
    :func:`load_index` can memory-map), ``labels.npy`` when the estimator was
    fitted with ``y``, and ``params.json`` (constructor parameters, format
    version). Backend structures (transposed words, MIH tables, a FAISS index)
    are derived data and are rebuilt by :func:`load_index`; for index formats
    you want to keep whole, pickle or ``joblib.dump`` the estimator instead
    (FAISS indexes are serialised with ``faiss.serialize_index_binary``).

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
    np.save(os.path.join(path, "codes.npy"), np.asarray(nn._fit_codes))
    has_y = nn._fit_y is not None
    if has_y:
        np.save(os.path.join(path, "labels.npy"), np.asarray(nn._fit_y))
    params = nn.get_params(deep=False)
    meta = {
        "format": _FORMAT,
        "class": type(nn).__name__,
        "params": params,
        "has_labels": has_y,
    }
    with open(os.path.join(path, "params.json"), "w") as f:
        json.dump(meta, f, indent=1, default=str)
    return path


def load_index(path, mmap_mode=None, **params):
    """Load a :class:`~skhash.HammingNeighbors` saved by :func:`save_index`.

    Parameters
    ----------
    path : str or os.PathLike
        Directory written by :func:`save_index`.
    mmap_mode : {None, "r", "c"}, default=None
        ``"r"`` memory-maps the codes instead of reading them: the database is
        then searched in chunks straight from the file (brute-force backends),
        so it may be larger than memory. Backends that build their own
        structure (``"mih"``, ``"faiss"``, ``"torch"``) still read it in full.
    **params
        Constructor parameters overriding the saved ones (e.g. ``n_jobs``).

    Returns
    -------
    nn : HammingNeighbors
        Fitted on the saved codes (and labels).
    """
    from skhash.neighbors._hamming_neighbors import HammingNeighbors

    if mmap_mode not in (None, "r", "c"):
        raise ValueError(f'mmap_mode must be None, "r" or "c", got {mmap_mode!r}.')
    path = os.fspath(path)
    with open(os.path.join(path, "params.json")) as f:
        meta = json.load(f)
    if meta.get("format") != _FORMAT or meta.get("class") != "HammingNeighbors":
        raise ValueError(f"{path} does not hold a saved HammingNeighbors index.")
    codes = np.load(os.path.join(path, "codes.npy"), mmap_mode=mmap_mode)
    y = None
    if meta["has_labels"]:
        y = np.load(os.path.join(path, "labels.npy"), allow_pickle=False)
    return HammingNeighbors(**{**meta["params"], **params}).fit(codes, y)
