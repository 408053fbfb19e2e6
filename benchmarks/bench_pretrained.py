"""Hashing on ImageNet-pretrained CNN features: the CIFAR-10 deep-hashing tables.

The images of the CIFAR-10 JPEG q75 copy go once through
:class:`skhash.features.PretrainedFeatures` (EfficientNet-Lite0, 128 px, pooled
1280-D features; cached in ``--cache-dir``), then every method learns its codes
from those frozen features:

* ``dnnh``: the ``"cifar10-dnnh"`` protocol of DNNH, DHN and DQN (1,000
  queries, 100 per class; 5,000 training images, 500 per class; the 59,000
  non-queries are the database). Deep hashers (DHN, HashNet, DNNH, DSH, DQN)
  train a hash head (``StandardScaler`` -> MLP -> code layer) on the features;
  ITQ, SDH, KSH, SH-BDNN, PQ and OPQ run on the same features.
* ``dsh``: DSH's own protocol (``"cifar10-dsh"``: train on the 50,000 training
  images, the 10,000 test images are the queries and the database).
* ``finetune``: DHN and HashNet (``--methods``) fine-tune the whole network
  on the 5,000 training images of ``cifar10-dnnh`` (``backbone=
  "efficientnet_lite0"``: the pretrained trunk at 1/10 of the learning rate,
  random crop + flip), then encode the 60,000 images through it. CPU-hungry:
  about 4 minutes per epoch and 15 minutes of encoding at 128 px.
* ``probe``: the check that the weights carry ImageNet's knowledge: logistic
  regression on 1,000 training images' features, scored on 1,000 others, for
  the pretrained network and for the same network randomly initialised.
* ``shbdnn``: SH-BDNN against SDH in the setting of the SH-BDNN authors' demo
  (PCA-800 features; SH-BDNN on 3,000 training images per class, SDH on all
  50,000 and on the same subset; the 10,000 test images query the 50,000
  training images).

mAP is the full-ranking, non-interpolated mAP (ties in database order) of
:meth:`skhash.HammingNeighbors.score`, or of
:class:`skhash.QuantizedNeighbors` (asymmetric distances) for PQ, OPQ and DQN.
Examples::

    python benchmarks/bench_pretrained.py dnnh
    python benchmarks/bench_pretrained.py dnnh --methods DHN HashNet --bits 48
    python benchmarks/bench_pretrained.py dsh --bits 12 48
    python benchmarks/bench_pretrained.py finetune --bits 48 --epochs 2
    python benchmarks/bench_pretrained.py probe
    python benchmarks/bench_pretrained.py shbdnn --bits 16

Data come from ``$SKHASH_DATA`` or ``<repo>/../shared/data``; the first run
computes the features (about 20 minutes at 128 px on 2 quiet cores).
"""

import argparse
import ast
import json
import os
import sys
import time
from pathlib import Path

import numpy as np
import torch
from sklearn.decomposition import PCA
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

sys.path.insert(0, str(Path(__file__).resolve().parent))

from skhash import ITQ, KSH, OPQ, PQ, SDH, SHBDNN, HammingNeighbors  # noqa: E402
from skhash.datasets import retrieval_split  # noqa: E402
from skhash.deep import DHN, DNNH, DQN, DSH, HashNet  # noqa: E402

from _common import (  # noqa: E402
    cifar10_pretrained,
    default_data_home,
    label_map,
    print_table,
    write_json,
)

DEEP = {"DHN": DHN, "HashNet": HashNet, "DNNH": DNNH, "DSH": DSH, "DQN": DQN}
QUANTIZERS = {"PQ", "OPQ", "DQN"}
SUPERVISED = set(DEEP) | {"SDH", "KSH", "SHBDNN"}
# The DHN paper's CIFAR-10 table (AAAI 2016; AlexNet, cifar10-dnnh protocol)
# and the DQN paper's (AAAI 2016; its lengths are 8/16/24/32 bits, low confidence).
PUBLISHED = {
    "DHN": {12: 0.555, 24: 0.594, 32: 0.603, 48: 0.621},
    "DNNH": {12: 0.552, 24: 0.566, 32: 0.558, 48: 0.581},
    "KSH": {12: 0.303, 24: 0.337, 32: 0.346, 48: 0.356},
    "ITQ": {12: 0.162, 24: 0.169, 32: 0.172, 48: 0.175},
    "DQN": {8: 0.554, 16: 0.558, 24: 0.564, 32: 0.580},
}
# The DSH paper (CVPR 2016), its own protocol.
PUBLISHED_DSH = {12: 0.6157, 24: 0.6512, 36: 0.6607, 48: 0.6755}


