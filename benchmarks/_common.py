"""The benchmark harness: what every script of ``benchmarks/`` shares.

One home for the scripts' common parts (not part of the package; it uses only
skhash's public API):

* data by name: :func:`load_dataset` and :func:`load_train_test` (``digits``,
  ``mnist``, ``fashion-mnist``, ``cifar10-gist``, ``synthetic``), the cached
  feature sets :func:`cifar10_gist` and :func:`cifar10_pretrained`, and
  :func:`augmented_mnist`; local copies are read from :func:`default_data_home`;
* protocol: splits come from :func:`skhash.datasets.retrieval_split`, scores
  from :mod:`skhash.metrics` and :mod:`skhash.evaluation`;
  :func:`neighbor_indicator` turns Euclidean ground truth into targets and
  :func:`label_map` scores a fitted hasher or quantizer by label mAP;
* timing: :func:`time_alternating` (warm-up, then the methods in turn, A B C
  ... A B C ..., so a load change on a shared machine hits them all; every
  timing loop of the scripts goes through it) and :func:`median`;
* output: :func:`print_table` and :func:`write_json`.

Which script produces which table is declared in ``registry.py``.
"""

import json
import os
import statistics
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]

#: The names :func:`load_dataset` knows.
DATASETS = ("digits", "mnist", "fashion-mnist", "cifar10-gist", "synthetic")


def default_data_home():
    """``$SKHASH_DATA`` if set, else ``<repo>/../shared/data``."""
    return os.environ.get("SKHASH_DATA", str(REPO.parent / "shared" / "data"))


def load_dataset(
    name, subset="all", *, data_home=None, gist_cache=None, n_samples=None, rng=None
):
    """Rows of features and their labels, ``(X, y)``, of a dataset by name.

    Parameters
    ----------
    name : {"digits", "mnist", "fashion-mnist", "cifar10-gist", "synthetic"}
        ``digits``: scikit-learn's 1,797 8x8 digits (float64, ``subset="all"``
        only); ``mnist``, ``fashion-mnist``: the 28x28 images as flat uint8
        rows of 784 pixels; ``cifar10-gist``: the GIST-512 descriptors of the
        CIFAR-10 JPEG copy (float32, see :func:`cifar10_gist`);
        ``synthetic``: ``n_samples`` float32 64-D vectors on a 12-D linear
        subspace plus noise (see :func:`synthetic`), ``y`` is None.
    subset : {"train", "test", "all"}, default="all"
        The official subset (training rows first in ``"all"``).
    data_home : str, default=None
        Folder of the local copies; None: :func:`default_data_home`.
    gist_cache : str or Path, default=None
        ``cifar10-gist``: the ``.npy`` of the 60,000 descriptors, read when
        present, else computed (minutes) and written.
    n_samples : int, default=None
        ``synthetic``: the number of rows.
    rng : numpy.random.Generator, default=None
        ``synthetic``: the random generator (None: ``default_rng(0)``).
    """
    if subset not in ("train", "test", "all"):
        raise ValueError(f"subset must be 'train', 'test' or 'all'; got {subset!r}")
    if name == "synthetic":
        if n_samples is None:
            raise ValueError("the synthetic dataset needs n_samples")
        rng = np.random.default_rng(0) if rng is None else rng
        X, _ = synthetic(n_samples, 0, rng)
        return X, None
    if name == "digits":
        if subset != "all":
            raise ValueError("digits has no train/test subsets: use subset='all'")
        from sklearn.datasets import load_digits

        return load_digits(return_X_y=True)
    if name == "cifar10-gist":
        data, X = cifar10_gist(data_home or default_data_home(), gist_cache)
        y = np.asarray(data.target)
        if subset == "all":
            return X, y
        keep = data.split == subset
        return X[keep], y[keep]
    loader = _mnist_loaders().get(name)
    if loader is None:
        raise ValueError(f"unknown dataset {name!r}; one of {', '.join(DATASETS)}")
    X, y = loader(subset, data_home=data_home or default_data_home(), return_X_y=True)
    return X.reshape(len(X), -1), y


def load_train_test(name, *, data_home=None, gist_cache=None):
    """``(X_train, y_train, X_test, y_test)`` of a dataset with official subsets.

    ``mnist``, ``fashion-mnist`` or ``cifar10-gist``, as :func:`load_dataset`
    returns them (the GIST descriptors are computed or read once).
    """
    if name == "cifar10-gist":
        data, X = cifar10_gist(data_home or default_data_home(), gist_cache)
        y = np.asarray(data.target)
        train = data.split == "train"
        return X[train], y[train], X[~train], y[~train]
    X_train, y_train = load_dataset(name, "train", data_home=data_home)
    X_test, y_test = load_dataset(name, "test", data_home=data_home)
    return X_train, y_train, X_test, y_test


def _mnist_loaders():
    from skhash.datasets import load_fashion_mnist, load_mnist

    return {"mnist": load_mnist, "fashion-mnist": load_fashion_mnist}


