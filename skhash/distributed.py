"""Dask helpers: encode a dask array with a fitted hasher, sharded exact k-NN.

Needs the ``dask`` extra (``pip install "skhash[dask]"``, i.e. ``dask[array]``
and ``distributed`` for a cluster). With a ``dask.distributed.Client`` alive,
the computations below run on its workers; otherwise on dask's local
scheduler.

Recipes for other engines (not tested here, no dependency):

* **Spark**: ``df.mapInPandas(encode_batches, schema="codes binary")`` where
  ``encode_batches`` loads the fitted pipeline once per task (``joblib.load``
  from shared storage or a broadcast of its bytes) and yields
  ``pd.DataFrame({"codes": list(pipe.transform(batch[features].to_numpy()))})``.
  Search is scatter-gather: broadcast the query codes, compute each partition's
  top-k with :class:`~skhash.HammingNeighbors` and **global** indices, then
  merge per query with :func:`skhash.neighbors.merge_topk`.
* **Ray**: ``ds.map_batches(Encoder, batch_format="numpy", concurrency=n,
  num_gpus=1)`` with a callable class whose ``__init__`` loads the pipeline and
  whose ``__call__(batch)`` returns ``{"codes": pipe.transform(batch["x"])}``;
  shard search as for Spark.
"""

import numpy as np

__all__ = ["encode", "kneighbors"]


def _import_dask():
    try:
        import dask
        import dask.array as da
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ImportError(
            'skhash.distributed needs dask: pip install "skhash[dask]".'
        ) from exc
    return dask, da


def _n_output_bytes(hasher):
    from sklearn.utils.validation import check_is_fitted

    check_is_fitted(hasher)
    return len(hasher.get_feature_names_out())


def encode(hasher, X):
    """Encode a dask array with a fitted hasher, block by block.

    Parameters
    ----------
    hasher : fitted transformer
        Any fitted skhash hasher (or a Pipeline ending in one) whose
        ``transform`` returns packed ``uint8`` codes.
    X : dask.array.Array of shape (n_samples, n_features)
        Rows may be chunked arbitrarily; columns are gathered into one chunk.

    Returns
    -------
    codes : dask.array.Array of uint8, shape (n_samples, n_bytes)
        Lazy; chunked like ``X``'s rows, with the output width declared
        explicitly (unlike ``dask_ml``'s ``ParallelPostFit``, which declares the
        input's width).

    Examples
    --------
    >>> import numpy as np
    >>> import dask.array as da
    >>> from skhash import LSH
    >>> from skhash.distributed import encode
    >>> X = np.random.default_rng(0).normal(size=(100, 6))
    >>> lsh = LSH(n_bits=12, random_state=0).fit(X)
    >>> codes = encode(lsh, da.from_array(X, chunks=(30, 6)))
    >>> codes.shape, codes.dtype, codes.chunks[0]
    ((100, 2), dtype('uint8'), (30, 30, 30, 10))
    >>> bool((codes.compute() == lsh.transform(X)).all())
    True
    """
    _, da = _import_dask()
    n_bytes = _n_output_bytes(hasher)
    if not isinstance(X, da.Array):
        raise TypeError(f"X must be a dask array, got {type(X).__name__}.")
    if X.ndim != 2:
        raise ValueError(f"X must be 2-D (n_samples, n_features), got {X.ndim}-D.")
    X = X.rechunk({1: -1})
    return X.map_blocks(
        hasher.transform,
        chunks=(X.chunks[0], (n_bytes,)),
        dtype=np.uint8,
        meta=np.empty((0, n_bytes), dtype=np.uint8),
    )


def _shard_knn(block, queries, k, offset, algorithm):
    from skhash.neighbors import HammingNeighbors

    block = np.asarray(block)
    kk = min(k, block.shape[0])
    nn = HammingNeighbors(n_neighbors=kk, algorithm=algorithm).fit(block)
    dist, ind = nn.kneighbors(queries)
    return dist, ind + offset


def _merge(parts, k):
    from skhash.neighbors import merge_topk

    return merge_topk([p[0] for p in parts], [p[1] for p in parts], k)


def kneighbors(queries, database, n_neighbors=10, *, algorithm="auto", compute=True):
    """Exact k nearest neighbours over a database held as a dask array.

    Each row chunk of ``database`` is a shard: a task fits a
    :class:`~skhash.HammingNeighbors` on it and returns its own top-k with
    global indices; the per-shard lists are merged by (distance, index), which
    is exactly the single-machine brute-force result.

    Parameters
    ----------
    queries : array-like of uint8, shape (n_queries, n_bytes)
        Query codes (in memory; sent to every shard).
    database : dask.array.Array of uint8, shape (n_db, n_bytes)
        Database codes, e.g. from :func:`encode`.
    n_neighbors : int, default=10
        Number of neighbours (at most ``n_db``).
    algorithm : str, default="auto"
        Backend used inside each shard (see ``HammingNeighbors``).
    compute : bool, default=True
        Return NumPy results (True) or the lazy ``dask.delayed`` result.

    Returns
    -------
    distances : ndarray of int32, shape (n_queries, n_neighbors)
    indices : ndarray of int64, shape (n_queries, n_neighbors)

    Examples
    --------
    >>> import numpy as np
    >>> import dask.array as da
    >>> from skhash import HammingNeighbors
    >>> from skhash.distributed import kneighbors
    >>> rng = np.random.default_rng(0)
    >>> db = rng.integers(0, 256, (1000, 4), dtype=np.uint8)
    >>> dist, ind = kneighbors(db[:5], da.from_array(db, chunks=(300, 4)), 7)
    >>> ref = HammingNeighbors(n_neighbors=7).fit(db).kneighbors(db[:5])
    >>> bool((ind == ref[1]).all() and (dist == ref[0]).all())
    True
    """
    dask, da = _import_dask()
    from skhash._validation import check_n_neighbors
    from skhash.neighbors._validation import check_codes

    if not isinstance(database, da.Array):
        raise TypeError(
            f"database must be a dask array, got {type(database).__name__}."
        )
    if database.ndim != 2:
        raise ValueError("database must be 2-D (n_db, n_bytes).")
    queries = check_codes(queries, "queries", n_bytes=database.shape[1])
    k = check_n_neighbors(n_neighbors)
    if k > database.shape[0]:
        raise ValueError(
            f"n_neighbors must be in [1, {database.shape[0]}] (the database "
            f"size), got {n_neighbors}."
        )
    database = database.rechunk({1: -1})
    offsets = np.concatenate(([0], np.cumsum(database.chunks[0])[:-1]))
    blocks = database.to_delayed().ravel()
    q = dask.delayed(queries)
    parts = [
        dask.delayed(_shard_knn)(b, q, k, int(o), algorithm)
        for b, o, size in zip(blocks, offsets, database.chunks[0], strict=True)
        if size > 0
    ]
    result = dask.delayed(_merge)(parts, k)
    return result.compute() if compute else result
