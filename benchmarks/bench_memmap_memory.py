"""Peak extra memory of an exact k-NN search on a memory-mapped database.

For each backend and database size, a fresh subprocess memory-maps N random
codes (written to a temporary ``.npy`` file), fits ``HammingNeighbors`` and
runs ``kneighbors`` for Q queries. Reported per run (nothing is timed):

- ``heap MB``: tracemalloc peak of fit + search (NumPy registers its buffers
  with tracemalloc), i.e. the memory allocated beyond the memory map;
- ``RSS MB``: growth of the RSS high-water mark (``VmHWM`` after resetting it
  through ``/proc/self/clear_refs``); it also counts the pages of the mapped
  file that the scan touched, so it grows with the database whatever the
  backend does.

A bounded backend has a heap figure independent of N.

Usage::

    python benchmarks/bench_memmap_memory.py --n 1000000 4000000 --n-bytes 8 9
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile

import numpy as np

CHILD = r"""
import json, sys, tracemalloc
import numpy as np
from skhash.neighbors import HammingNeighbors

path, algorithm = sys.argv[1], sys.argv[2]
n_queries, k = int(sys.argv[3]), int(sys.argv[4])

def rss_kb(field):
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field):
                return int(line.split()[1])

db = np.load(path, mmap_mode="r")
q = np.asarray(db[:n_queries]).copy()
try:
    with open("/proc/self/clear_refs", "w") as f:
        f.write("5")
except OSError:
    pass
before = rss_kb("VmRSS:")
tracemalloc.start()
nn = HammingNeighbors(n_neighbors=k, algorithm=algorithm).fit(db)
d, i = nn.kneighbors(q)
heap = tracemalloc.get_traced_memory()[1]
tracemalloc.stop()
rss = rss_kb("VmHWM:") - before
print(json.dumps({"heap_mb": heap / 2**20, "rss_mb": max(0, rss) / 1024}))
"""


def write_codes(path, n, n_bytes, seed=0):
    rng = np.random.default_rng(seed)
    mm = np.lib.format.open_memmap(path, mode="w+", dtype=np.uint8, shape=(n, n_bytes))
    step = 1 << 20
    for s in range(0, n, step):
        e = min(s + step, n)
        mm[s:e] = rng.integers(0, 256, (e - s, n_bytes), dtype=np.uint8)
    mm.flush()
    del mm


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--n", type=int, nargs="+", default=[1_000_000, 4_000_000])
    p.add_argument("--n-bytes", type=int, nargs="+", default=[8, 9])
    p.add_argument("--queries", type=int, default=100)
    p.add_argument("--k", type=int, default=10)
    p.add_argument("--algorithms", nargs="+", default=["numpy", "numba"])
    args = p.parse_args(argv)

    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for n_bytes in args.n_bytes:
            for n in args.n:
                path = os.path.join(tmp, f"db_{n}_{n_bytes}.npy")
                write_codes(path, n, n_bytes)
                for alg in args.algorithms:
                    cmd = [sys.executable, "-c", CHILD, path, alg]
                    cmd += [str(args.queries), str(args.k)]
                    res = subprocess.run(cmd, capture_output=True, text=True)
                    if res.returncode:
                        out = {"heap_mb": float("nan"), "rss_mb": float("nan")}
                        print(res.stderr.strip().splitlines()[-1], file=sys.stderr)
                    else:
                        out = json.loads(res.stdout.strip().splitlines()[-1])
                    db_mb = n * n_bytes / 2**20
                    rows.append(
                        (alg, 8 * n_bytes, n, db_mb, out["heap_mb"], out["rss_mb"])
                    )
                os.remove(path)

    head = ("algorithm", "bits", "N", "db MB", "heap MB", "RSS MB")
    print(f"{args.queries} queries, k={args.k}, memory-mapped database")
    print(" | ".join(f"{h:>10}" for h in head))
    for alg, bits, n, db_mb, heap, rss in rows:
        print(
            f"{alg:>10} | {bits:>10} | {n:>10} | {db_mb:>10.1f} | "
            f"{heap:>10.1f} | {rss:>10.1f}"
        )


if __name__ == "__main__":
    main()