def synthetic(n, n_queries, rng, dim=64, intrinsic=12):
    """``n`` database and ``n_queries`` query vectors near a linear subspace.

    Float32 ``dim``-D vectors on an ``intrinsic``-D linear subspace plus noise
    of 1/10 of the signal's scale, so that neighbours are well defined; both
    sets come from one draw of ``n + n_queries`` rows.
    """
    A = rng.normal(size=(intrinsic, dim)).astype(np.float32)
    Z = rng.normal(size=(n + n_queries, intrinsic)).astype(np.float32)
    X = Z @ A + 0.1 * rng.normal(size=(n + n_queries, dim)).astype(np.float32)
    return X[:n], X[n:]


def label_map(estimator, X_query, y_query, X_database, y_database, quantizer=False):
    """Full-ranking label mAP of a fitted hasher, or quantizer (``quantizer``).

    A hasher's codes are searched by :class:`skhash.HammingNeighbors`; a
    quantizer, frozen (it was fitted on the training set and only encodes the
    database), by :class:`skhash.QuantizedNeighbors` (asymmetric distances to
    the unquantized queries). Ties by database index; the searchers' ``score``.
    """
    if quantizer:
        from sklearn.frozen import FrozenEstimator

        from skhash.quantization import QuantizedNeighbors

        nn = QuantizedNeighbors(FrozenEstimator(estimator)).fit(X_database, y_database)
        return float(nn.score(X_query, y_query))
    from skhash import HammingNeighbors

    nn = HammingNeighbors().fit(estimator.transform(X_database), y_database)
    return float(nn.score(estimator.transform(X_query), y_query))


def time_alternating(calls, repeats, warmup=True, *, setup=None, alternate=False):
    """Time several calls in turn, after one untimed warm-up call of each.

    Parameters
    ----------
    calls : dict of str to callable
        Each called without arguments.
    repeats : int or dict of str to int
        Timed rounds; each round calls every method once, in ``calls`` order
        (A B C ... A B C ...), so a load change on a shared machine hits them
        all and ratios taken within one run stay fair. A dict gives each
        method its own number of timed calls: a method leaves the rounds once
        it has that many (e.g. a slow reference timed once, in the first
        round).
    warmup : bool or dict of str to callable, default=True
        True: call each method once, untimed, first (numba compilation,
        caches). A dict: call its own warm-up instead (on a few rows, or
        several calls); a method without an entry has none. False: none.
    setup : dict of str to callable, default=None
        Called untimed right before every timed call of that method (a
        warm-up in each round: allocator, arenas).
    alternate : bool, default=False
        Reverse the order every other round (A B, B A, A B, ...), so that no
        method always runs first.

    Returns
    -------
    first : dict of str to object
        What each warm-up call returned (None without a warm-up).
    seconds : dict of str to list of float
        The wall-clock times of each call, ``repeats`` of them.
    """
    if warmup is True:
        warmup = calls
    warmup = warmup or {}
    first = {name: warmup[name]() if name in warmup else None for name in calls}
    setup = setup or {}
    counts = repeats if isinstance(repeats, dict) else dict.fromkeys(calls, repeats)
    seconds = {name: [] for name in calls}
    for r in range(max(counts.values(), default=0)):
        order = list(calls)[::-1] if alternate and r % 2 else list(calls)
        for name in order:
            if len(seconds[name]) >= counts[name]:
                continue
            if name in setup:
                setup[name]()
            f = calls[name]
            t0 = time.perf_counter()
            f()
            seconds[name].append(time.perf_counter() - t0)
    return first, seconds


def median(seconds):
    """The median of a list of times (:func:`statistics.median`)."""
    return statistics.median(seconds)


def write_json(path, obj, indent=1):
    """Write ``obj`` as JSON to ``path`` (the ``--json`` output of a script)."""
    Path(path).write_text(json.dumps(obj, indent=indent))


def neighbor_indicator(gt_indices, n_database):
    """Euclidean ground-truth sets as multi-label targets.

    :func:`skhash.evaluation.neighbor_targets`: "shares a label" = "is a true
    neighbour", so the label-based metrics compute the Euclidean protocol.
    """
    from skhash.evaluation import neighbor_targets

    return neighbor_targets(gt_indices, n_database)


def print_table(rows, columns, title=None, floatfmt="{:.4f}"):
    """Print a list of dicts as a fixed-width table (and return its text)."""
    widths = {
        c: max(len(c), *(len(_fmt(r.get(c), floatfmt)) for r in rows)) for c in columns
    }
    lines = []
    if title:
        lines.append(title)
    lines.append("  ".join(c.rjust(widths[c]) for c in columns))
    lines.append("  ".join("-" * widths[c] for c in columns))
    for r in rows:
        lines.append(
            "  ".join(_fmt(r.get(c), floatfmt).rjust(widths[c]) for c in columns)
        )
    text = "\n".join(lines)
    print(text, flush=True)
    return text


