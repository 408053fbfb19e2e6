"""Quantized search: skhash's fast scan and exact ADC against FAISS, recall and time.

At one code size (``--bits``, default 64), each method is trained on the first
``--n-train`` database vectors, indexes ``--n`` vectors and answers
``--n-queries`` queries for k in ``--ks``:

* FAISS ``IndexPQ`` (``bits / 8`` sub-quantizers of 8 bits), exhaustive ADC;
* FAISS ``IndexPQFastScan`` (``bits / 4`` sub-quantizers of 4 bits), and the
  same wrapped in ``IndexRefineFlat`` (``k_factor = --rerank``: re-ranks the
  ``rerank * k`` fast-scan candidates with the exact *float vectors*, which it
  stores beside the codes);
* skhash ``QuantizedNeighbors`` over ``PQ(n_clusters=256)`` (exact ADC,
  ``algorithm="auto"``), over ``PQ(n_clusters=16)`` with
  ``algorithm="fastscan"``, and the same with ``rerank=--rerank`` and with
  ``rerank="exact"`` (re-rank by exact ADC: the codes only, no float vectors
  kept; "exact" re-ranks every item within the tables' error bound, so its
  result is the exact 4-bit ADC ranking);
* skhash's fast-scan kernel on FAISS's own 4-bit codebook and codes (tables
  from FAISS's ``ProductQuantizer``), so that the recall gap to FAISS's fast
  scan is the kernels' alone, not the k-means runs'.

Recall@k is the fraction of queries whose exact Euclidean nearest neighbour
(``skhash.datasets.euclidean_ground_truth`` on the float vectors) is among the
first k results. Time covers the whole query (look-up tables included), with
``--threads`` threads for both libraries; the methods of a row group run
alternately (A B C ... A B C ...), median of ``--repeats`` runs after one
warm-up, and the ratios are taken within that one run.

Datasets: ``synthetic`` (64-D vectors on a 12-D linear subspace plus noise
of 1/10 of the signal's scale, so neighbours are well defined) and ``mnist``
(the 60,000 MNIST training images augmented to ``--n`` rows by random shifts
of up to 2 pixels and Gaussian pixel noise, as ``bench_search.py`` builds
them; queries are the first test images).

Run: ``python benchmarks/bench_fastscan.py`` (1M vectors, about 10 minutes on
2 cores; ``--n 100000`` for a quick look).
"""

import argparse
import os
import platform
import time

import numpy as np
from sklearn.frozen import FrozenEstimator

from skhash._kernels import pq_fastscan as _fs
from skhash.datasets import euclidean_ground_truth
from skhash.metrics import recall_at_r
from skhash.quantization import PQ, QuantizedNeighbors

from _common import (
    augmented_mnist,
    load_dataset,
    median,
    print_table,
    synthetic,
    time_alternating,
    write_json,
)


def mnist(n, n_queries, rng):
    X = np.concatenate(list(augmented_mnist(n, rng)))
    Xq, _ = load_dataset("mnist", "test")
    return X, np.asarray(Xq[:n_queries], np.float32)


