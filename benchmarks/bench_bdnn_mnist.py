"""UH-BDNN / SH-BDNN reproduction on MNIST, with timings.

Protocol (the BDNN paper, Do, Doan and Cheung, ECCV 2016): raw 784-D pixels;
database = training set; queries = test images; UH table: ground truth = the
K Euclidean nearest database items of each query (K = 50); SH table:
same-class ground truth.
mAP over the full Hamming ranking (ties by database index), with the BDNN
trapezoid-interpolated AP (``protocol="bdnn"``) and plain AP
(``protocol="full"``). Code lengths 8/16/24/32.

Usage (the paper's full setting: 60,000 training = database, 10,000 queries)::

    python benchmarks/bench_bdnn_mnist.py

Reduced settings (what ran on the shared 2-core machine) and the timing modes::

    python benchmarks/bench_bdnn_mnist.py --n-train 5000 --n-query 1000 \
        --lbfgs-max-iter 100 --max-iter 5
    python benchmarks/bench_bdnn_mnist.py --time-only
    python benchmarks/bench_bdnn_mnist.py --time-evaluation
    python benchmarks/bench_bdnn_mnist.py --compare-solvers --n-train 5000

Data: ``SKHASH_DATA`` or ``<repo>/../shared/data``.
"""

import argparse
import os
import time

import numpy as np

from _common import load_train_test, time_alternating


def load(n_train, n_query, seed, dataset="mnist", gist_cache=None):
    """Training (= database) and query rows of MNIST or CIFAR-10 GIST-512.

    ``cifar10-gist``: UH-BDNN's second dataset (the paper used 320-D GIST of
    the original images; ours is :class:`skhash.features.GIST`'s 512-D
    descriptor of the JPEG q75 copy), 50,000 training and 10,000 test rows.
    ``gist_cache`` is a ``.npy`` of the 60,000 descriptors in
    ``load_cifar10("all", source="jpeg")`` order, computed when missing.
    """
    Xtr, ytr, Xte, yte = load_train_test(dataset, gist_cache=gist_cache)
    if dataset == "mnist":
        # Pixels / 255: a uniform scale leaves the Euclidean ground truth and
        # every scale-free method unchanged, and keeps SH-BDNN (which, like its
        # demo, uses features as given) out of sigmoid saturation.
        Xtr = Xtr.astype(np.float32) / 255
        Xte = Xte.astype(np.float32) / 255
    return _subsample(Xtr, ytr, Xte, yte, n_train, n_query, seed)


def _subsample(Xtr, ytr, Xte, yte, n_train, n_query, seed):
    rng = np.random.default_rng(seed)
    if n_train < len(Xtr):
        i = np.sort(rng.choice(len(Xtr), n_train, replace=False))
        Xtr, ytr = Xtr[i], ytr[i]
    if n_query < len(Xte):
        i = np.sort(rng.choice(len(Xte), n_query, replace=False))
        Xte, yte = Xte[i], yte[i]
    return Xtr, ytr, Xte, yte


def scores(codes_q, codes_db, *, gt=None, y_q=None, y_db=None, chunk=250):
    """(bdnn mAP, full mAP): Euclidean ground truth ``gt`` or labels."""
    from skhash import HammingNeighbors
    from skhash.metrics import average_precision

    nn = HammingNeighbors().fit(codes_db)
    n_db = codes_db.shape[0]
    out = {"bdnn": [], "full": []}
    for s in range(0, codes_q.shape[0], chunk):
        rows = np.arange(s, min(s + chunk, codes_q.shape[0]))
        _, ranking = nn.kneighbors(codes_q[rows], n_neighbors=n_db)
        if gt is not None:
            # relevance "shares a label" with one private label per query
            yq = np.eye(len(rows), dtype=np.uint8)
            ydb = np.zeros((n_db, len(rows)), dtype=np.uint8)
            ydb[gt[rows], np.arange(len(rows))[:, None]] = 1
        else:
            yq, ydb = y_q[rows], y_db
        for p in out:
            out[p].append(average_precision(yq, ydb, ranking, protocol=p))
    return {p: float(np.concatenate(v).mean()) for p, v in out.items()}