def make(method, n_bits, args):
    """The estimator of one table cell (a pipeline when it scales the input)."""
    if method in DEEP:
        params = dict(
            n_bits=n_bits,
            hidden_layer_sizes=tuple(args.hidden),
            max_epochs=args.epochs,
            lr=args.lr,
            random_state=0,
        )
        params.update(args.param)
        if method == "DQN":
            # A quantizer, searched by QuantizedNeighbors: it gets the scaled
            # features directly (run_table), as a pipeline has no distance tables.
            params.update(n_clusters=256 if n_bits % 8 == 0 else 16)
            return DQN(**params)
        if args.unscaled:
            return DEEP[method](**params)
        return make_pipeline(StandardScaler(), DEEP[method](**params))
    if method == "ITQ":
        return ITQ(n_bits=n_bits, random_state=0)
    if args.pca and method in ("SDH", "SHBDNN"):
        # The SH-BDNN paper's input: CNN features projected by PCA (800-D in
        # the authors' demo), not standardised; SDH on the same input.
        cls = SDH if method == "SDH" else SHBDNN
        return make_pipeline(
            PCA(args.pca, random_state=0), cls(n_bits=n_bits, random_state=0)
        )
    if method == "SDH":
        return SDH(n_bits=n_bits, random_state=0)
    if method == "KSH":
        return KSH(n_bits=n_bits, random_state=0)
    if method == "SHBDNN":
        return make_pipeline(StandardScaler(), SHBDNN(n_bits=n_bits, random_state=0))
    if method in ("PQ", "OPQ"):
        k = 256 if n_bits % 8 == 0 else 16
        cls = PQ if method == "PQ" else OPQ
        return cls(n_bits=n_bits, n_clusters=k, random_state=0)
    raise ValueError(f"unknown method {method!r}")


def score(method, est, Xq, yq, Xdb, ydb):
    """Full-ranking mAP of the queries against the database."""
    return label_map(est, Xq, yq, Xdb, ydb, quantizer=method in QUANTIZERS)


def code_stats(est, X, n_bits):
    """How many distinct codes the database gets, and the range of bit means.

    Collapsed codes show as few distinct codes and bits far from balanced
    (a mean of 0.5 is a balanced bit).
    """
    bits = np.unpackbits(est.transform(X), axis=1)[:, :n_bits]
    means = bits.mean(axis=0)
    return dict(
        distinct=len(np.unique(bits, axis=0)),
        bit_mean_min=round(float(means.min()), 2),
        bit_mean_max=round(float(means.max()), 2),
    )


def _shown(rows):
    """Rows for printing: seconds and load with one decimal."""
    timed = ("fit_s", "eval_s", "encode_s", "load")
    return [{k: f"{v:.1f}" if k in timed else v for k, v in r.items()} for r in rows]


