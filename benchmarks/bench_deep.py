"""Deep supervised hashers (DSH, DHN, HashNet, DNNH) against shallow baselines.

Three experiments, each printing a table:

* ``pixels``: the default MLP backbone on MNIST / Fashion-MNIST pixels (scaled
  to [0, 1]) under the DNNH-style protocol (``"<dataset>-dnnh"``: 100 queries
  and 500 training images per class, the database every non-query), against
  LSH, ITQ and, where they exist, SDH and SH-BDNN. Full-ranking mAP (stable
  ties, ``HammingNeighbors.score``) and precision within Hamming radius 2.
* ``cifar10-dsh``: DSH with the paper's small CNN (:class:`DSHConvNet`) on the
  50,000 CIFAR-10 training images; the 10,000 test images are the queries and
  the database (self-match included, as in the authors' evaluation script).
  The other code lengths fine-tune the backbone of the first one with a new
  code layer, as the paper does.
* ``cifar10-dnnh``: the same CNN with DSH, DHN, HashNet and DNNH under the
  ``"cifar10-dnnh"`` protocol (1,000 queries / 5,000 training / the rest as
  database).
* ``throughput``: training and encoding samples/s of the DSH CNN on random
  images (no data needed), against the first version of the network (torch's
  ``LocalResponseNorm``, NCHW memory), and end to end through skorch.

Every row reports the training throughput (training samples processed per
second, from skorch's epoch timer). Examples::

    python benchmarks/bench_deep.py pixels --datasets mnist fashion-mnist
    python benchmarks/bench_deep.py cifar10-dsh --bits 12 48 --epochs 3 \\
        --finetune-epochs 1
    python benchmarks/bench_deep.py cifar10-dnnh --bits 12 48 --epochs 10
    python benchmarks/bench_deep.py throughput --batch-size 200

Data come from ``$SKHASH_DATA`` or ``<repo>/../shared/data``.
"""

import argparse
import json
import os
import platform
import sys
import time
from pathlib import Path

import numpy as np
import torch
from skorch.callbacks import Callback

sys.path.insert(0, str(Path(__file__).resolve().parent))

from skhash import ITQ, LSH, HammingNeighbors, pack_bits  # noqa: E402
from skhash.datasets import retrieval_split  # noqa: E402
from skhash.deep import DHN, DNNH, DSH, DSHConvNet, HashNet  # noqa: E402
from skhash.metrics import precision_within_radius  # noqa: E402

from _common import (  # noqa: E402
    cifar10_chw,
    default_data_home,
    load_dataset,
    mean_centred,
    print_table,
    time_alternating,
    write_json,
)

T0 = time.perf_counter()
DEEP = {"DSH": DSH, "DHN": DHN, "HashNet": HashNet, "DNNH": DNNH}
PUBLISHED_DSH = {12: 0.6157, 48: 0.6755}  # DSH paper (CVPR 2016), as re-quoted
PUBLISHED_DNNH_PROTOCOL = {  # DHN paper (AAAI 2016), CIFAR-10 table
    "DHN": {12: 0.555, 24: 0.594, 32: 0.603, 48: 0.621},
    "DNNH": {12: 0.552, 24: 0.566, 32: 0.558, 48: 0.581},
    "ITQ": {12: 0.162, 24: 0.169, 32: 0.172, 48: 0.175},
    "LSH": {12: 0.121, 24: 0.126, 32: 0.120, 48: 0.120},
}


def evaluate(codes_q, y_q, codes_db, y_db):
    nn = HammingNeighbors().fit(codes_db, y_db)
    m = nn.score(codes_q, y_q)
    dist, ind = nn.radius_neighbors(codes_q, radius=2)
    p2 = precision_within_radius(y_q, y_db, dist, ind, radius=2)
    return float(m), float(p2)


def _pin_threads(args):
    # Re-applied before every fit: the search step's thread context (numba /
    # OpenMP, shared with torch) was seen to leave torch at 2 threads again.
    if args.threads:
        torch.set_num_threads(args.threads)


