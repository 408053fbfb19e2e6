"""LDPH against its reference, DH against ITQ, KSH, CCA-ITQ and SuBiC: mAP tables.

Protocol (as ``bench_linear_map.py``): the 10,000 test images of MNIST and
Fashion-MNIST, pixels scaled to [0, 1]; 1,000 queries (100 per class, seed 0),
the other 9,000 images are the database. Every method is trained on the same
random ``--n-train`` database images (seed 0) and encodes the whole database.
Rankings are by Hamming distance, ties by database index; full-ranking mAP.

* ``ldph``: LDPH against the reference it was trained from (ITQ, and
  SpectralHashing at 32 bits), Euclidean ground truth = the 50 nearest
  database images in pixel space (``mAP L2@50``), at 16/32/64/128 bits;
* ``dh``: DH against ITQ and PCAH, same Euclidean protocol;
* ``subic``: SuBiC (8 blocks of 256, 5,000 Adam steps of 200 images, the
  authors' schedule) against PQ (8 x 256) at 64 bits, label ground truth,
  both ranked by asymmetric distance (sums of ``distance_tables`` entries);
* ``supervised``: KSH and CCA-ITQ against ITQ with label ground truth (same
  class = relevant); the supervised methods see the labels of the training
  images only (KSH: 1,000 of them, the paper's lower setting, 300 anchors).

* ``cifar10-gist`` (``--datasets``): the 60,000 CIFAR-10 images (JPEG
  q75 re-encoded, ``load_cifar10("all", source="jpeg")``) as GIST-512
  features read from ``--gist-cache`` (``cifar10_jpeg_gist512.npy``, written
  by ``bench_cifar10_gist_baselines.py --cache``); 1,000 queries (100 per
  class), the other 59,000 images are the database; both ground truths are
  reported for the unsupervised parts.
* ``--train-from train``: draw the ``--n-train`` training images from the
  official training subset (MNIST / Fashion-MNIST: 60,000 images) instead of
  the 9,000-image database, e.g. LDPH's demo size ``--n-train 20000``.

Run: ``python benchmarks/bench_ldph_dh_ksh_subic.py [--parts ldph dh supervised subic]
[--datasets mnist fashion cifar10-gist] [--n-train 2000] [--data-home DIR]``
"""

import argparse
import os
import time
from pathlib import Path

import numpy as np

from skhash import CCAITQ, ITQ, KSH, HammingNeighbors, SpectralHashing
from skhash.datasets import euclidean_ground_truth, load_cifar10, retrieval_split
from skhash.metrics import mean_average_precision

from _common import default_data_home, load_dataset, print_table


def _ranking(h, Xq, Xdb):
    nn = HammingNeighbors().fit(h.transform(Xdb))
    _, ind = nn.kneighbors(h.transform(Xq), n_neighbors=Xdb.shape[0])
    return ind


def _pixels(X):
    return X.reshape(len(X), -1).astype(np.float64) / 255.0


def load(name, dataset, data_home, seed, n_train, train_from="database"):
    """The protocol's arrays for ``dataset`` ("mnist" or "fashion-mnist")."""
    X, y = load_dataset(dataset, "test", data_home=data_home)
    X = _pixels(X)
    split = retrieval_split(
        y, n_query_per_class=100, database="rest", random_state=seed
    )
    q, db = split.query, split.database
    rng = np.random.default_rng(seed)
    d = dict(name=name, X=X, y=y, q=q, db=db, metrics=("l2",))
    if train_from == "train":
        Xt, yt = load_dataset(dataset, "train", data_home=data_home)
        pick = np.sort(rng.choice(len(Xt), size=min(n_train, len(Xt)), replace=False))
        d["X_train"], d["y_train"] = _pixels(Xt[pick]), yt[pick]
    else:
        train = np.sort(rng.choice(db, size=min(n_train, len(db)), replace=False))
        d["X_train"], d["y_train"] = X[train], y[train]
    d["gt"] = euclidean_ground_truth(X[q], X[db], 50)
    return d


def load_cifar10_gist(data_home, cache, seed, n_train):
    """CIFAR-10 GIST-512 (cached), 1,000 queries / 59,000 database."""
    path = Path(cache) / "cifar10_jpeg_gist512.npy"
    if not path.is_file():
        raise FileNotFoundError(
            f"{path} not found: run benchmarks/bench_cifar10_gist_baselines.py "
            f"--cache {cache} first (it computes and caches the GIST features)."
        )
    X = np.load(path).astype(np.float64)
    y = load_cifar10("all", source="jpeg", data_home=data_home).target
    split = retrieval_split(
        y, n_query_per_class=100, database="rest", random_state=seed
    )
    q, db = split.query, split.database
    rng = np.random.default_rng(seed)
    train = np.sort(rng.choice(db, size=min(n_train, len(db)), replace=False))
    gt = euclidean_ground_truth(X[q], X[db], 50)
    return dict(
        name="CIFAR-10 GIST",
        X=X,
        y=y,
        q=q,
        db=db,
        X_train=X[train],
        y_train=y[train],
        gt=gt,
        metrics=("l2", "label"),
    )


