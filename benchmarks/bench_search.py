"""Exact Hamming k-NN: skhash backends against FAISS and scikit-learn, in one run.

Part 1 (random codes): N x {64, 128}-bit uniformly random codes, Q queries,
k in {10, 100, 1000}; methods timed alternately (A B C ... A B C ...), median of
``--repeats`` runs after one warm-up, reported as ratios to FAISS
``IndexBinaryFlat`` (same thread count), plus the xor+popcount floor (no
selection) and the peak extra memory (RSS high-water mark after resetting it
through ``/proc/self/clear_refs``, minus the RSS before the step; outputs
included; a lower bound when the method reuses memory freed earlier).
Correctness: every exact method's distances must equal FAISS's sorted
distances, and skhash's indices must equal the numba backend's.

Part 2 (learned codes): ITQ 64-bit codes of MNIST pixels, the 60,000 training
images augmented to N rows by random shifts of up to 2 pixels and Gaussian
pixel noise (sigma 8 on 0-255), queries = the 10,000 test images' first Q;
multi-index hashing against the numba scan at k=10.

Usage::

    python benchmarks/bench_search.py --n 1000000 --queries 1000 --threads 2
"""

import argparse
import os
import statistics
import sys
import time

import numpy as np

from skhash.neighbors._brute import BruteSearcher
from skhash.neighbors._mih import MIHSearcher
from skhash.neighbors._numba_brute import NumbaBruteSearcher

from _common import augmented_mnist, time_alternating


def _rss_kb(field):
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field):
                return int(line.split()[1])
    return 0


def peak_mb(fn):
    """Run fn once; return (result, peak extra RSS in MB)."""
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
    except OSError:
        pass
    before = _rss_kb("VmRSS:")
    out = fn()
    return out, max(0.0, (_rss_kb("VmHWM:") - before) / 1024)