def build(X, n_train, bits, rerank, seed):
    """Fit every method; returns ``{name: (search(Xq, k) -> ind, fit seconds)}``."""
    import faiss

    d = X.shape[1]
    train = X[:n_train]
    methods = {}

    t = time.perf_counter()
    ipq = faiss.IndexPQ(d, bits // 8, 8)
    ipq.train(train)
    ipq.add(X)
    methods["faiss IndexPQ 8-bit"] = (
        lambda q, k: ipq.search(q, k)[1],
        time.perf_counter() - t,
    )

    t = time.perf_counter()
    ifs = faiss.IndexPQFastScan(d, bits // 4, 4)
    ifs.train(train)
    ifs.add(X)
    t_fs = time.perf_counter() - t
    methods["faiss PQFastScan 4-bit"] = (lambda q, k: ifs.search(q, k)[1], t_fs)

    t = time.perf_counter()
    iref = faiss.IndexRefineFlat(ifs, faiss.swig_ptr(X))
    iref.k_factor = float(rerank)
    t_ref = t_fs + time.perf_counter() - t
    methods[f"faiss PQFastScan + RefineFlat x{rerank}"] = (
        lambda q, k: iref.search(q, k)[1],
        t_ref,
    )

    t = time.perf_counter()
    pq8 = PQ(n_bits=bits, random_state=seed).fit(train)
    nn8 = QuantizedNeighbors(FrozenEstimator(pq8)).fit(X)
    methods["skhash exact ADC 8-bit"] = (
        lambda q, k: nn8.kneighbors(q, k, return_distance=False),
        time.perf_counter() - t,
    )

    t = time.perf_counter()
    pq4 = PQ(n_bits=bits, n_clusters=16, random_state=seed).fit(train)
    fast = QuantizedNeighbors(FrozenEstimator(pq4), algorithm="fastscan").fit(X)
    t_fast = time.perf_counter() - t
    methods["skhash fastscan 4-bit"] = (
        lambda q, k: fast.kneighbors(q, k, return_distance=False),
        t_fast,
    )
    fast_rr = QuantizedNeighbors(
        FrozenEstimator(pq4), algorithm="fastscan", rerank=rerank
    ).fit(X)
    methods[f"skhash fastscan + rerank x{rerank}"] = (
        lambda q, k: fast_rr.kneighbors(q, k, return_distance=False),
        t_fast,
    )
    fast_ex = QuantizedNeighbors(
        FrozenEstimator(pq4), algorithm="fastscan", rerank="exact"
    ).fit(X)
    methods["skhash fastscan + exact rerank"] = (
        lambda q, k: fast_ex.kneighbors(q, k, return_distance=False),
        t_fast,
    )
    exact4 = QuantizedNeighbors(FrozenEstimator(pq4)).fit(X)
    methods["skhash exact ADC 4-bit"] = (
        lambda q, k: exact4.kneighbors(q, k, return_distance=False),
        t_fast,
    )

    # skhash's fast-scan kernel on FAISS's own 4-bit codebook and codes: the
    # recall gap to FAISS's fast scan is then the kernels' alone
    fpq = ifs.pq
    n_sub = bits // 4
    packed_bytes = fpq.compute_codes(X)  # code m in bits [4m, 4m + 4)
    codes = np.empty((len(X), n_sub), dtype=np.uint8)
    codes[:, 0::2] = packed_bytes & 15
    codes[:, 1::2] = packed_bytes >> 4
    blocks = _fs.pack_codes(codes)

    def same_codebook(q, k):
        q = np.ascontiguousarray(q, dtype=np.float32)
        T = np.empty((len(q), n_sub * 16), dtype=np.float32)
        fpq.compute_distance_tables(len(q), faiss.swig_ptr(q), faiss.swig_ptr(T))
        T = T.reshape(len(q), n_sub, 16)
        Q, _, _ = _fs.quantize_tables(T)
        return _fs.fastscan_kneighbors(Q, blocks, len(X), k)[1]

    methods["skhash fastscan, FAISS's codebook"] = (same_codebook, t_fs)
    return methods


def run(name, X, Xq, args):
    t = time.perf_counter()
    gt = euclidean_ground_truth(Xq, X, 1).ravel()
    print(f"# {name}: ground truth {time.perf_counter() - t:.1f} s", flush=True)
    methods = build(X, args.n_train, args.bits, args.rerank, args.seed)
    rows = []
    for k in args.ks:
        # one warm-up call each (compiles numba), then the timed rounds
        found, times = time_alternating(
            {m: (lambda s=search, k=k: s(Xq, k)) for m, (search, _) in methods.items()},
            args.repeats,
        )
        ref_fs = median(times["faiss PQFastScan 4-bit"])
        ref_pq = median(times["faiss IndexPQ 8-bit"])
        for m, (_, t_fit) in methods.items():
            med = median(times[m])
            rows.append(
                {
                    "data": name,
                    "k": k,
                    "method": m,
                    f"recall@{k}": recall_at_r(gt, found[m], k),
                    "time_s": med,
                    "/PQFastScan": med / ref_fs,
                    "/IndexPQ": med / ref_pq,
                    "fit_s": t_fit,
                }
            )
        print_table(
            [
                dict(r, recall=r[f"recall@{k}"])
                for r in rows
                if r["k"] == k and r["data"] == name
            ],
            [
                "data",
                "k",
                "method",
                "recall",
                "time_s",
                "/PQFastScan",
                "/IndexPQ",
                "fit_s",
            ],
            title=f"\n## {name}, k = {k}",
        )
    return rows


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--datasets", nargs="+", default=["synthetic", "mnist"])
    p.add_argument("--n", type=int, default=1_000_000)
    p.add_argument("--n-queries", type=int, default=1000)
    p.add_argument("--n-train", type=int, default=100_000)
    p.add_argument("--bits", type=int, default=64)
    p.add_argument("--ks", type=int, nargs="+", default=[1, 10, 100])
    p.add_argument("--rerank", type=int, default=4)
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--json", help="write the rows to this file")
    args = p.parse_args(argv)

    import faiss
    import numba

    faiss.omp_set_num_threads(args.threads)
    numba.set_num_threads(args.threads)
    print(
        f"# {platform.machine()}, load {os.getloadavg()[0]:.1f}, faiss "
        f"{faiss.__version__}, numba {numba.__version__}, {args.threads} threads, "
        f"fast-scan kernel: {_fs.available_backends()[0]}",
        flush=True,
    )
    rows = []
    rng = np.random.default_rng(args.seed)
    for name in args.datasets:
        if name == "synthetic":
            X, Xq = synthetic(args.n, args.n_queries, rng)
        elif name == "mnist":
            X, Xq = mnist(args.n, args.n_queries, rng)
        else:
            raise SystemExit(f"unknown dataset {name!r}: synthetic or mnist")
        rows += run(name, X, Xq, args)
        del X
    print(f"# load at the end {os.getloadavg()[0]:.1f}")
    if args.json:
        write_json(args.json, rows)


if __name__ == "__main__":
    main()
