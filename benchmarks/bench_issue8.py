"""Issue 8's verification tables: LDPH vs its reference, DH vs ITQ, KSH and CCA-ITQ.

Protocol (as ``bench_linear_map.py``): the 10,000 test images of MNIST and
Fashion-MNIST, pixels scaled to [0, 1]; 1,000 queries (100 per class, seed 0),
the other 9,000 images are the database. Every method is trained on the same
random ``--n-train`` database images (seed 0) and encodes the whole database.
Rankings are by Hamming distance, ties by database index; full-ranking mAP.

* ``ldph``: LDPH against the reference it was trained from (ITQ, and
  SpectralHashing at 32 bits), Euclidean ground truth = the 50 nearest
  database images in pixel space (``mAP L2@50``), at 16/32/64/128 bits;
* ``dh``: DH against ITQ, same Euclidean protocol;
* ``subic``: SuBiC (8 blocks of 256, 5,000 Adam steps of 200 images, the
  authors' schedule) against PQ (8 x 256) at 64 bits, label ground truth,
  both ranked by asymmetric distance (sums of ``distance_tables`` entries);
* ``supervised``: KSH and CCA-ITQ against ITQ with label ground truth (same
  class = relevant); the supervised methods see the labels of the training
  images only (KSH: 1,000 of them, the paper's lower setting, 300 anchors).

Run: ``python benchmarks/bench_issue8.py [--parts ldph dh supervised]
[--n-train 2000] [--data-home DIR]``
"""

import argparse
import time

import numpy as np

from skhash import ITQ, HammingNeighbors, SpectralHashing
from skhash.datasets import (
    euclidean_ground_truth,
    load_fashion_mnist,
    load_mnist,
    retrieval_split,
)
from skhash.linear._cca_itq import CCAITQ
from skhash.linear._ksh import KSH
from skhash.metrics import mean_average_precision

from _common import default_data_home, neighbor_indicator, print_table


def _ranking(h, Xq, Xdb):
    nn = HammingNeighbors().fit(h.transform(Xdb))
    _, ind = nn.kneighbors(h.transform(Xq), n_neighbors=Xdb.shape[0])
    return ind


def load(name, loader, data_home, seed, n_train):
    X, y = loader(subset="test", data_home=data_home, return_X_y=True)
    X = X.reshape(len(X), -1).astype(np.float64) / 255.0
    split = retrieval_split(
        y, n_query_per_class=100, database="rest", random_state=seed
    )
    q, db = split.query, split.database
    rng = np.random.default_rng(seed)
    train = np.sort(rng.choice(db, size=min(n_train, len(db)), replace=False))
    gt = euclidean_ground_truth(X[q], X[db], 50)
    yq_e, ydb_e = neighbor_indicator(gt, len(db))
    return dict(name=name, X=X, y=y, q=q, db=db, train=train, yq_e=yq_e, ydb_e=ydb_e)


def _row(d, method, bits, h, fit_s, label=False):
    ind = _ranking(h, d["X"][d["q"]], d["X"][d["db"]])
    row = {"dataset": d["name"], "method": method, "bits": bits, "fit s": fit_s}
    if label:
        row["mAP label"] = mean_average_precision(
            d["y"][d["q"]], d["y"][d["db"]], ind, protocol="full"
        )
    else:
        row["mAP L2@50"] = mean_average_precision(
            d["yq_e"], d["ydb_e"], ind, protocol="full"
        )
    return row


def _fit(h, X, y=None):
    t0 = time.perf_counter()
    h.fit(X, y)
    return h, time.perf_counter() - t0


def part_ldph(d, bits_list, seed):
    from skhash.deep import LDPH

    Xtr = d["X"][d["train"]]
    rows = []
    refs = [("ITQ", ITQ, bits_list), ("SpectralHashing", SpectralHashing, [32])]
    for ref_name, ref_cls, ref_bits in refs:
        for b in ref_bits:
            kw = {"random_state": seed} if ref_cls is ITQ else {}
            ref, t_ref = _fit(ref_cls(n_bits=b, **kw), Xtr)
            rows.append(_row(d, ref_name, b, ref, t_ref))
            ldph, t = _fit(LDPH(n_bits=b, reference=ref, random_state=seed), Xtr)
            rows.append(_row(d, f"LDPH({ref_name})", b, ldph, t))
            print_table(rows[-2:], list(rows[-1]), floatfmt="{:.4f}")
    return rows


def part_dh(d, bits_list, seed):
    from skhash.deep import DH

    Xtr = d["X"][d["train"]]
    rows = []
    for b in bits_list:
        itq, t_itq = _fit(ITQ(n_bits=b, random_state=seed), Xtr)
        rows.append(_row(d, "ITQ", b, itq, t_itq))
        dh, t = _fit(DH(n_bits=b, max_epochs=30, random_state=seed), Xtr)
        rows.append(_row(d, "DH", b, dh, t))
        # one tanh layer, stronger orthogonality (see DH's Notes)
        dh1 = DH(
            n_bits=b,
            hidden_layer_sizes=(),
            orthogonality_weight=10.0,
            max_epochs=30,
            random_state=seed,
        )
        dh1, t = _fit(dh1, Xtr)
        rows.append(_row(d, "DH 1-layer", b, dh1, t))
        print_table(rows[-3:], list(rows[-1]), floatfmt="{:.4f}")
    return rows


def part_supervised(d, bits_list, seed):
    Xtr, ytr = d["X"][d["train"]], d["y"][d["train"]]
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


def part_subic(d, bits_list, seed, steps=5000):
    from skhash.deep import SuBiC
    from skhash.quantization import PQ

    Xtr, ytr = d["X"][d["train"]], d["y"][d["train"]]
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
            rows.append(
                {
                    "dataset": d["name"],
                    "method": name,
                    "bits": b,
                    "fit s": t,
                    "mAP label": mean_average_precision(
                        d["y"][d["q"]], d["y"][d["db"]], ind, protocol="full"
                    ),
                }
            )
        print_table(rows[-2:], list(rows[-1]), floatfmt="{:.4f}")
    return rows


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-home", default=default_data_home())
    parser.add_argument("--parts", nargs="+", default=["ldph", "dh", "supervised"])
    parser.add_argument("--datasets", nargs="+", default=["mnist", "fashion"])
    parser.add_argument("--n-train", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    loaders = {
        "mnist": ("MNIST", load_mnist),
        "fashion": ("Fashion", load_fashion_mnist),
    }
    bits = {
        "ldph": [16, 32, 64, 128],
        "dh": [16, 32, 64],
        "supervised": [16, 32, 64],
        "subic": [64],
    }
    parts = {
        "ldph": part_ldph,
        "dh": part_dh,
        "supervised": part_supervised,
        "subic": part_subic,
    }
    for key in args.datasets:
        name, loader = loaders[key]
        d = load(name, loader, args.data_home, args.seed, args.n_train)
        for part in args.parts:
            rows = parts[part](d, bits[part], args.seed)
            print_table(rows, list(rows[0]), title=f"== {name}: {part} ==")


if __name__ == "__main__":
    main()