def run_table(args, X, y, protocol, split_seed=0):
    data_split = args._data.split if protocol == "cifar10-dsh" else None
    s = retrieval_split(y, protocol=protocol, split=data_split, random_state=split_seed)
    print(
        f"# {protocol}: {len(s.query)} queries, {len(s.train)} training, "
        f"{len(s.database)} database; features {X.shape[1]}-D",
        flush=True,
    )
    scaled = StandardScaler().fit(X[s.train]).transform(X).astype(np.float32)
    published = PUBLISHED_DSH if protocol == "cifar10-dsh" else None
    rows = []
    for method in args.methods:
        for n_bits in args.bits:
            if method == "DQN" and n_bits % 8 and n_bits % 4:
                continue
            torch.manual_seed(0)
            est = make(method, n_bits, args)
            Z = scaled if method == "DQN" and not args.unscaled else X
            Xtr, ytr = Z[s.train], y[s.train]
            Xq, yq, Xdb, ydb = Z[s.query], y[s.query], Z[s.database], y[s.database]
            t0 = time.perf_counter()
            est.fit(Xtr, ytr) if method in SUPERVISED else est.fit(Xtr)
            fit_s = time.perf_counter() - t0
            t0 = time.perf_counter()
            m = score(method, est, Xq, yq, Xdb, ydb)
            paper = (published or PUBLISHED.get(method, {})).get(n_bits)
            if published is not None and method != "DSH":
                paper = None
            row = dict(
                method=method,
                bits=n_bits,
                mAP=m,
                paper=paper,
                epochs=args.epochs if method in DEEP else None,
                input=f"pca{args.pca}"
                if args.pca and method in ("SDH", "SHBDNN")
                else "scaled"
                if (method in DEEP and not args.unscaled) or method == "SHBDNN"
                else "raw",
                fit_s=round(fit_s, 1),
                eval_s=round(time.perf_counter() - t0, 1),
                load=round(os.getloadavg()[0], 1),
            )
            if args.code_stats and method not in QUANTIZERS:
                row.update(code_stats(est, Xdb, n_bits))
            final = est[-1] if hasattr(est, "steps") else est
            if hasattr(final, "validation_scores_"):
                # SH-BDNN: alternations run and the validation mAP after each
                # (printed with the row, not in the table).
                row["n_iter"] = final.n_iter_
                row["validation"] = [
                    round(float(v), 4) for v in final.validation_scores_
                ]
            rows.append(row)
            print(json.dumps(row), flush=True)
    cols = ["method", "bits", "mAP", "paper", "input", "epochs", "fit_s", "eval_s"]
    cols += ["distinct", "bit_mean_min", "bit_mean_max"] if args.code_stats else []
    cols += ["load"]
    return rows, print_table(
        _shown(rows),
        cols,
        title=f"CIFAR-10 (JPEG q75 copy), {protocol}, EfficientNet-Lite0 "
        f"{args.image_size}px frozen features, full-ranking mAP",
    )


def encode_finetuned(est, images):
    """Codes of a fine-tuned deep hasher, its trunk run by ONNX Runtime.

    The fine-tuned trunk goes through the same export as
    ``PretrainedFeatures(engine="onnxruntime")`` (4x eager PyTorch on a CPU);
    the hash head then maps the pooled features to codes in torch.
    """
    from skhash import pack_bits
    from skhash.features import PretrainedFeatures

    module = est.net_.module_.eval()
    trunk = module.backbone
    features = PretrainedFeatures(image_size=trunk.image_size)
    features.fit(images[:1])
    if features.engine_ == "onnxruntime":
        from skhash.features._onnx import export_trunk

        features._onnx_model = export_trunk(trunk)
        features._onnx_trunk = None
    features.backbone_ = trunk
    out = []
    for start in range(0, len(images), 5000):
        F = torch.from_numpy(features.transform(images[start : start + 5000]))
        with torch.inference_mode():
            out.append(module.head.decision(F).numpy())
    return pack_bits(np.vstack(out))