def euclidean_map(gt, ind):
    """Full-ranking mAP when the relevant items are the ``gt`` rows.

    Same value as ``mean_average_precision(*neighbor_indicator(gt, n_db), ind,
    protocol="full")`` (every query has ``gt.shape[1]`` relevant items, all in
    the database), without its ``(n_q, n_q) x (n_q, n_db)`` label product,
    which dominates at 59,000 database items.
    """
    n_q, n_db = ind.shape
    aps = np.empty(n_q)
    for i in range(n_q):
        pos = np.flatnonzero(np.isin(ind[i], gt[i], assume_unique=True)) + 1
        aps[i] = np.mean(np.arange(1, len(pos) + 1) / pos)
    return float(aps.mean())


def _scores(d, ind, label=False):
    out = {}
    if not label and "l2" in d["metrics"]:
        out["mAP L2@50"] = euclidean_map(d["gt"], ind)
    if label or "label" in d["metrics"]:
        out["mAP label"] = mean_average_precision(
            d["y"][d["q"]], d["y"][d["db"]], ind, protocol="full"
        )
    return out


def _row(d, method, bits, h, fit_s, label=False):
    ind = _ranking(h, d["X"][d["q"]], d["X"][d["db"]])
    row = {"dataset": d["name"], "method": method, "bits": bits, "fit s": fit_s}
    row.update(_scores(d, ind, label))
    row["load"] = os.getloadavg()[0]
    return row


def _fit(h, X, y=None):
    t0 = time.perf_counter()
    h.fit(X, y)
    return h, time.perf_counter() - t0


REFERENCES = {"itq": ("ITQ", ITQ), "sh": ("SpectralHashing", SpectralHashing)}


def part_ldph(d, bits_list, seed, refs=("itq", "sh")):
    from skhash.deep import LDPH

    Xtr = d["X_train"]
    rows = []
    for key in refs:
        ref_name, ref_cls = REFERENCES[key]
        for b in bits_list:
            kw = {"random_state": seed} if ref_cls is ITQ else {}
            ref, t_ref = _fit(ref_cls(n_bits=b, **kw), Xtr)
            rows.append(_row(d, ref_name, b, ref, t_ref))
            ldph, t = _fit(LDPH(n_bits=b, reference=ref, random_state=seed), Xtr)
            rows.append(_row(d, f"LDPH({ref_name})", b, ldph, t))
            print_table(rows[-2:], list(rows[-1]), floatfmt="{:.4f}")
    return rows


def part_dh(d, bits_list, seed, methods=None):
    """DH (its defaults: PCA start, full-batch gradient descent) against ITQ, PCAH.

    PCAH is DH's untrained network (its PCA / identity start gives PCAH's
    bits); ``init=random`` the randomly started network; ``Adam`` the former
    default training (Adam lr 1e-3, batch 128, 30 epochs); ``[2L,L]`` hidden
    layers as wide as ``2 L`` and ``L`` (no hash layer wider than its input);
    ``lambda2=1e4`` a strong orthogonality weight (``lambda_2 / N`` = 5 per
    sample at ``N`` = 2,000). ``methods`` selects rows by name.
    """
    import torch

    from skhash import PCAH
    from skhash.deep import DH

    adam = dict(optimizer=torch.optim.Adam, lr=1e-3, batch_size=128, max_epochs=30)
    Xtr = d["X_train"]
    rows = []
    for b in bits_list:
        for name, kw in [
            ("DH", {}),
            ("DH init=random", dict(init="random")),
            ("DH Adam", adam),
            ("DH [2L,L]", dict(hidden_layer_sizes=(2 * b, b))),
            ("DH lambda2=1e4", dict(orthogonality_weight=1e4)),
            (
                "DH Adam [2L,L] lambda2=1e4",
                dict(hidden_layer_sizes=(2 * b, b), orthogonality_weight=1e4, **adam),
            ),
        ]:
            if methods is not None and name not in methods:
                continue
            h, t = _fit(DH(n_bits=b, random_state=seed, **kw), Xtr)
            rows.append(_row(d, name, b, h, t))
            print_table(rows[-1:], list(rows[-1]), floatfmt="{:.4f}")
        for name, h in [
            ("ITQ", ITQ(n_bits=b, random_state=seed)),
            ("PCAH", PCAH(n_bits=b)),
        ]:
            if methods is not None and name not in methods:
                continue
            h, t = _fit(h, Xtr)
            rows.append(_row(d, name, b, h, t))
    return rows


def part_supervised(d, bits_list, seed):
    Xtr, ytr = d["X_train"], d["y_train"]
    rows = []
    for b in bits_list:
        for name, h, y in [
            ("ITQ", ITQ(n_bits=b, random_state=seed), None),
            ("CCA-ITQ", CCAITQ(n_bits=b, random_state=seed), ytr),
            ("KSH", KSH(n_bits=b, n_labeled=1000, random_state=seed), ytr),
        ]:
            h, t = _fit(h, Xtr, y)
            rows.append(_row(d, name, b, h, t, label=True))
        print_table(rows[-3:], list(rows[-1]), floatfmt="{:.4f}")
    return rows


