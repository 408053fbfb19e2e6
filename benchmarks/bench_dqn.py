"""DQN against PQ/OPQ and Hamming hashers on labelled MNIST / Fashion-MNIST.

The DQN paper's protocol (Cao et al., AAAI 2016) on pixels: the
``"<dataset>-dnnh"`` split of :func:`skhash.datasets.retrieval_split`
(``random_state=0``) over all 70,000 images: 1,000 queries (100 per class),
5,000 training images (500 per class), the database is every non-query
(69,000 images, training images included). Pixels are scaled to [0, 1].
Every method is trained on the 5,000 training images only (DQN and the deep
hashers with their labels) and encodes the database; relevance = same label;
mAP over the full ranking of the database, ties by database index.

* DQN, PQ, OPQ: codes of 256 codewords per subspace (``n_bits / 8``
  subspaces), ranked by asymmetric distance with
  :class:`~skhash.quantization.QuantizedNeighbors` (the query is not
  quantized: ADC for PQ/OPQ on pixels, AQD on DQN's tanh bottleneck).
* ITQ, LSH (and DSH, HashNet with ``--methods``): binary codes ranked by
  Hamming distance with :class:`~skhash.HammingNeighbors`.

DQN and the deep hashers use the default MLP backbone (one hidden layer of
``--hidden`` units), Adam, ``--epochs`` epochs, batch 64; DQN's bottleneck is
R = 300 with lambda = 1e-4 after the first codebook refresh (every 2 epochs).
``--datasets cifar10``: the ``"cifar10-dnnh"`` split of all 60,000 CIFAR-10
images (JPEG q75 copy; 1,000 queries / 5,000 training / 59,000 database).
DQN is trained end to end through the small CNN of DSH
(:class:`~skhash.deep.DSHConvNet`, training-mean image subtracted, / 255)
for ``--cnn-epochs`` epochs; PQ, OPQ, ITQ, LSH run on GIST-512 features
(``--gist-cache``, written by ``bench_cifar10_gist_baselines.py --cache``)
and, for ``--pixels-methods``, on the raw pixels scaled to [0, 1].

One JSON line is printed per result, then the table. Examples::

    OPENBLAS_NUM_THREADS=1 python benchmarks/bench_dqn.py \\
        --datasets mnist fashion-mnist --bits 8 16 24 32
    OPENBLAS_NUM_THREADS=1 python benchmarks/bench_dqn.py --datasets cifar10 \\
        --methods DQN PQ OPQ ITQ --cnn-epochs 4
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

sys.path.insert(0, str(Path(__file__).resolve().parent))

from skhash import ITQ, LSH  # noqa: E402
from skhash.datasets import retrieval_split  # noqa: E402
from skhash.quantization import OPQ, PQ  # noqa: E402

from _common import (  # noqa: E402
    cifar10_chw,
    default_data_home,
    label_map,
    load_dataset,
    mean_centred,
    print_table,
)

QUANTIZERS = ("DQN", "PQ", "OPQ")
DEEP_HASHERS = ("DSH", "HashNet")


def make(method, n_bits, args):
    if method == "PQ":
        return PQ(n_bits=n_bits, random_state=0)
    if method == "OPQ":
        return OPQ(n_bits=n_bits, random_state=0)
    if method == "ITQ":
        return ITQ(n_bits=n_bits, random_state=0)
    if method == "LSH":
        return LSH(n_bits=n_bits, random_state=0)
    import skhash.deep as deep

    params = dict(
        n_bits=n_bits,
        hidden_layer_sizes=tuple(args.hidden),
        max_epochs=args.epochs,
        lr=args.lr,
        batch_size=64,
        random_state=0,
    )
    if method == "DQN":
        return deep.DQN(bottleneck=args.bottleneck, **params)
    return getattr(deep, method)(**params)


def _fit_score(method, est, Xtr, ytr, Xq, yq, Xdb, ydb, args):
    t0 = time.perf_counter()
    if method in QUANTIZERS or method in DEEP_HASHERS:
        est.fit(Xtr, ytr)
    else:
        est.fit(Xtr)
    fit_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    # The protocol trains on the 5,000 training images: a quantizer, frozen,
    # only encodes the database and ranks by ADC/AQD.
    m = label_map(est, Xq, yq, Xdb, ydb, quantizer=method in QUANTIZERS)
    return m, round(fit_s, 1), round(time.perf_counter() - t0, 1)


def run_cifar10(args):
    """CIFAR-10 (JPEG q75 copy), ``cifar10-dnnh`` split: DQN through the small
    CNN of DSH (:class:`~skhash.deep.DSHConvNet`) on the images; PQ, OPQ, ITQ,
    LSH on GIST-512 features (``--gist-cache``) and on raw pixels."""
    from skhash.deep import DQN, DSHConvNet

    X, y, _ = cifar10_chw(args.data_home)
    split = retrieval_split(y, protocol="cifar10-dnnh", random_state=0)
    parts = {"train": split.train, "query": split.query, "database": split.database}
    print(
        f"# cifar10: {len(split.query)} queries, {len(split.train)} training, "
        f"{len(split.database)} database",
        flush=True,
    )
    feats = {}
    if "DQN" in args.methods:
        # bench_deep.py's preparation: training-mean image subtracted, / 255
        prep = mean_centred(X, split.train)
        feats["images"] = {k: prep(v) for k, v in parts.items()}
    shallow = [m for m in args.methods if m != "DQN"]
    if shallow and "gist" in args.cifar_features:
        G = np.load(Path(args.gist_cache) / "cifar10_jpeg_gist512.npy")
        feats["gist"] = {k: G[v].astype(np.float32) for k, v in parts.items()}
    if shallow and "pixels" in args.cifar_features:
        feats["pixels"] = {k: X[v].astype(np.float32) / 255.0 for k, v in parts.items()}
    rows = []
    for n_bits in args.bits:
        for method in args.methods:
            if method == "DQN":
                if args.threads:
                    torch.set_num_threads(args.threads)
                est = DQN(
                    n_bits=n_bits,
                    bottleneck=args.bottleneck,
                    backbone=DSHConvNet(),
                    input_shape=(3, 32, 32),
                    max_epochs=args.cnn_epochs,
                    lr=args.lr,
                    batch_size=64,
                    random_state=0,
                )
                on = ["images"]
            else:
                est = None
                on = [
                    f
                    for f in args.cifar_features
                    if f in feats and (f != "pixels" or method in args.pixels_methods)
                ]
            for feat in on:
                if est is None or feat != on[0]:
                    est = make(method, n_bits, args)
                F = feats[feat]
                m, fit_s, eval_s = _fit_score(
                    method,
                    est,
                    F["train"],
                    y[split.train],
                    F["query"],
                    y[split.query],
                    F["database"],
                    y[split.database],
                    args,
                )
                row = dict(
                    dataset="cifar10",
                    bits=n_bits,
                    method=method,
                    input="CNN on images" if method == "DQN" else feat,
                    search="ADC" if method in QUANTIZERS else "Hamming",
                    mAP=m,
                    fit_s=fit_s,
                    eval_s=eval_s,
                    load=round(os.getloadavg()[0], 1),
                )
                rows.append(row)
                print(json.dumps(row), flush=True)
    return rows


def run(args):
    if args.threads:
        torch.set_num_threads(args.threads)
    rows = []
    for name in args.datasets:
        if name == "cifar10":
            rows += run_cifar10(args)
            continue
        X, y = load_dataset(name, "all", data_home=args.data_home)
        X = X.astype(np.float32) / 255.0
        y = np.asarray(y)
        split = retrieval_split(y, protocol=f"{name}-dnnh", random_state=0)
        Xtr, ytr = X[split.train], y[split.train]
        Xq, yq = X[split.query], y[split.query]
        Xdb, ydb = X[split.database], y[split.database]
        print(
            f"# {name}: {len(yq)} queries, {len(ytr)} training, {len(ydb)} database",
            flush=True,
        )
        for n_bits in args.bits:
            for method in args.methods:
                est = make(method, n_bits, args)
                m, fit_s, eval_s = _fit_score(
                    method, est, Xtr, ytr, Xq, yq, Xdb, ydb, args
                )
                row = dict(
                    dataset=name,
                    bits=n_bits,
                    method=method,
                    input="pixels",
                    search="ADC" if method in QUANTIZERS else "Hamming",
                    mAP=m,
                    fit_s=fit_s,
                    eval_s=eval_s,
                    load=round(os.getloadavg()[0], 1),
                )
                rows.append(row)
                print(json.dumps(row), flush=True)
    return rows


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--data-home", default=default_data_home())
    p.add_argument("--datasets", nargs="+", default=["mnist", "fashion-mnist"])
    p.add_argument("--bits", nargs="+", type=int, default=[8, 16, 24, 32])
    p.add_argument("--methods", nargs="+", default=["DQN", "PQ", "OPQ", "ITQ", "LSH"])
    p.add_argument("--epochs", type=int, default=20)
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument("--hidden", nargs="+", type=int, default=[256])
    p.add_argument("--bottleneck", type=int, default=300)
    p.add_argument("--threads", type=int, default=1, help="torch threads")
    p.add_argument(
        "--cnn-epochs", type=int, default=4, help="DQN epochs on CIFAR-10 (CNN)"
    )
    p.add_argument(
        "--cifar-features",
        nargs="+",
        default=["gist", "pixels"],
        help="inputs of the shallow methods on CIFAR-10",
    )
    p.add_argument(
        "--pixels-methods",
        nargs="+",
        default=["PQ", "ITQ", "LSH"],
        help="shallow methods also run on CIFAR-10 pixels (OPQ left out by "
        "default: 3072-d Procrustes SVDs)",
    )
    p.add_argument(
        "--gist-cache",
        default="/tmp/gist",
        help="folder of cifar10_jpeg_gist512.npy (bench_cifar10_gist_baselines.py "
        "--cache)",
    )
    args = p.parse_args(argv)
    print(
        f"python {platform.python_version()}, numpy {np.__version__}, torch "
        f"{torch.__version__}, {platform.processor() or platform.machine()}",
        flush=True,
    )
    rows = run(args)
    print_table(
        rows,
        ["dataset", "bits", "method", "input", "search", "mAP", "fit_s", "eval_s"],
        title="mAP (label ground truth, full ranking)",
    )


if __name__ == "__main__":
    main()