class EpochMAP(Callback):
    """Full-ranking mAP on held-out images after every training epoch.

    Runs after skorch's epoch timer, so the evaluation is not counted in the
    epoch's ``dur`` (nor in the ``samples/s`` figures); records ``test_mAP``
    and ``test_P_r2`` in the history and prints one JSON line per epoch.
    ``evaluate`` maps the module (in eval mode) to ``(mAP, P@r=2)``; a
    function is shared, not copied, when the estimator deep-copies callbacks.
    """

    def __init__(self, evaluate, label):
        self.evaluate = evaluate
        self.label = label

    def on_epoch_end(self, net, **kwargs):
        t0 = time.perf_counter()
        module = net.module_
        was_training = module.training
        module.eval()
        try:
            m, p2 = self.evaluate(module)
        finally:
            module.train(was_training)
        net.history.record("test_mAP", m)
        net.history.record("test_P_r2", p2)
        print(
            json.dumps(
                dict(
                    run=self.label,
                    epoch=len(net.history),
                    mAP=round(m, 4),
                    P_r2=round(p2, 4),
                    train_loss=round(float(net.history[-1, "train_loss"]), 4),
                    epoch_s=round(net.history[-1, "dur"], 1),
                    eval_s=round(time.perf_counter() - t0, 1),
                    load=round(os.getloadavg()[0], 1),
                )
            ),
            flush=True,
        )


def encode_module(module, X, step=1000):
    """Packed sign codes (bit = decision >= 0) of ``X`` by a module in eval mode."""
    out = []
    with torch.no_grad():
        for start in range(0, X.shape[0], step):
            xb = torch.from_numpy(X[start : start + step])
            out.append(module.decision(xb).numpy())
    return pack_bits(np.concatenate(out, axis=0))


def throughput(est, n_train):
    """Training samples per second over all epochs (skorch's epoch timer)."""
    seconds = sum(row["dur"] for row in est.net_.history)
    return n_train * len(est.net_.history) / seconds, seconds


def _shallow_methods(names):
    import skhash.linear as linear

    out = {"LSH": lambda b: LSH(n_bits=b, random_state=0)}
    out["ITQ"] = lambda b: ITQ(n_bits=b, random_state=0)
    if "SDH" in names and hasattr(linear, "SDH"):
        out["SDH"] = lambda b: linear.SDH(n_bits=b, random_state=0)
    if "SHBDNN" in names:
        import skhash.deep as deep

        if hasattr(deep, "SHBDNN"):
            out["SHBDNN"] = lambda b: deep.SHBDNN(n_bits=b, random_state=0)
    return {k: v for k, v in out.items() if k in names}


def run_pixels(args):
    rows = []
    for name in args.datasets:
        X, y = load_dataset(name, "all", data_home=args.data_home)
        X = X.astype(np.float32) / 255.0
        split = retrieval_split(y, protocol=f"{name}-dnnh", random_state=0)
        Xtr, ytr = X[split.train], y[split.train]
        shallow = _shallow_methods(args.methods)
        for n_bits in args.bits:
            for method in args.methods:
                t0 = time.perf_counter()
                if method in DEEP:
                    _pin_threads(args)
                    est = DEEP[method](
                        n_bits=n_bits,
                        hidden_layer_sizes=tuple(args.hidden),
                        max_epochs=args.epochs,
                        lr=args.lr,
                        batch_size=args.batch_size,
                        random_state=0,
                    ).fit(Xtr, ytr)
                    sps, _ = throughput(est, len(ytr))
                elif method in shallow:
                    est = shallow[method](n_bits).fit(Xtr, ytr)
                    sps = None
                else:
                    continue
                fit_s = time.perf_counter() - t0
                m, p2 = evaluate(
                    est.transform(X[split.query]),
                    y[split.query],
                    est.transform(X[split.database]),
                    y[split.database],
                )
                rows.append(
                    dict(
                        dataset=name,
                        method=method,
                        bits=n_bits,
                        mAP=m,
                        P_r2=p2,
                        fit_s=round(fit_s, 1),
                        samples_per_s=None if sps is None else round(sps),
                    )
                )
                print(json.dumps(rows[-1]), flush=True)
    return rows, ["dataset", "method", "bits", "mAP", "P_r2", "fit_s", "samples_per_s"]


def _cifar_images(args):
    return cifar10_chw(args.data_home)


def _cnn_hasher(cls, n_bits, args, backbone=None, epochs=None, callbacks=None):
    _pin_threads(args)
    return cls(
        n_bits=n_bits,
        backbone=DSHConvNet() if backbone is None else backbone,
        input_shape=(3, 32, 32),
        max_epochs=args.epochs if epochs is None else epochs,
        lr=args.lr,
        batch_size=args.batch_size,
        device=args.device,
        callbacks=callbacks,
        random_state=0,
        verbose=args.verbose,
    )