def _fmt(v, floatfmt):
    if isinstance(v, float | np.floating):
        return floatfmt.format(v)
    return "" if v is None else str(v)


def cifar10_chw(data_home):
    """The 60,000 CIFAR-10 images (JPEG copy) as flat CHW uint8 rows.

    Returns ``(X, y, split)``: ``X`` of shape (60000, 3072) in channel-major
    order (the networks reshape the rows to (3, 32, 32)), the labels and the
    loaders' ``split`` field.
    """
    from skhash.datasets import load_cifar10

    data = load_cifar10("all", source="jpeg", data_home=data_home)
    X = data.images.transpose(0, 3, 1, 2).reshape(len(data.target), -1)
    return X, np.asarray(data.target), data.split


def mean_centred(X, train):
    """``prep(idx)``: rows ``X[idx]`` as float32 minus the mean training row, / 255."""
    mean = X[train].astype(np.float32).mean(axis=0)

    def prep(idx):
        return (X[idx].astype(np.float32) - mean) / 255.0

    return prep


def cifar10_gist(data_home, cache=None, source="jpeg"):
    """CIFAR-10 images and their GIST-512 descriptors, cached in a ``.npy``.

    Returns ``(data, X)``: the ``load_cifar10("all", source=source)`` bunch
    and the 60,000 x 512 float32 descriptors in its order. ``cache`` is the
    ``.npy`` file: read when present, else computed (about 2.5 minutes on 2
    cores for the 60,000 images) and written.
    """
    from skhash.datasets import load_cifar10
    from skhash.features import GIST

    data = load_cifar10("all", source=source, data_home=data_home)
    cache = Path(cache) if cache is not None else None
    if cache is not None and cache.is_file():
        X = np.load(cache)
    else:
        X = GIST().fit_transform(data.images)
        if cache is not None:
            cache.parent.mkdir(parents=True, exist_ok=True)
            np.save(cache, X)
    return data, X.astype(np.float32)


def cifar10_pretrained(
    data_home,
    cache_dir,
    backbone="efficientnet_lite0",
    image_size=128,
    source="jpeg",
    verbose=1,
):
    """CIFAR-10 images and their pooled pretrained-CNN features, cached.

    Returns ``(data, X)``: the ``load_cifar10("all", source=source)`` bunch
    and the 60,000 x 1280 float32 features in its order. The features are
    computed once (about 20 minutes at 128 px on 2 quiet cores) and kept in
    ``<cache_dir>/cifar10-<source>-<backbone>-<image_size>.npy``; the file is
    written in chunks, so an interrupted run resumes where it stopped.
    """
    from skhash.datasets import load_cifar10
    from skhash.features import PretrainedFeatures

    data = load_cifar10("all", source=source, data_home=data_home)
    cache_dir = Path(cache_dir)
    cache_dir.mkdir(parents=True, exist_ok=True)
    final = cache_dir / f"cifar10-{source}-{backbone}-{image_size}.npy"
    if final.is_file():
        return data, np.load(final)
    n = data.images.shape[0]
    step = 5000
    extractor = PretrainedFeatures(backbone, image_size=image_size, verbose=0)
    extractor.fit(data.images[:1])
    parts = []
    for start in range(0, n, step):
        part = cache_dir / f"{final.stem}.part{start // step:02d}.npy"
        if not part.is_file():
            t0 = time.perf_counter()
            feats = extractor.transform(data.images[start : start + step])
            np.save(part, feats)
            if verbose:
                rate = feats.shape[0] / (time.perf_counter() - t0)
                print(
                    f"features {start + feats.shape[0]}/{n} ({rate:.1f} img/s)",
                    flush=True,
                )
        parts.append(np.load(part))
    X = np.concatenate(parts)
    np.save(final, X)
    for start in range(0, n, step):
        (cache_dir / f"{final.stem}.part{start // step:02d}.npy").unlink()
    return data, X


def augmented_mnist(n, rng, chunk=50_000, data_home=None):
    """MNIST training images augmented to ``n`` rows, in chunks of ``chunk``.

    Random shifts of up to 2 pixels and Gaussian pixel noise (sigma 8 on 0-255),
    float32 rows of 784 pixels.
    """
    from skhash.datasets import load_mnist

    X, _ = load_mnist(
        "train", data_home=data_home or default_data_home(), return_X_y=True
    )
    X = np.asarray(X, np.float32).reshape(-1, 28, 28)
    for s in range(0, n, chunk):
        m = min(chunk, n - s)
        idx = rng.integers(0, len(X), m)
        imgs = X[idx]
        dx, dy = rng.integers(-2, 3, m), rng.integers(-2, 3, m)
        out = np.empty_like(imgs)
        for a in range(-2, 3):
            for b in range(-2, 3):
                sel = (dx == a) & (dy == b)
                out[sel] = np.roll(imgs[sel], (a, b), axis=(1, 2))
        out += rng.normal(0, 8, out.shape).astype(np.float32)
        yield out.reshape(m, -1)
