"""LSH / PCAH / ITQ / SpectralHashing mAP on CIFAR-10 GIST-512, DNNH protocol.

Usage::

    python benchmarks/bench_cifar10_gist_baselines.py [--seed 0] [--cache DIR]
    python benchmarks/bench_cifar10_gist_baselines.py --quick   # lossless subset

Protocol ``"cifar10-dnnh"``: 1,000 queries (100 per class) and 5,000 training
images (500 per class) drawn from all 60,000 images, database = the 59,000
non-queries; relevance = same class; mAP over the full Hamming ranking, ties
by database index. Features: our GIST (512-D, grayscale, 32x32) of
**CIFAR-10 (JPEG q75 re-encoded)**; the published values (DNNH, re-quoted by
DHN, AAAI 2016, CIFAR-10 table) used GIST of the original images, and their exact
GIST and hashing settings are not known. ``--quick`` runs the same pipeline on
the 5,000 lossless images (20 queries / 100 training images per class), which
is not comparable with the papers.
"""

import argparse
import time
from pathlib import Path

from skhash import ITQ, LSH, PCAH, HammingNeighbors, SpectralHashing
from skhash.datasets import retrieval_split

from _common import cifar10_gist, default_data_home

PUBLISHED = {  # DHN AAAI 2016 Table (CIFAR-10 block), values from DNNH
    "LSH": (0.121, 0.126, 0.120, 0.120),
    "SpectralHashing": (0.131, 0.135, 0.133, 0.130),
    "ITQ": (0.162, 0.169, 0.172, 0.175),
    "PCAH": None,
}
BITS = (12, 24, 32, 48)


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--cache", default=None, help="folder to cache GIST features")
    p.add_argument("--quick", action="store_true")
    args = p.parse_args()
    source = "png-subset" if args.quick else "jpeg"
    cache = Path(args.cache) / f"cifar10_{source}_gist512.npy" if args.cache else None
    t0 = time.perf_counter()
    data, X = cifar10_gist(default_data_home(), cache, source=source)
    print(f"CIFAR-10 and GIST of {len(X):,} images: {time.perf_counter() - t0:.0f} s")
    y = data.target
    if args.quick:
        split = retrieval_split(
            y, n_query_per_class=20, n_train_per_class=100, random_state=args.seed
        )
    else:
        split = retrieval_split(y, protocol="cifar10-dnnh", random_state=args.seed)
    print(
        f"CIFAR-10 ({'lossless subset' if args.quick else 'JPEG q75 re-encoded'}), "
        f"GIST-512, {len(split.query)} queries / {len(split.train)} training / "
        f"{len(split.database)} database, seed {args.seed}; full-ranking mAP"
    )
    header = "method".ljust(16) + "".join(f"{b:>8}" for b in BITS)
    print(header + "   | published " + " ".join(f"{b:>5}" for b in BITS))
    for name, cls in (
        ("LSH", LSH),
        ("PCAH", PCAH),
        ("ITQ", ITQ),
        ("SpectralHashing", SpectralHashing),
    ):
        row = []
        for n_bits in BITS:
            kwargs = {"n_bits": n_bits}
            if "random_state" in cls().get_params():
                kwargs["random_state"] = args.seed
            hasher = cls(**kwargs).fit(X[split.train])
            nn = HammingNeighbors().fit(
                hasher.transform(X[split.database]), y[split.database]
            )
            row.append(nn.score(hasher.transform(X[split.query]), y[split.query]))
        pub = PUBLISHED[name]
        pub_txt = " ".join(f"{v:.3f}" for v in pub) if pub else "  (not reported)"
        print(name.ljust(16) + "".join(f"{v:8.3f}" for v in row) + "   | " + pub_txt)


if __name__ == "__main__":
    main()