def run_finetune(args, data):
    """Fine-tune the pretrained network end to end, then encode every image."""
    y = np.asarray(data.target)
    s = retrieval_split(y, protocol="cifar10-dnnh", random_state=0)
    images = data.images.reshape(len(y), -1)  # flat HWC rows, uint8
    rows = []
    for method in args.methods:
        for n_bits in args.bits:
            est = DEEP[method](
                n_bits=n_bits,
                backbone="efficientnet_lite0",
                input_shape=(32, 32, 3),
                max_epochs=args.epochs,
                lr=args.lr,
                batch_size=64,
                random_state=0,
                verbose=1,
            )
            t0 = time.perf_counter()
            est.fit(images[s.train].astype(np.float32), y[s.train])
            fit_s = time.perf_counter() - t0
            t0 = time.perf_counter()
            codes = encode_finetuned(est, data.images)
            enc_s = time.perf_counter() - t0
            # The fast path gives the estimator's own codes (checked on a sample).
            sample = images[s.query[:64]].astype(np.float32)
            agree = float((est.transform(sample) == codes[s.query[:64]]).mean())
            nn = HammingNeighbors().fit(codes[s.database], y[s.database])
            m = float(nn.score(codes[s.query], y[s.query]))
            row = dict(
                method=method,
                bits=n_bits,
                mAP=m,
                paper=PUBLISHED.get(method, {}).get(n_bits),
                epochs=args.epochs,
                fit_s=round(fit_s, 1),
                encode_s=round(enc_s, 1),
                bytes_agree=agree,
                load=round(os.getloadavg()[0], 1),
            )
            rows.append(row)
            print(json.dumps(row), flush=True)
    cols = ["method", "bits", "mAP", "paper", "epochs", "fit_s", "encode_s"]
    cols += ["bytes_agree", "load"]
    return rows, print_table(
        _shown(rows),
        cols,
        title="CIFAR-10 (JPEG q75 copy), cifar10-dnnh, EfficientNet-Lite0 128px "
        "fine-tuned, full-ranking mAP",
    )


def run_shbdnn_demo(args, data, X):
    """SH-BDNN against SDH in the setting of the SH-BDNN authors' demo.

    PCA-800 features (PCA fitted on the 50,000 training images); SH-BDNN
    trains on 3,000 images per class of the training set (``--n-train-per-
    class``), SDH on all 50,000 (as the demo runs it) and on the same subset;
    the 10,000 test images are the queries, the 50,000 training images the
    database.
    """
    y = np.asarray(data.target)
    s = retrieval_split(y, protocol="cifar10-dsh", split=data.split)
    train, test = s.train, s.query
    rng = np.random.RandomState(0)
    subset = np.sort(
        np.concatenate(
            [
                rng.choice(train[y[train] == c], args.n_train_per_class, replace=False)
                for c in np.unique(y)
            ]
        )
    )
    Z = PCA(args.pca or 800, random_state=0).fit(X[train]).transform(X)
    print(
        f"# SH-BDNN demo setting: {len(subset)} training images for SH-BDNN, "
        f"{len(test)} queries, {len(train)} database; PCA-{Z.shape[1]} features",
        flush=True,
    )
    rows = []
    for n_bits in args.bits:
        runs = [
            ("SHBDNN", subset, SHBDNN(n_bits=n_bits, random_state=0)),
            ("SDH", train, SDH(n_bits=n_bits, random_state=0)),
            ("SDH", subset, SDH(n_bits=n_bits, random_state=0)),
        ]
        for method, fit_on, est in runs:
            t0 = time.perf_counter()
            est.fit(Z[fit_on], y[fit_on])
            fit_s = time.perf_counter() - t0
            m = label_map(est, Z[test], y[test], Z[train], y[train])
            row = dict(
                method=method,
                bits=n_bits,
                n_train=len(fit_on),
                mAP=m,
                fit_s=round(fit_s, 1),
                load=round(os.getloadavg()[0], 1),
            )
            rows.append(row)
            print(json.dumps(row), flush=True)
    return rows, print_table(
        _shown(rows),
        ["method", "bits", "n_train", "mAP", "fit_s", "load"],
        title="CIFAR-10 (JPEG q75 copy), SH-BDNN demo setting, EfficientNet-Lite0 "
        f"{args.image_size}px PCA-{Z.shape[1]} features, full-ranking mAP",
    )


