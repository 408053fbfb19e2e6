"""Helpers shared by the benchmark scripts (not part of the package)."""

import os
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]


def default_data_home():
    """``$SKHASH_DATA`` if set, else ``<repo>/../shared/data``."""
    return os.environ.get("SKHASH_DATA", str(REPO.parent / "shared" / "data"))


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
