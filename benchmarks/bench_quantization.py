"""PQ and OPQ against faiss and nanopq on MNIST and Fashion-MNIST pixels.

``--datasets cifar10-gist --gist-cache FILE`` runs the quality part on GIST-512
descriptors of the CIFAR-10 JPEG copy instead (database = the 50,000 training
rows, queries = test rows); ``--opq-inits auto eigenvalue_allocation identity``
gives one skhash OPQ row per start (default: ``auto``, OPQ's default).

Part 1 (quality), per dataset and code length: train on the first
``--n-train`` training images, encode the 60,000 training images as the
database, query with the first ``--n-queries`` test images. Reports training
time, distortion (mean squared reconstruction error per database vector) and
Recall@R (fraction of queries whose exact Euclidean nearest neighbour is among
the first R items of the method's own asymmetric-distance ranking), for
skhash's PQ/OPQ, ``faiss.IndexPQ`` / ``OPQMatrix + IndexPQ`` and
``nanopq.PQ`` / ``nanopq.OPQ`` at the same code length (256 codewords per
subspace, ``n_bits / 8`` subspaces).

Part 2 (speed): ADC search of ``--n-queries`` MNIST test images, k=100, over
databases of 100,000 and 1,000,000 codes (the 60,000 MNIST database codes of
each method tiled to that size: ADC time depends on the number of codes, not
on their values). skhash's ``QuantizedNeighbors.kneighbors`` (look-up tables +
numba or NumPy kernel) and ``faiss.IndexPQ.search`` are timed alternately,
median of ``--repeats`` runs after a warm-up; nanopq (per-query ``dtable`` +
``adist`` + ``argpartition``) on a tenth of the queries, scaled by 10. The
"same D" column runs skhash's kernel on faiss's own codebook and codes and
compares the distances (rtol 1e-4) and the neighbour ids with faiss's.

Run: ``python benchmarks/bench_quantization.py`` (about 10 minutes on 2 cores).
"""

import argparse
import json
import platform
import time

import numpy as np
from sklearn.frozen import FrozenEstimator

from skhash._kernels import pq as _pq
from skhash.datasets import euclidean_ground_truth
from skhash.metrics import recall_at_r
from skhash.quantization import OPQ, PQ, QuantizedNeighbors

from _common import default_data_home, load_train_test, print_table, time_alternating

RS = (1, 10, 100)


def load(name, data_home, gist_cache=None):
    """(training rows, test rows), float32, of mnist, fashion-mnist or cifar10-gist.

    ``cifar10-gist``: GIST-512 of the CIFAR-10 JPEG copy (50,000 training,
    10,000 test rows); ``gist_cache``: a ``.npy`` of the 60,000 descriptors
    (``bench_bdnn_mnist.py --gist-cache`` reads and writes the same file),
    computed when missing.
    """
    Xtr, _, Xte, _ = load_train_test(name, data_home=data_home, gist_cache=gist_cache)
    if name == "cifar10-gist":
        return Xtr, Xte
    f = np.float32
    return Xtr.astype(f), Xte.astype(f)


def nanopq_search(model, Xq, codes, k):
    ind = np.empty((len(Xq), k), np.int64)
    for i, q in enumerate(Xq):
        d = model.dtable(q).adist(codes)
        part = np.argpartition(d, k - 1)[:k]
        ind[i] = part[np.lexsort((part, d[part]))]
    return ind


def _skhash_label(fam, init):
    """Row label: ``skhash OPQ`` for the default start, else the start named."""
    if init is None or init == "auto":
        return f"skhash {fam}"
    return f"skhash {fam} (init={init})"