def _adc_ranking(q, Xq, Xdb):
    """Full ranking by asymmetric distance, ties by index (as QuantizedNeighbors)."""
    codes = np.asarray(q.transform(Xdb), dtype=np.intp)
    T = q.distance_tables(Xq)
    dist = sum(T[:, m, codes[:, m]] for m in range(codes.shape[1]))
    return np.argsort(dist, axis=1, kind="stable")


DEEP_SUPERVISED = ("DSH", "HashNet", "DHN", "DNNH")


def part_subic(d, bits_list, seed, steps=5000, deep=False):
    """SuBiC vs PQ (and, with ``deep``, the deep supervised hashers).

    Every deep model has the same backbone (784-256-ReLU MLP, the package
    default) and the same number of epochs (SuBiC's 5,000 steps of 200
    images); each keeps its own defaults otherwise. The hashers rank by
    Hamming distance, SuBiC and PQ by asymmetric distance.
    """
    from skhash import deep as skdeep
    from skhash.deep import SuBiC
    from skhash.quantization import PQ

    Xtr, ytr = d["X_train"], d["y_train"]
    Xq, Xdb = d["X"][d["q"]], d["X"][d["db"]]
    rows = []
    for b in bits_list:
        epochs = max(1, int(round(steps * 200 / len(Xtr))))
        for name, q in [
            ("PQ", PQ(n_bits=b, n_clusters=256, random_state=seed)),
            ("SuBiC", SuBiC(n_bits=b, max_epochs=epochs, random_state=seed)),
        ]:
            t0 = time.perf_counter()
            q.fit(Xtr, ytr if name == "SuBiC" else None)
            t = time.perf_counter() - t0
            ind = _adc_ranking(q, Xq, Xdb)
            row = {"dataset": d["name"], "method": name, "bits": b, "fit s": t}
            row.update(_scores(d, ind, label=True))
            row["load"] = os.getloadavg()[0]
            rows.append(row)
            print_table(rows[-1:], list(rows[-1]), floatfmt="{:.4f}")
        for name in DEEP_SUPERVISED if deep else ():
            cls = getattr(skdeep, name)
            h, t = _fit(cls(n_bits=b, max_epochs=epochs, random_state=seed), Xtr, ytr)
            rows.append(_row(d, name, b, h, t, label=True))
            print_table(rows[-1:], list(rows[-1]), floatfmt="{:.4f}")
    return rows


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-home", default=default_data_home())
    parser.add_argument("--parts", nargs="+", default=["ldph", "dh", "supervised"])
    parser.add_argument("--datasets", nargs="+", default=["mnist", "fashion"])
    parser.add_argument("--n-train", type=int, default=2000)
    parser.add_argument(
        "--train-from", choices=["database", "train"], default="database"
    )
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--bits",
        type=int,
        nargs="+",
        default=None,
        help="code lengths (default: each part's own list)",
    )
    parser.add_argument(
        "--ldph-refs", nargs="+", default=["itq", "sh"], choices=sorted(REFERENCES)
    )
    parser.add_argument(
        "--subic-deep",
        action="store_true",
        help="add DSH, HashNet, DHN and DNNH to the subic part",
    )
    parser.add_argument("--gist-cache", default="/tmp/gist")
    parser.add_argument(
        "--dh-methods", nargs="+", default=None, help="rows of the dh part, by name"
    )
    args = parser.parse_args()
    loaders = {"mnist": ("MNIST", "mnist"), "fashion": ("Fashion", "fashion-mnist")}
    bits = {
        "ldph": [16, 32, 64, 128],
        "dh": [16, 32, 64],
        "supervised": [16, 32, 64],
        "subic": [64],
    }
    parts = {
        "ldph": lambda d, b: part_ldph(d, b, args.seed, refs=args.ldph_refs),
        "dh": lambda d, b: part_dh(d, b, args.seed, args.dh_methods),
        "supervised": lambda d, b: part_supervised(d, b, args.seed),
        "subic": lambda d, b: part_subic(d, b, args.seed, deep=args.subic_deep),
    }
    print(f"load average at start: {os.getloadavg()}", flush=True)
    for key in args.datasets:
        if key == "cifar10-gist":
            d = load_cifar10_gist(
                args.data_home, args.gist_cache, args.seed, args.n_train
            )
        else:
            name, dataset = loaders[key]
            d = load(
                name, dataset, args.data_home, args.seed, args.n_train, args.train_from
            )
        for part in args.parts:
            rows = parts[part](d, args.bits or bits[part])
            cols = list(dict.fromkeys(k for r in rows for k in r))
            print_table(rows, cols, title=f"== {d['name']}: {part} ==")


if __name__ == "__main__":
    main()
