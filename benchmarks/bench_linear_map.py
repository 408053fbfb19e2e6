"""mAP of LSH, PCAH, ITQ and SpectralHashing on MNIST and Fashion-MNIST test sets.

Protocol: the 10,000 test images of each dataset, pixels scaled to
[0, 1]; 1,000 queries (100 per class, seed 0), the other 9,000 images are the
database and the training set. Two ground truths:

* label: relevant = same class; full-ranking mAP (``protocol="full"``);
* Euclidean: relevant = the 50 nearest database images in pixel space (UH-BDNN's
  protocol); full-ranking mAP, plain and with the BDNN scripts' trapezoid
  interpolation (``protocol="bdnn"``).

Rankings are by Hamming distance, ties by database index.

Run: ``python benchmarks/bench_linear_map.py [--data-home DIR]``
"""

import argparse
import time

import numpy as np

from skhash import ITQ, LSH, PCAH, HammingNeighbors, SpectralHashing
from skhash.datasets import euclidean_ground_truth, retrieval_split
from skhash.metrics import mean_average_precision

from _common import default_data_home, load_dataset, neighbor_indicator, print_table

METHODS = {"LSH": LSH, "PCAH": PCAH, "ITQ": ITQ, "SpectralHashing": SpectralHashing}


def run(name, dataset, data_home, n_bits_list, seed):
    X, y = load_dataset(dataset, "test", data_home=data_home)
    X = X.astype(np.float64) / 255.0
    split = retrieval_split(
        y, n_query_per_class=100, database="rest", random_state=seed
    )
    q, db = split.query, split.database
    gt = euclidean_ground_truth(X[q], X[db], 50)
    yq_e, ydb_e = neighbor_indicator(gt, len(db))
    rows = []
    for method, cls in METHODS.items():
        for b in n_bits_list:
            t0 = time.perf_counter()
            h = cls(n_bits=b, random_state=seed).fit(X[db])
            nn = HammingNeighbors().fit(h.transform(X[db]))
            dist, ind = nn.kneighbors(h.transform(X[q]), n_neighbors=len(db))
            rows.append(
                {
                    "dataset": name,
                    "method": method,
                    "bits": b,
                    "mAP label": mean_average_precision(
                        y[q], y[db], ind, protocol="full"
                    ),
                    "mAP L2@50": mean_average_precision(
                        yq_e, ydb_e, ind, protocol="full"
                    ),
                    "mAP L2@50 bdnn": mean_average_precision(
                        yq_e, ydb_e, ind, protocol="bdnn"
                    ),
                    "seconds": time.perf_counter() - t0,
                }
            )
    return rows


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-home", default=default_data_home())
    parser.add_argument("--n-bits", type=int, nargs="+", default=[16, 32, 64])
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    rows = []
    for name, dataset in [("MNIST", "mnist"), ("Fashion-MNIST", "fashion-mnist")]:
        rows += run(name, dataset, args.data_home, args.n_bits, args.seed)
    print_table(
        rows,
        [
            "dataset",
            "method",
            "bits",
            "mAP label",
            "mAP L2@50",
            "mAP L2@50 bdnn",
            "seconds",
        ],
        title="Classic hashers, 1,000 queries vs 9,000 (test sets), ties by index",
    )


if __name__ == "__main__":
    main()