def quality(name, X_train_all, X_test, args):
    import faiss
    import nanopq

    X_fit = X_train_all[: args.n_train]
    X_db, X_q = X_train_all, X_test[: args.n_queries]
    true_nn = euclidean_ground_truth(X_q, X_db, 1)[:, 0]
    d = X_db.shape[1]
    rows = []
    for n_bits in args.bits:
        M = n_bits // 8

        def report(label, t_fit, rec, ind, n_bits=n_bits):
            row = {
                "dataset": name,
                "bits": n_bits,
                "method": label,
                "train s": t_fit,
                "distortion": float(((X_db - rec) ** 2).sum(axis=1).mean()),
            }
            for r, v in zip(RS, recall_at_r(true_nn, ind, list(RS)), strict=True):
                row[f"R@{r}"] = float(v)
            rows.append(row)
            print(json.dumps(row), flush=True)

        # PQ family first, then OPQ: skhash, faiss, nanopq each time.
        for fam in args.families:
            # skhash -------------------------------------------------------
            seed = 0 if args.seed is None else args.seed
            inits = args.opq_inits if fam == "OPQ" else [None]
            for init in inits:
                if fam == "PQ":
                    est = PQ(n_bits=n_bits, random_state=seed)
                else:
                    est = OPQ(n_bits=n_bits, init=init, random_state=seed)
                t0 = time.perf_counter()
                est.fit(X_fit)
                t_fit = time.perf_counter() - t0
                # trained on X_fit, indexing X_db
                nn = QuantizedNeighbors(FrozenEstimator(est), n_neighbors=max(RS))
                nn.fit(X_db)
                rec = est.inverse_transform(nn.codes_)
                report(
                    _skhash_label(fam, init),
                    t_fit,
                    rec,
                    nn.kneighbors(X_q, return_distance=False),
                )

            # faiss --------------------------------------------------------
            index = faiss.IndexPQ(d, M, 8)
            if args.seed is not None:
                index.pq.cp.seed = args.seed
            if fam == "OPQ":
                index = faiss.IndexPreTransform(faiss.OPQMatrix(d, M), index)
            t0 = time.perf_counter()
            index.train(X_fit)
            t_fit = time.perf_counter() - t0
            index.add(X_db)
            rec = index.reconstruct_n(0, len(X_db))
            _, ind = index.search(X_q, max(RS))
            report(f"faiss {fam}", t_fit, rec, ind)

            # nanopq -------------------------------------------------------
            if d % M or fam not in args.nanopq:
                continue  # nanopq needs equal subspaces
            model = getattr(nanopq, fam)(M=M, Ks=256, verbose=False)
            t0 = time.perf_counter()
            model.fit(X_fit, seed=0)
            t_fit = time.perf_counter() - t0
            codes = model.encode(X_db)
            rec = model.decode(codes)
            report(
                f"nanopq {fam}", t_fit, rec, nanopq_search(model, X_q, codes, max(RS))
            )

        for fam in args.families:
            ref = next(
                r
                for r in rows
                if r["method"] == f"faiss {fam}"
                and r["bits"] == n_bits
                and r["dataset"] == name
            )
            for init in args.opq_inits if fam == "OPQ" else [None]:
                ours = next(
                    r
                    for r in rows
                    if r["method"] == _skhash_label(fam, init)
                    and r["bits"] == n_bits
                    and r["dataset"] == name
                )
                ours["distortion / faiss"] = ours["distortion"] / ref["distortion"]
    return rows