def floor_kernel():
    from numba import njit, prange

    from skhash._kernels.jit import popcount64

    @njit(parallel=True, cache=True)
    def dist_sum(q_words, db_t):
        # Blocked like the search kernels (32 queries x 512 codes, so a block
        # of the database stays in L1 across the queries): a lower bound on
        # their distance work at every code length.
        n_q = q_words.shape[0]
        n_db = db_t.shape[1]
        out = np.zeros(n_q, np.int64)
        for b in prange((n_q + 31) // 32):
            q0 = b * 32
            q1 = min(q0 + 32, n_q)
            for c0 in range(0, n_db, 512):
                c1 = min(c0 + 512, n_db)
                for i in range(q0, q1):
                    s = 0
                    for w in range(db_t.shape[0]):
                        qw = q_words[i, w]
                        col = db_t[w, c0:c1]
                        for j in range(col.shape[0]):
                            s += popcount64(qw ^ col[j])
                    out[i] += s
        return out

    return dist_sum


def make_methods(db, threads, k, q_small):
    import faiss
    from sklearn.neighbors import NearestNeighbors

    from skhash._kernels.bits import codes_to_words, transpose_words

    n_bits = 8 * db.shape[1]
    faiss.omp_set_num_threads(threads)
    flat = faiss.IndexBinaryFlat(n_bits)
    flat.add(db)
    mh = faiss.IndexBinaryMultiHash(n_bits, 4, 16)
    mh.nflip = 1
    mh.add(db)
    nb = NumbaBruteSearcher(db)
    npb = BruteSearcher(db)
    mih = MIHSearcher(db)
    floor = floor_kernel()
    db_t = transpose_words(db)
    import numba

    numba.set_num_threads(threads)
    sk = NearestNeighbors(
        n_neighbors=k, metric="hamming", algorithm="brute", n_jobs=threads
    )
    sk.fit(np.unpackbits(db, axis=1))
    return {
        "faiss_flat": (lambda q: flat.search(q, k), None),
        "numba (ours)": (lambda q: nb.kneighbors(q, k, n_jobs=threads), None),
        "numpy (ours)": (lambda q: npb.kneighbors(q, k, n_jobs=threads), None),
        "mih (ours)": (lambda q: mih.kneighbors(q, k, n_jobs=threads), q_small),
        "faiss_multihash (approx.)": (lambda q: mh.search(q, k), None),
        "floor (xor+popcount, no selection)": (
            lambda q: (floor(codes_to_words(q), db_t), None),
            None,
        ),
        "sklearn hamming": (
            lambda q: sk.kneighbors(np.unpackbits(q, axis=1)),
            q_small,
        ),
    }


def run_random(args, out):
    rng = np.random.default_rng(0)
    print("\n## Random codes\n", file=out)
    print(
        f"N = {args.n}, Q = {args.queries}, threads = {args.threads}, median of "
        f"{args.repeats} interleaved runs. `Q run`: queries timed for that method "
        "(time scaled to Q). `/faiss`: ratio to faiss_flat; `/floor`: ratio to the "
        "xor+popcount floor.\n",
        file=out,
    )
    print(
        "| bits | k | method | Q run | median s (per Q) | /faiss | /floor | "
        "mem MB | same D as faiss | frac. exact D |",
        file=out,
    )
    print("|---|---|---|---|---|---|---|---|---|---|", file=out)
    for n_bits in args.bits:
        db = rng.integers(0, 256, (args.n, n_bits // 8), dtype=np.uint8)
        q = rng.integers(0, 256, (args.queries, n_bits // 8), dtype=np.uint8)
        for k in args.k:
            methods = make_methods(db, args.threads, k, None)
            n_small = {
                "sklearn hamming": min(args.queries, args.sklearn_queries),
                "mih (ours)": min(args.queries, args.mih_queries),
            }
            mems, results = {}, {}
            for name, (fn, _) in methods.items():  # warm-up + memory + result
                qq = q[: n_small.get(name, args.queries)]
                fn(qq[:5])
                res, mems[name] = peak_mb(lambda fn=fn, qq=qq: fn(qq))
                results[name] = res
            rows = {m: q[: n_small.get(m, args.queries)] for m in methods}
            # the warm-up above; scikit-learn's slow scan is timed once
            _, times = time_alternating(
                {
                    m: (lambda fn=fn, qq=rows[m]: fn(qq))
                    for m, (fn, _) in methods.items()
                },
                {m: 1 if m == "sklearn hamming" else args.repeats for m in methods},
                warmup=False,
            )
            # times scaled to Q queries
            med = {
                m: statistics.median([t * args.queries / len(rows[m]) for t in v])
                for m, v in times.items()
            }
            ref_d = np.sort(results["faiss_flat"][0], axis=1)
            ours_i = results["numba (ours)"][1]
            for name in methods:
                if name.startswith("floor"):
                    same, rec = "-", "-"
                else:
                    D, I = results[name]
                    nq = D.shape[0]
                    if name == "sklearn hamming":
                        D = np.rint(D * n_bits).astype(np.int64)
                    same_d = bool((np.sort(D, 1) == ref_d[:nq]).all())
                    same = "yes" if same_d else "no"
                    if "(ours)" in name:
                        same += ", same I" if (I == ours_i[:nq]).all() else ", I differ"
                    # recall: fraction of returned distances <= the exact k-th
                    rec = float(np.mean(np.sort(D, 1) == ref_d[:nq]))
                    rec = f"{rec:.3f}"
                print(
                    f"| {n_bits} | {k} | {name} | {n_small.get(name, args.queries)} | "
                    f"{med[name]:.4f} | {med[name] / med['faiss_flat']:.3f} | "
                    f"{med[name] / med['floor (xor+popcount, no selection)']:.2f} | "
                    f"{mems[name]:.1f} | {same} | {rec} |",
                    file=out,
                    flush=True,
                )


def learned_codes(args):
    """ITQ codes (``--learned-bits``) of augmented MNIST (db), MNIST test images (q)."""
    if args.learned_cache and os.path.exists(args.learned_cache):
        f = np.load(args.learned_cache)
        if 8 * f["db"].shape[1] != args.learned_bits:
            raise SystemExit(
                f"--learned-cache {args.learned_cache} holds "
                f"{8 * f['db'].shape[1]}-bit codes, not --learned-bits "
                f"{args.learned_bits}"
            )
        return f["db"], f["q"], float(f["t_enc"])
    from skhash import ITQ
    from skhash.datasets import load_mnist

    rng = np.random.default_rng(1)
    X, _ = load_mnist("train", return_X_y=True)
    Xq, _ = load_mnist("test", return_X_y=True)
    itq = ITQ(n_bits=args.learned_bits, random_state=0).fit(np.asarray(X, np.float32))
    t = time.perf_counter()
    db = np.concatenate([itq.transform(b) for b in augmented_mnist(args.n, rng)])
    t_enc = time.perf_counter() - t
    q = itq.transform(np.asarray(Xq[: args.queries], np.float32))
    if args.learned_cache:
        np.savez(args.learned_cache, db=db, q=q, t_enc=t_enc)
    return db, q, t_enc


def run_learned(args, out):
    db, q, t_enc = learned_codes(args)
    print(
        f"\n## Learned codes: ITQ {args.learned_bits}-bit, augmented MNIST\n", file=out
    )
    n_unique = len(np.unique(np.ascontiguousarray(db).view(f"V{db.shape[1]}")))
    print(
        f"N = {len(db)} (60,000 MNIST training images, random shifts of up to 2 "
        f"pixels + N(0, 8^2) pixel noise; {n_unique} distinct codes; encoding took "
        f"{t_enc:.1f} s), Q = {len(q)} MNIST test images, k = 10, threads = "
        f"{args.threads}, median of {args.repeats} interleaved runs; MIH work "
        f"budget per query: "
        f"{'default' if args.mih_budget is None else f'{args.mih_budget:g} N'}.\n",
        file=out,
    )
    nb = NumbaBruteSearcher(db)
    nb.kneighbors(q[:5], 10)
    methods = {"numba (ours)": nb}
    builds = {}
    for m in args.mih_substrings:
        t = time.perf_counter()
        budget = None if args.mih_budget is None else int(args.mih_budget * len(db))
        s, mem = peak_mb(
            lambda m=m, budget=budget: MIHSearcher(
                db, n_substrings=m or None, max_work=budget
            )
        )
        builds[m] = (time.perf_counter() - t, mem)
        s.kneighbors(q[:5], 10)
        methods[m] = s
    res, stats = {}, {}

    def search(name, s):
        if name == "numba (ours)":
            res[name] = s.kneighbors(q, 10, n_jobs=args.threads)
        else:
            found = s.kneighbors(q, 10, n_jobs=args.threads, return_stats=True)
            res[name], stats[name] = found[:2], found[2]

    # each searcher was warmed up on 5 queries above
    _, times = time_alternating(
        {name: (lambda name=name, s=s: search(name, s)) for name, s in methods.items()},
        args.repeats,
        warmup=False,
    )
    med = {m: statistics.median(v) for m, v in times.items()}
    kth = res["numba (ours)"][0][:, -1]
    print(
        f"10th-neighbour distance over the queries: median {np.median(kth):.0f}, "
        f"90th percentile {np.percentile(kth, 90):.0f}, max {kth.max()}.\n",
        file=out,
    )
    print(
        "| method | median s | speed-up vs numba scan | paired speed-up (median "
        "[quartiles] of per-run ratios) | build s | build mem MB | "
        "probes / query (median, mean) | bucket entries read / query (median, "
        "mean) | queries scanned | identical D and I |",
        file=out,
    )
    print("|---|---|---|---|---|---|---|---|---|---|", file=out)
    base = med["numba (ours)"]
    print(f"| numba (ours) | {base:.4f} | 1.0 | - | - | - | - | - | - | - |", file=out)
    for m in args.mih_substrings:
        s = methods[m]
        st = stats[m]
        entries = st[:, 1] - st[:, 0]
        same = all(
            (a == b).all() for a, b in zip(res["numba (ours)"], res[m], strict=True)
        )
        label = "default " if not m else ""
        # Each run's scan time over its MIH time (timed back to back), robust
        # to a shared machine's slow spells.
        ratio = np.array(times["numba (ours)"]) / np.array(times[m])
        q1, q2, q3 = np.percentile(ratio, [25, 50, 75])
        print(
            f"| mih (ours), {label}m={len(s.lengths)} x "
            f"{[int(x) for x in s.lengths]} bits | {med[m]:.4f} | "
            f"{base / med[m]:.1f} | {q2:.1f} [{q1:.1f}, {q3:.1f}] | "
            f"{builds[m][0]:.2f} | {builds[m][1]:.0f} | "
            f"{np.median(st[:, 0]):.0f}, {st[:, 0].mean():.0f} | "
            f"{np.median(entries):.0f}, {entries.mean():.0f} | "
            f"{int(st[:, 2].sum())} | {'yes' if same else 'NO'} |",
            file=out,
            flush=True,
        )


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--n", type=int, default=1_000_000)
    p.add_argument("--queries", type=int, default=1000)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--bits", type=int, nargs="+", default=[64, 128])
    p.add_argument("--k", type=int, nargs="+", default=[10, 100, 1000])
    p.add_argument("--sklearn-queries", type=int, default=20)
    p.add_argument("--mih-queries", type=int, default=50)
    p.add_argument(
        "--mih-budget",
        type=float,
        default=None,
        help="MIH work budget per query as a fraction of N (default: the "
        "searcher's, MAX_WORK_FRACTION)",
    )
    p.add_argument(
        "--mih-substrings",
        type=int,
        nargs="+",
        default=[0, 3, 5],
        help="MIH substring counts for the learned codes (0: the default)",
    )
    p.add_argument(
        "--learned-cache", default=None, help=".npz to save/load the learned codes"
    )
    p.add_argument(
        "--learned-bits",
        type=int,
        default=64,
        help="ITQ code length of the learned codes (default 64)",
    )
    p.add_argument("--skip-random", action="store_true")
    p.add_argument("--skip-learned", action="store_true")
    args = p.parse_args(argv)
    out = sys.stdout
    import faiss
    import numba
    import sklearn

    print(
        f"# bench_search: python {sys.version.split()[0]}, numpy {np.__version__}, "
        f"numba {numba.__version__}, faiss {faiss.__version__}, scikit-learn "
        f"{sklearn.__version__}, {os.cpu_count()} CPUs, load average "
        f"{os.getloadavg()[0]:.1f} at start",
        file=out,
    )
    if not args.skip_random:
        run_random(args, out)
    if not args.skip_learned:
        run_learned(args, out)
    print(f"\nload average at end: {os.getloadavg()[0]:.1f}", file=out)


if __name__ == "__main__":
    main()