def run_probe(args, data, X):
    """Linear probe: pretrained vs randomly initialised EfficientNet-Lite0."""
    from sklearn.linear_model import LogisticRegression

    from skhash.features import PretrainedBackbone, PretrainedFeatures

    rng = np.random.default_rng(0)
    y = np.asarray(data.target)
    idx = rng.choice(np.flatnonzero(data.split == "train"), 2000, replace=False)
    tr, te = idx[:1000], idx[1000:]
    probe = make_pipeline(StandardScaler(), LogisticRegression(max_iter=2000))
    rows = []
    acc = probe.fit(X[tr], y[tr]).score(X[te], y[te])
    rows.append(dict(network="pretrained", accuracy=float(acc)))
    torch.manual_seed(0)
    random_net = PretrainedBackbone(
        "efficientnet_lite0", image_size=args.image_size, pretrained=False
    )
    # The same extractor (resize, normalisation, pooling) with the random net.
    # engine="torch": the ONNX engine would run the trunk exported in fit.
    ext = PretrainedFeatures(image_size=args.image_size, engine="torch")
    ext.fit(data.images[idx[:1]])
    ext.backbone_ = random_net.eval()
    Xr = ext.transform(data.images[idx])
    acc = probe.fit(Xr[:1000], y[tr]).score(Xr[1000:], y[te])
    rows.append(dict(network="random init", accuracy=float(acc)))
    return rows, print_table(
        rows,
        ["network", "accuracy"],
        title="Linear probe, CIFAR-10 (JPEG q75 copy), 1,000 train / 1,000 test "
        f"images of the training set, EfficientNet-Lite0 {args.image_size}px",
    )


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "experiment",
        nargs="?",
        default="dnnh",
        choices=["dnnh", "dsh", "finetune", "probe", "shbdnn"],
    )
    parser.add_argument("--methods", nargs="+", default=None)
    parser.add_argument("--bits", nargs="+", type=int, default=None)
    parser.add_argument("--epochs", type=int, default=50)
    parser.add_argument("--hidden", nargs="+", type=int, default=[1024])
    parser.add_argument("--lr", type=float, default=1e-3)
    parser.add_argument("--image-size", type=int, default=128)
    parser.add_argument("--data-home", default=default_data_home())
    parser.add_argument(
        "--cache-dir", default=str(Path(__file__).resolve().parent / "cache")
    )
    parser.add_argument("--threads", type=int, default=None, help="torch threads")
    parser.add_argument(
        "--param",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="extra deep-hasher parameter, e.g. margin=4 (repeatable)",
    )
    parser.add_argument(
        "--pca",
        type=int,
        default=None,
        metavar="N",
        help="SDH and SH-BDNN on the features projected by PCA to N dimensions "
        "(the SH-BDNN paper's input, 800-D AlexNet features in its demo)",
    )
    parser.add_argument(
        "--unscaled",
        action="store_true",
        help="deep hashers on the raw pooled features (no StandardScaler), as "
        "the fine-tuned route feeds them",
    )
    parser.add_argument(
        "--code-stats",
        action="store_true",
        help="columns for the number of distinct database codes and the range "
        "of the bit means (collapse diagnostics)",
    )
    parser.add_argument(
        "--n-train-per-class",
        type=int,
        default=3000,
        help="shbdnn: SH-BDNN's training images per class (the demo's 3,000)",
    )
    parser.add_argument("--json", help="write the rows to this file")
    args = parser.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    args.param = {
        k: ast.literal_eval(v) for k, v in (p.split("=", 1) for p in args.param)
    }
    args.epochs_given = "--epochs" in (argv if argv is not None else sys.argv)
    data, X = cifar10_pretrained(
        args.data_home, args.cache_dir, image_size=args.image_size
    )
    args._data = data
    y = np.asarray(data.target)
    if args.experiment == "probe":
        rows, _ = run_probe(args, data, X)
    elif args.experiment == "shbdnn":
        args.bits = args.bits or [16, 32]
        rows, _ = run_shbdnn_demo(args, data, X)
    elif args.experiment == "finetune":
        args.methods = args.methods or ["DHN", "HashNet"]
        args.bits = args.bits or [48]
        args.epochs = args.epochs if args.epochs_given else 2
        rows, _ = run_finetune(args, data)
    else:
        protocol = "cifar10-dnnh" if args.experiment == "dnnh" else "cifar10-dsh"
        if args.methods is None:
            args.methods = (
                ["DSH"]
                if args.experiment == "dsh"
                else ["DHN", "HashNet", "DNNH", "DSH", "DQN", "ITQ", "SDH", "KSH"]
                + ["SHBDNN", "PQ", "OPQ"]
            )
        if args.bits is None:
            args.bits = [12, 48] if args.experiment == "dsh" else [12, 24, 32, 48]
        rows, _ = run_table(args, X, y, protocol)
    if args.json:
        write_json(args.json, rows)


if __name__ == "__main__":
    main()