def speed(X_train_all, X_test, args):
    import faiss
    import nanopq

    X_fit, X_db, X_q = (
        X_train_all[: args.n_train],
        X_train_all,
        X_test[: args.n_queries],
    )
    d, n_bits, k = X_db.shape[1], args.timing_bits, 100
    M = n_bits // 8
    pq = PQ(n_bits=n_bits, random_state=0).fit(X_fit)
    nn = QuantizedNeighbors(FrozenEstimator(pq), n_neighbors=k).fit(X_db)
    codes = nn.codes_
    index = faiss.IndexPQ(d, M, 8)
    index.train(X_fit)
    fcodes = index.sa_encode(X_db)
    npq = nanopq.PQ(M=M, Ks=256, verbose=False).fit(X_fit, iter=5, seed=0)
    ncodes = npq.encode(X_db)

    # faiss's codebook through skhash's kernel: same distances and ids?
    cent = faiss.vector_to_array(index.pq.centroids).reshape(M, 256, d // M)
    bounds = np.arange(0, d + 1, d // M)
    T = _pq.adc_tables(X_q, list(cent), bounds)

    rows = []
    for N in args.sizes:
        reps = -(-N // len(X_db))
        db_codes = np.tile(codes, (reps, 1))[:N]
        db_fcodes = np.ascontiguousarray(np.tile(fcodes, (reps, 1))[:N])
        db_ncodes = np.tile(ncodes, (reps, 1))[:N]
        # ADC time depends on the number of codes, not their values: tiling
        # the 60,000 codes stands in for encoding N vectors.
        nn.codes_, nn.n_samples_fit_ = db_codes, N
        index.reset()
        index.add_sa_codes(db_fcodes)

        D_f, I_f = index.search(X_q, k)
        D_s, I_s = _pq.adc_kneighbors(T, db_fcodes, k)
        same = np.allclose(D_s, D_f, rtol=1e-4) and ((I_s == I_f).mean() > 0.999)
        ids_equal = float((I_s == I_f).mean())

        # skhash and faiss alternately, each warmed up on 10 queries
        _, timings = time_alternating(
            {
                "skhash (numba)": lambda: nn.kneighbors(X_q),
                "faiss IndexPQ": lambda: index.search(X_q, k),
            },
            args.repeats,
            warmup={
                "skhash (numba)": lambda: nn.kneighbors(X_q[:10]),
                "faiss IndexPQ": lambda: index.search(X_q[:10], k),
            },
        )
        # then once each: the NumPy kernel, nanopq on a tenth of the queries
        nn.set_params(algorithm="numpy")
        _, once = time_alternating(
            {"skhash (numpy)": lambda: nn.kneighbors(X_q)}, 1, warmup=False
        )
        nn.set_params(algorithm="auto")
        _, nanopq_s = time_alternating(
            {
                "nanopq (x10)": lambda db=db_ncodes: nanopq_search(
                    npq, X_q[: len(X_q) // 10], db, k
                )
            },
            1,
            warmup=False,
        )
        timings = {
            "skhash (numba)": timings["skhash (numba)"],
            **once,
            "faiss IndexPQ": timings["faiss IndexPQ"],
            "nanopq (x10)": [10 * t for t in nanopq_s["nanopq (x10)"]],
        }

        t_faiss = float(np.median(timings["faiss IndexPQ"]))
        for label, ts in timings.items():
            t = float(np.median(ts))
            rows.append(
                {
                    "N": N,
                    "bits": n_bits,
                    "method": label,
                    "runs": len(ts),
                    "median s": t,
                    "/faiss": t / t_faiss,
                    "same D": ("yes" if same else "NO") + f" ({ids_equal:.4f} ids)"
                    if label == "skhash (numba)"
                    else "",
                }
            )
    return rows


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--data-home", default=default_data_home())
    p.add_argument(
        "--gist-cache",
        default=None,
        help="cifar10-gist: .npy of the 60,000 GIST-512 rows (made when missing)",
    )
    p.add_argument("--datasets", nargs="+", default=["mnist", "fashion-mnist"])
    p.add_argument("--bits", nargs="+", type=int, default=[32, 64])
    p.add_argument("--n-train", type=int, default=20000)
    p.add_argument("--n-queries", type=int, default=1000)
    p.add_argument("--sizes", nargs="+", type=int, default=[100_000, 1_000_000])
    p.add_argument("--timing-bits", type=int, default=64)
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--families", nargs="+", default=["PQ", "OPQ"])
    p.add_argument(
        "--opq-inits",
        nargs="+",
        default=["auto"],
        help="skhash OPQ starts to run (OPQ's init parameter), one row each",
    )
    p.add_argument(
        "--seed",
        type=int,
        default=None,
        help="k-means seed of skhash (default 0) and faiss PQ (default faiss's)",
    )
    p.add_argument(
        "--nanopq", nargs="*", default=["PQ", "OPQ"], help="nanopq families to run"
    )
    p.add_argument(
        "--faiss-threads", type=int, default=None, help="faiss OpenMP threads"
    )
    p.add_argument("--skip-quality", action="store_true")
    p.add_argument("--skip-speed", action="store_true")
    args = p.parse_args()

    import faiss
    import numba

    if args.faiss_threads:
        faiss.omp_set_num_threads(args.faiss_threads)
    print(
        f"python {platform.python_version()}, numpy {np.__version__}, faiss "
        f"{faiss.__version__} ({faiss.omp_get_max_threads()} threads), numba "
        f"{numba.__version__} ({numba.get_num_threads()} threads), "
        f"{platform.processor() or platform.machine()}",
        flush=True,
    )
    data = {name: load(name, args.data_home, args.gist_cache) for name in args.datasets}
    if not args.skip_quality:
        rows = []
        for name, (Xtr, Xte) in data.items():
            rows += quality(name, Xtr, Xte, args)
            print_table(
                rows,
                [
                    "dataset",
                    "bits",
                    "method",
                    "train s",
                    "distortion",
                    "distortion / faiss",
                    "R@1",
                    "R@10",
                    "R@100",
                ],
                title=f"Quality (train {args.n_train}, database = training split, "
                f"{args.n_queries} queries)",
                floatfmt="{:.4g}",
            )
    if not args.skip_speed:
        name = args.datasets[0]
        rows = speed(*data[name], args)
        print_table(
            rows,
            ["N", "bits", "method", "runs", "median s", "/faiss", "same D"],
            title=f"ADC search, {args.n_queries} {name} queries, k=100",
            floatfmt="{:.4g}",
        )


if __name__ == "__main__":
    main()
