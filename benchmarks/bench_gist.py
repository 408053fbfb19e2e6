"""GIST throughput on CIFAR-10 images.

Usage::

    python benchmarks/bench_gist.py [--n-images 60000] [--n-jobs 1] [--batch-size 64]

Reads CIFAR-10 (JPEG set, all 60,000 images; falls back to the 5,000-image
lossless subset) from SKHASH_DATA / ../shared/data, computes the 512-D GIST and
prints images per second. Decoding time is reported separately.
"""

import argparse
import time

import numpy as np

from skhash.datasets import load_cifar10
from skhash.features import GIST

from _common import default_data_home


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--n-images", type=int, default=60000)
    p.add_argument("--n-jobs", type=int, default=1)
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--source", default="jpeg", choices=["jpeg", "png-subset"])
    args = p.parse_args()
    home = default_data_home()
    t0 = time.perf_counter()
    images = load_cifar10("all", source=args.source, data_home=home).data
    t_load = time.perf_counter() - t0
    images = images[: args.n_images]
    gist = GIST(batch_size=args.batch_size, n_jobs=args.n_jobs).fit(images[:1])
    t0 = time.perf_counter()
    features = gist.transform(images)
    dt = time.perf_counter() - t0
    print(f"CIFAR-10 ({args.source}) load+decode: {t_load:.1f} s")
    print(
        f"GIST 512-D of {len(images):,} images, batch_size={args.batch_size}, "
        f"n_jobs={args.n_jobs}: {dt:.1f} s = {len(images) / dt:,.0f} images/s "
        f"(features {features.shape}, {features.dtype}, "
        f"finite={bool(np.isfinite(features).all())})"
    )


if __name__ == "__main__":
    main()