def run_tables(args):
    import torch

    from skhash import ITQ, LSH, PCAH, SDH, SpectralHashing
    from skhash.datasets import euclidean_ground_truth
    from skhash.deep import SHBDNN, UHBDNN

    torch.set_num_threads(args.threads)
    Xtr, ytr, Xte, yte = load(
        args.n_train, args.n_query, args.seed, args.dataset, args.gist_cache
    )
    print(
        f"{args.dataset}: {len(Xtr)} training = database, {len(Xte)} queries, "
        f"K={args.k} Euclidean neighbours; torch threads {args.threads}",
        flush=True,
    )
    gt = euclidean_ground_truth(Xte, Xtr, args.k)
    bdnn_kw = dict(
        max_iter=args.max_iter,
        lbfgs_max_iter=args.lbfgs_max_iter,
        solver=args.solver,
        random_state=args.seed,
        verbose=args.verbose,
    )
    unsup = {
        "UH-BDNN": lambda b: UHBDNN(b, **bdnn_kw),
        "ITQ": lambda b: ITQ(b, random_state=args.seed),
        "PCAH": lambda b: PCAH(b),
        "SH": lambda b: SpectralHashing(b),
        "LSH": lambda b: LSH(b, random_state=args.seed),
    }
    sup = {
        "SH-BDNN": lambda b: SHBDNN(b, **bdnn_kw),
        "SDH": lambda b: SDH(b, random_state=args.seed),
    }
    rows = []
    for b in args.bits:
        for name, make in {**unsup, **sup}.items():
            if name in sup and args.skip_sup:
                continue
            if args.methods and name not in args.methods:
                continue
            t0 = time.perf_counter()
            est = make(b).fit(Xtr, ytr if name in sup else None)
            t_fit = time.perf_counter() - t0
            cq, cdb = est.transform(Xte), est.transform(Xtr)
            euc = scores(cq, cdb, gt=gt) if name in unsup else None
            lab = scores(cq, cdb, y_q=yte, y_db=ytr)
            extra = ""
            if hasattr(est, "best_iteration_"):
                extra = f" best_iter={est.best_iteration_} n_iter={est.n_iter_}"
            rows.append((name, b, euc, lab, t_fit))
            print(
                f"{name:8s} {b:2d} bits  fit {t_fit:7.1f} s"
                + (
                    f"  euclid bdnn {euc['bdnn']:.4f} full {euc['full']:.4f}"
                    if euc
                    else ""
                )
                + f"  label bdnn {lab['bdnn']:.4f} full {lab['full']:.4f}"
                + extra,
                flush=True,
            )
    print_tables(rows, args.bits)


def print_tables(rows, bits):
    get = {(r[0], r[1]): r for r in rows}
    names_u = [n for n in ["UH-BDNN", "ITQ", "PCAH", "SH", "LSH"]]
    names_s = ["SH-BDNN", "SDH", "ITQ", "UH-BDNN", "PCAH", "SH", "LSH"]
    for title, names, kind in [
        ("Euclidean ground truth (K nearest)", names_u, 2),
        ("Label ground truth (same class)", names_s, 3),
    ]:
        print(f"\n{title}: mAP bdnn / full")
        print("method   " + "".join(f"{b:>16d}" for b in bits))
        for n in names:
            cells = []
            for b in bits:
                r = get.get((n, b))
                if r is None or r[kind] is None:
                    cells.append(f"{'-':>16s}")
                else:
                    cells.append(f"{r[kind]['bdnn']:>8.4f}/{r[kind]['full']:.4f}")
            print(f"{n:8s} " + "".join(cells))
    print("\nfit seconds: " + ", ".join(f"{r[0]}@{r[1]}={r[4]:.1f}" for r in rows))


def time_only(args):
    """One UH-BDNN fit on the 60,000 x 784 training set at 32 bits, timed.

    ``--time-max-iter`` alternations (default 20, with early stopping) of
    ``--time-lbfgs-iter`` L-BFGS iterations (default 400): the default fit.
    Then the mAP of the ``--n-query`` test queries (Euclidean top-K), and ITQ
    at the same length for comparison.
    """
    import torch

    from skhash import ITQ
    from skhash.datasets import euclidean_ground_truth
    from skhash.deep import UHBDNN

    torch.set_num_threads(args.threads)
    Xtr, _, Xte, _ = load(args.n_train, args.n_query, args.seed)
    print(f"load average before: {os.getloadavg()}", flush=True)
    est = UHBDNN(
        32,
        max_iter=args.time_max_iter,
        lbfgs_max_iter=args.time_lbfgs_iter,
        solver=args.solver,
        device=args.device,
        random_state=args.seed,
        verbose=1,
    )
    t0, c0 = time.perf_counter(), time.process_time()
    est.fit(Xtr)
    total, cpu = time.perf_counter() - t0, time.process_time() - c0
    print(
        f"UH-BDNN 32 bits on {Xtr.shape}: fit {total:.1f} s wall, {cpu:.1f} s CPU "
        f"(pre-training + {est.n_iter_} alternations, best {est.best_iteration_}, "
        f"at most {args.time_lbfgs_iter} L-BFGS iterations per step; "
        f"device {args.device}, threads {args.threads}); "
        f"load average after: {os.getloadavg()}",
        flush=True,
    )
    gt = euclidean_ground_truth(Xte, Xtr, args.k)
    itq = ITQ(32, random_state=args.seed).fit(Xtr)
    for name, e in [("UH-BDNN", est), ("ITQ", itq)]:
        euc = scores(e.transform(Xte), e.transform(Xtr), gt=gt)
        print(
            f"{name:8s} 32 bits, {len(Xte)} queries vs {len(Xtr)}: euclid "
            f"bdnn {euc['bdnn']:.4f} full {euc['full']:.4f}",
            flush=True,
        )