def run_cifar10_dsh(args):
    X, y, part = _cifar_images(args)
    split = retrieval_split(y, protocol="cifar10-dsh", split=part)
    Xtr = X[split.train].astype(np.float32)
    mean = Xtr.mean(axis=0)  # the paper's mean-image subtraction
    Xtr -= mean
    Xtr /= 255.0
    Xte = (X[split.query].astype(np.float32) - mean) / 255.0
    ytr, yte = y[split.train], y[split.query]
    print(f"data ready: {time.perf_counter() - T0:.0f} s", flush=True)

    def test_map(module):
        codes = encode_module(module, Xte)
        return evaluate(codes, yte, codes, yte)

    rows, first = [], None
    for n_bits in args.bits:
        cbs = [EpochMAP(test_map, f"DSH-{n_bits}")] if args.eval_each_epoch else None
        if first is None:
            est = _cnn_hasher(DSH, n_bits, args, callbacks=cbs).fit(Xtr, ytr)
            first = est
            epochs, how = args.epochs, "from scratch"
        else:
            backbone = first.net_.module_.backbone
            est = _cnn_hasher(
                DSH,
                n_bits,
                args,
                backbone=backbone,
                epochs=args.finetune_epochs,
                callbacks=cbs,
            ).fit(Xtr, ytr)
            epochs, how = args.finetune_epochs, f"fine-tuned from {args.bits[0]}"
        sps, seconds = throughput(est, len(ytr))
        codes = est.transform(Xte)
        m, p2 = evaluate(codes, yte, codes, yte)
        rows.append(
            dict(
                method="DSH",
                bits=n_bits,
                mAP=m,
                paper=PUBLISHED_DSH.get(n_bits),
                P_r2=p2,
                epochs=epochs,
                training=how,
                train_s=round(seconds),
                samples_per_s=round(sps),
                load=round(os.getloadavg()[0], 1),
            )
        )
        if args.eval_each_epoch:
            rows[-1]["curve"] = [round(h["test_mAP"], 4) for h in est.net_.history]
        print(json.dumps(rows[-1]), flush=True)
    cols = ["method", "bits", "mAP", "paper", "P_r2", "epochs", "training"]
    return rows, cols + ["train_s", "samples_per_s", "load"]


def run_cifar10_dnnh(args):
    X, y, _ = _cifar_images(args)
    split = retrieval_split(y, protocol="cifar10-dnnh", random_state=0)
    prep = mean_centred(X, split.train)

    Xtr, ytr = prep(split.train), y[split.train]
    Xq, yq = prep(split.query), y[split.query]
    Xdb, ydb = prep(split.database), y[split.database]
    print(f"data ready: {time.perf_counter() - T0:.0f} s", flush=True)
    rows = []
    for n_bits in args.bits:
        for method in args.methods:
            t0 = time.perf_counter()
            if method in DEEP:
                est = _cnn_hasher(DEEP[method], n_bits, args).fit(Xtr, ytr)
                sps, _ = throughput(est, len(ytr))
            elif method in ("LSH", "ITQ"):
                est = _shallow_methods([method])[method](n_bits).fit(Xtr, ytr)
                sps = None
            else:
                continue
            fit_s = time.perf_counter() - t0
            m, p2 = evaluate(est.transform(Xq), yq, est.transform(Xdb), ydb)
            rows.append(
                dict(
                    method=method,
                    bits=n_bits,
                    mAP=m,
                    paper=PUBLISHED_DNNH_PROTOCOL.get(method, {}).get(n_bits),
                    P_r2=p2,
                    fit_s=round(fit_s),
                    eval_s=round(time.perf_counter() - t0 - fit_s),
                    samples_per_s=None if sps is None else round(sps),
                    load=round(os.getloadavg()[0], 1),
                )
            )
            print(json.dumps(rows[-1]), flush=True)
    cols = ["method", "bits", "mAP", "paper", "P_r2", "fit_s", "eval_s"]
    return rows, cols + ["samples_per_s", "load"]


class _NCHWTorchLRN(torch.nn.Module):
    """DSHConvNet as first written: torch's LocalResponseNorm, NCHW memory."""

    def __init__(self, net):
        super().__init__()
        from skhash.deep._modules import _CrossChannelLRN

        layers = [
            torch.nn.LocalResponseNorm(m.size, m.alpha, m.beta, m.k)
            if isinstance(m, _CrossChannelLRN)
            else m
            for m in net.features
        ]
        self.features = torch.nn.Sequential(*layers)
        self.fc = net.fc

    def forward(self, x):
        return self.fc(torch.flatten(self.features(x), 1))


