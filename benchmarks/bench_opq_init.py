"""OPQ's starting rotation on MNIST: distortion after the same alternations.

Four starts of skhash's non-parametric OPQ alternation (one warm-started
k-means step, then orthogonal Procrustes, ``n_alt`` times; then 25 k-means
iterations), on the first 20,000 MNIST training images, ``M`` subspaces of
256 codewords; printed: the database distortion (mean squared reconstruction
error of all 60,000 training images). Variants:

* ``ea``: the parametric solution (principal directions, eigenvalue
  allocation; ``OPQ``'s default start);
* ``ea-null:T``: eigenvalue allocation over the directions with variance
  above ``T`` times the largest only, the rest filling the free slots;
* ``roundrobin``: principal direction ``j`` to subspace ``j mod M``;
* ``identity``: the pixel axes (nanopq's start; ``OPQ(init="identity")``).

faiss's ``OPQMatrix`` starts from a random orthogonal matrix. Usage::

    python benchmarks/bench_opq_init.py VARIANT N_ALT [M]
"""

import os
import sys
import time

import numpy as np

from skhash._kernels import pq as _pq
from skhash._kernels.pca import principal_directions

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _common import load_dataset  # noqa: E402

variant, n_alt = sys.argv[1], int(sys.argv[2])
X, _ = load_dataset("mnist", "train")
X = X.astype(np.float32)
Xf = X[:20000]
M = int(sys.argv[3]) if len(sys.argv) > 3 else 4
bounds = _pq.subspace_bounds(784, M)
rng = np.random.RandomState(0)
W, var = principal_directions(Xf - Xf.mean(0), 784)
if variant == "identity":
    R = np.eye(784, dtype=np.float32)
elif variant == "ea":
    R = W[:, _pq.eigenvalue_allocation(var, bounds)].astype(np.float32)
elif variant.startswith("ea-null"):
    thr = float(variant.split(":")[1]) if ":" in variant else 1e-6
    keep = var > thr * var.max()
    k = int(keep.sum())
    # EA over the directions with variance, capacities reduced proportionally
    cap = np.diff(bounds)
    order_k = []
    buckets = [[] for _ in range(M)]
    score = np.zeros(M)
    logv = np.log(var[:k])
    for j in range(k):
        open_ = [m for m in range(M) if len(buckets[m]) < cap[m]]
        m = min(open_, key=lambda b: (score[b], b))
        buckets[m].append(j)
        score[m] += logv[j]
    rest = list(range(k, 784))
    for m in range(M):
        while len(buckets[m]) < cap[m]:
            buckets[m].append(rest.pop(0))
    R = W[:, np.array([j for b in buckets for j in b])].astype(np.float32)
    print(
        "kept", k, "sizes with variance", [sum(1 for j in b if j < k) for b in buckets]
    )
elif variant == "roundrobin":
    order = np.concatenate([np.arange(m, 784, M) for m in range(M)])
    R = W[:, order].astype(np.float32)
t0 = time.perf_counter()
Z = Xf @ R
cb, codes, dist = _pq.train_pq(Z, bounds, 256, 25, rng)
print(variant, "start train distortion/vec", dist / len(Xf), flush=True)
for it in range(n_alt):
    if it:
        cb, codes, dist = _pq.train_pq(Z, bounds, 256, 1, rng, init=cb)
    Y = _pq.decode(codes, cb, bounds, np.float32)
    R = _pq.procrustes(Xf, Y).astype(np.float32)
    Z = Xf @ R
cb, codes, dist = _pq.train_pq(Z, bounds, 256, 25, rng, init=cb)
Zdb = X @ R
c = _pq.encode(Zdb, cb, bounds)
rec = _pq.decode(c, cb, bounds, np.float32)
print(
    variant,
    n_alt,
    "alternations: database distortion",
    float(((Zdb - rec) ** 2).sum(1).mean()),
    round(time.perf_counter() - t0),
    "s load",
    os.getloadavg(),
    flush=True,
)
