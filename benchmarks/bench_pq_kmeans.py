"""PQ's k-means against scikit-learn's ``KMeans`` from the same start.

The k-means of every subspace of ``PQ(n_bits=64)`` (8 subspaces of 98 pixels,
256 codewords, 25 Lloyd iterations) on the first 20,000 training images of
MNIST and Fashion-MNIST, pixel values 0-255: skhash's kernel
(``skhash._kernels.pq.kmeans``, empty clusters split by error) and
``sklearn.cluster.KMeans(init=<the same 256 rows>, n_init=1, max_iter=25,
tol=0)`` (empty clusters moved to the farthest points). Printed per subspace:
the distortion of the 60,000 training images (sum of squared distances to
the nearest codeword) of each, and the fit times; then the totals and the
paired time ratio skhash / scikit-learn. The two fits of each subspace run
back to back, in alternating order, ``--repeats`` times; on a shared machine
read the ratios, not the seconds. Usage::

    python benchmarks/bench_pq_kmeans.py [--repeats 2] [--data-home DIR]
"""

import argparse
import os
import statistics
import sys
import warnings

import numpy as np
from sklearn.cluster import KMeans
from sklearn.exceptions import ConvergenceWarning

from skhash._kernels import pq as _pq

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _common import default_data_home, load_dataset, time_alternating  # noqa: E402

K, N_ITER, N_TRAIN = 256, 25, 20000


def ours(X, C0):
    C, _, _ = _pq.kmeans(X, K, N_ITER, np.random.RandomState(0), init=C0)
    return C


def sklearn_kmeans(X, C0):
    km = KMeans(K, init=C0, n_init=1, max_iter=N_ITER, tol=0.0, random_state=0)
    with warnings.catch_warnings():
        # fewer distinct sub-vectors than codewords in the border subspaces
        warnings.simplefilter("ignore", ConvergenceWarning)
        km.fit(X)
    return km.cluster_centers_


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--data-home", default=None)
    args = parser.parse_args()
    home = args.data_home or default_data_home()
    impls = {"skhash": ours, "sklearn": sklearn_kmeans}
    for name in ("mnist", "fashion-mnist"):
        X, _ = load_dataset(name, "train", data_home=home)
        X = np.ascontiguousarray(X, dtype=np.float32)
        bounds = _pq.subspace_bounds(X.shape[1], 8)
        rng = np.random.RandomState(0)
        total = dict.fromkeys(impls, 0.0)
        ratios = []
        print(f"{name}: subspace, distortion skhash, sklearn (+%), seconds")
        for m in range(8):
            Xm = np.ascontiguousarray(X[:, bounds[m] : bounds[m + 1]])
            train = Xm[:N_TRAIN]
            C0 = train[np.sort(rng.choice(N_TRAIN, K, replace=False))]
            fitted = {}

            def fit(k, train=train, C0=C0, fitted=fitted):
                fitted[k] = impls[k](train, C0)

            _, times = time_alternating(
                {k: (lambda k=k: fit(k)) for k in impls},
                args.repeats,
                warmup=False,
                alternate=True,
            )
            dist = {
                k: _pq.assign(Xm, C)[1].sum(dtype=np.float64) for k, C in fitted.items()
            }
            ratios += [
                a / b for a, b in zip(times["skhash"], times["sklearn"], strict=True)
            ]
            for k in impls:
                total[k] += dist[k]
            print(
                f"  {m}  {dist['skhash']:.4g}  {dist['sklearn']:.4g} "
                f"({dist['sklearn'] / dist['skhash'] - 1:+.2%})  "
                f"{statistics.median(times['skhash']):.2f} s  "
                f"{statistics.median(times['sklearn']):.2f} s",
                flush=True,
            )
        print(
            f"  total distortion: skhash {total['skhash']:.6g}, sklearn "
            f"{total['sklearn']:.6g} ({total['sklearn'] / total['skhash'] - 1:+.2%});"
            f" time skhash / sklearn, paired: median {statistics.median(ratios):.2f}"
            f" (min {min(ratios):.2f}, max {max(ratios):.2f}, {len(ratios)} pairs)\n",
            flush=True,
        )


if __name__ == "__main__":
    main()