def time_evaluation(args):
    """One objective-and-gradient evaluation and one DCC B-step at 32 bits.

    The (W, c)-step objective of UH-BDNN on the training set through plain
    autograd (:func:`encode_torch`) and through the hand-written encoder
    (:class:`_Encoder`, dense and sparse-input products), best of 3.
    """
    import torch

    from skhash._kernels.dcc import dcc
    from skhash.deep import losses as T
    from skhash.deep._bdnn import encode_fast, encode_torch, sparse_copy

    torch.set_num_threads(args.threads)
    Xtr, _, _, _ = load(args.n_train, 1, args.seed)
    m, D = Xtr.shape
    L, (h1, h2) = 32, (120, 50)
    g = torch.Generator().manual_seed(args.seed)
    shapes = [(h1, D), (h1,), (h2, h1), (h2,), (L, h2), (L,)]
    params = [(0.05 * torch.randn(*s, generator=g)).requires_grad_() for s in shapes]
    B = torch.where(torch.randn(m, L, generator=g) >= 0, 1.0, -1.0).double()
    Xt = torch.as_tensor(Xtr)
    Xs = sparse_copy(Xtr, "cpu")

    def evaluate(encode):
        for p in params:
            p.grad = None
        H = encode().double()
        J = (
            1e-5 * T.weight_decay_term([p.double() for p in params[::2]])
            + 5e-2 * T.equality_term(H, B)
            + 1e-2 * T.independence_term(H)
            + 5e-7 * T.balance_term(H)
        )
        J.backward()

    def best(calls):
        """Best of 3 wall-clock times of each call, the calls in turn."""
        _, seconds = time_alternating(calls, 3, warmup=False)
        return {name: min(s) for name, s in seconds.items()}

    print(f"{Xtr.shape}, threads {args.threads}, load {os.getloadavg()}")
    encoders = {
        "autograd": lambda: encode_torch(Xt, params),
        "hand-written dense": lambda: encode_fast(Xt, params),
        "hand-written sparse": lambda: encode_fast(Xt, params, Xs),
    }
    seconds = best({name: (lambda e=e: evaluate(e)) for name, e in encoders.items()})
    for name, s in seconds.items():
        print(f"evaluation, {name:20s}: {s:.3f} s")
    rng = np.random.default_rng(args.seed)
    W4 = rng.standard_normal((D, L)) * 0.1
    Q = Xtr.astype(np.float64) @ W4
    B0 = B.numpy()
    s = best({"dcc": lambda: dcc(B0, Q, W4.T @ W4, 10)})["dcc"]
    print(f"DCC B-step, 10 sweeps: {s:.3f} s")


def compare_solvers(args):
    """Objective reached and time of one pre-training step per solver."""
    import torch

    from skhash.deep import UHBDNN

    torch.set_num_threads(args.threads)
    Xtr, _, _, _ = load(args.n_train, 1, args.seed)
    for solver in ["lbfgs-torch", "lbfgs-scipy"]:
        for it in [50, 100, 200]:
            est = UHBDNN(
                32,
                max_iter=0,
                lbfgs_max_iter=it,
                solver=solver,
                random_state=args.seed,
            )
            t0 = time.perf_counter()
            est.fit(Xtr)
            print(
                f"{solver:12s} {it:4d} iterations: objective "
                f"{est.loss_curve_[0]:.6f}  {time.perf_counter() - t0:6.1f} s",
                flush=True,
            )


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--dataset", default="mnist", choices=["mnist", "cifar10-gist"])
    p.add_argument(
        "--gist-cache",
        default=None,
        help="cifar10-gist: .npy of the 60,000 GIST-512 rows (made when missing)",
    )
    p.add_argument("--n-train", type=int, default=60000)
    p.add_argument("--n-query", type=int, default=10000)
    p.add_argument("--bits", type=int, nargs="+", default=[8, 16, 24, 32])
    p.add_argument("--k", type=int, default=50)
    p.add_argument("--max-iter", type=int, default=20)
    p.add_argument("--lbfgs-max-iter", type=int, default=400)
    p.add_argument("--solver", default="lbfgs-torch")
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--device", default="cpu")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--verbose", type=int, default=0)
    p.add_argument("--skip-sup", action="store_true")
    p.add_argument(
        "--methods",
        nargs="+",
        default=None,
        help="only these rows (UH-BDNN ITQ PCAH SH LSH SH-BDNN SDH)",
    )
    p.add_argument("--time-only", action="store_true")
    p.add_argument("--time-lbfgs-iter", type=int, default=400)
    p.add_argument("--time-max-iter", type=int, default=20)
    p.add_argument("--compare-solvers", action="store_true")
    p.add_argument("--time-evaluation", action="store_true")
    args = p.parse_args()
    if args.time_only:
        time_only(args)
    elif args.time_evaluation:
        time_evaluation(args)
    elif args.compare_solvers:
        compare_solvers(args)
    else:
        run_tables(args)


if __name__ == "__main__":
    main()
