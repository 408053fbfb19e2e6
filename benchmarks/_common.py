"""Helpers shared by the benchmark scripts (not part of the package)."""

import os
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]


def default_data_home():
    """``$SKHASH_DATA`` if set, else ``<repo>/../shared/data``."""
    return os.environ.get("SKHASH_DATA", str(REPO.parent / "shared" / "data"))


def neighbor_indicator(gt_indices, n_database):
    """Turn Euclidean ground-truth sets into multi-label targets.

    Query ``i`` gets label ``i``; database item ``j`` carries label ``i`` when it
    is among query ``i``'s true neighbours, so "shares a label" = "is a true
    neighbour" and the label-based metrics compute the Euclidean protocol.
    """
    n_q = gt_indices.shape[0]
    y_db = np.zeros((n_database, n_q), dtype=np.uint8)
    y_db[gt_indices, np.arange(n_q)[:, None]] = 1
    return np.eye(n_q, dtype=np.uint8), y_db


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