def run_throughput(args):
    """Samples/s of the DSH CNN (batch ``--batch-size``, random 32x32 images)."""
    from skhash.deep import HashHead, HashingNetwork
    from skhash.deep.losses import DSHLoss

    B, n_iter, n_warmup = args.batch_size, 8, 2
    g = torch.Generator().manual_seed(0)
    X = torch.randn(B, 3, 32, 32, generator=g)
    y = torch.randint(0, 10, (B,), generator=g)
    rows = []
    for variant in ["torch LRN, NCHW", "DSHConvNet (sliced LRN, channels-last)"]:
        torch.manual_seed(0)
        backbone = DSHConvNet()
        if variant.startswith("torch"):
            backbone = _NCHWTorchLRN(backbone)
        net = HashingNetwork(backbone, HashHead(500, 12))
        opt = torch.optim.Adam(net.parameters(), lr=1e-3)
        crit = DSHLoss()

        def train(net=net, opt=opt, crit=crit):
            opt.zero_grad()
            crit(net(X), y).backward()
            opt.step()

        def encode(net=net):
            with torch.no_grad():
                net.eval()
                net.decision(X)
                net.train()

        for step, f in (
            ("train (fwd+bwd+Adam)", train),
            ("encode (fwd, eval)", encode),
        ):
            # two warm-up steps, then the timed ones
            _, times = time_alternating(
                {step: f},
                n_iter - n_warmup,
                warmup={step: lambda f=f: [f() for _ in range(n_warmup)]},
            )
            rows.append(
                dict(
                    network=variant,
                    step=step,
                    samples_per_s=round(B / float(np.median(times[step]))),
                    load=round(os.getloadavg()[0], 1),
                )
            )
            print(json.dumps(rows[-1]), flush=True)
    # End to end through skorch (data loader, callbacks): 2,000 samples.
    Xf = np.random.default_rng(0).normal(size=(2000, 3072)).astype(np.float32)
    yf = np.random.default_rng(1).integers(0, 10, 2000)
    args.epochs = 1
    est = _cnn_hasher(DSH, 12, args).fit(Xf, yf)
    rows.append(
        dict(
            network="DSH(backbone=DSHConvNet()).fit, skorch",
            step="train (epoch timer)",
            samples_per_s=round(throughput(est, len(yf))[0]),
            load=round(os.getloadavg()[0], 1),
        )
    )
    print(json.dumps(rows[-1]), flush=True)
    return rows, ["network", "step", "samples_per_s", "load"]


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument(
        "experiment", choices=["pixels", "cifar10-dsh", "cifar10-dnnh", "throughput"]
    )
    p.add_argument("--datasets", nargs="+", default=["mnist", "fashion-mnist"])
    p.add_argument("--methods", nargs="+", default=[*DEEP, "ITQ", "LSH"])
    p.add_argument("--bits", nargs="+", type=int, default=[12, 24, 32, 48])
    p.add_argument("--epochs", type=int, default=50)
    p.add_argument("--finetune-epochs", type=int, default=1)
    p.add_argument("--hidden", nargs="+", type=int, default=[512])
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument("--batch-size", type=int, default=128)
    p.add_argument("--device", default="cpu")
    # One intra-op thread: on a loaded machine more threads spin-wait (measured
    # 20x slower with 2 threads on the shared 2-core box).
    p.add_argument("--threads", type=int, default=1)
    p.add_argument(
        "--eval-each-epoch",
        action="store_true",
        help="cifar10-dsh: test mAP after every epoch (a learning curve; untimed)",
    )
    p.add_argument("--verbose", type=int, default=0)
    p.add_argument("--data-home", default=default_data_home())
    p.add_argument("--json", default=None, help="also write the rows here")
    args = p.parse_args(argv)
    _pin_threads(args)
    print(f"load average at start: {os.getloadavg()}", flush=True)
    runner = {
        "pixels": run_pixels,
        "cifar10-dsh": run_cifar10_dsh,
        "cifar10-dnnh": run_cifar10_dnnh,
        "throughput": run_throughput,
    }[args.experiment]
    rows, cols = runner(args)
    machine = (
        torch.cuda.get_device_name(0)
        if args.device.startswith("cuda")
        else f"{platform.processor() or platform.machine()}, "
        f"{args.threads or torch.get_num_threads()} torch thread(s) for training"
    )
    title = (
        f"{args.experiment}: {' '.join(sys.argv[1:])} | {machine} | "
        f"total {time.perf_counter() - T0:.0f} s, load average at end "
        f"{os.getloadavg()[0]:.1f}"
    )
    print()
    print_table(rows, cols, title=title)
    if args.json:
        write_json(args.json, {"title": title, "rows": rows})


if __name__ == "__main__":
    main()
