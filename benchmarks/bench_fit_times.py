"""Fit and encoding time of every skhash encoder with its default parameters.

Every hasher and quantizer listed by :func:`skhash.utils.all_estimators`
(the deep ones too, when torch and skorch are installed) is fitted with its
default parameters (``random_state=0`` where the estimator has one) on
scikit-learn's digits (1,797 x 64), standardised by ``StandardScaler``:

* split: 200 queries (20 per class, ``retrieval_split(..., random_state=0)``);
  the other 1,597 images are the training set and the database;
* supervised methods get the training labels; deep methods train on the CPU
  with their default epochs, batch size and network;
* ``fit s``: wall time of ``fit`` on the 1,597 training images; ``transform
  s``: wall time of encoding them (``transform``);
* ``mAP``: label relevance, full ranking (``HammingNeighbors(...).score`` on
  the codes for hashers, ``QuantizedNeighbors(FrozenEstimator(q)).score``,
  asymmetric distances, for quantizers).

Estimators that use numba kernels are fitted once on 300 rows first, so that
compilation is not counted as fit time. Feature extractors (images in) and
searchers are not encoders and are left out. The machine's load average
(``os.getloadavg``) is printed before and after each fit: fit times of
iterative methods grow several-fold on a busy machine.

``--mnist N`` runs the same protocol on the first N MNIST training images
(pixels, standardised) instead of digits. ``--json FILE`` writes the rows
with the machine and the command.

Run: ``python benchmarks/bench_fit_times.py`` (a few minutes on 2 cores).
"""

import argparse
import json
import os
import platform
import sys
import time
import traceback
import warnings

import numpy as np
from sklearn.datasets import load_digits
from sklearn.frozen import FrozenEstimator
from sklearn.preprocessing import StandardScaler

from skhash import HammingNeighbors
from skhash.datasets import load_mnist, retrieval_split
from skhash.quantization import QuantizedNeighbors
from skhash.utils import all_estimators

from _common import default_data_home, print_table

#: Packages whose estimators never import torch (their first fit may compile
#: numba kernels, hence the warm-up).
LIGHT_PACKAGES = ("skhash.linear", "skhash.quantization")
N_WARMUP = 300


def load_data(args):
    """Standardised features and labels: digits, or the first N MNIST images."""
    if args.mnist:
        data = load_mnist("train", data_home=args.data_home)
        X = data.data[: args.mnist].reshape(args.mnist, -1).astype(np.float64)
        y = np.asarray(data.target[: args.mnist])
        name = f"MNIST train[:{args.mnist}]"
    else:
        X, y = load_digits(return_X_y=True)
        name = "digits"
    X = StandardScaler().fit_transform(X)
    return name, X, y


def encoders(names=None):
    """``(name, class, type)`` of the hashers and quantizers, by name."""
    found = []
    for name, cls in all_estimators(["hasher", "quantizer"]):
        if names and name not in names:
            continue
        kind = (
            "quantizer" if callable(getattr(cls, "distance_tables", None)) else "hasher"
        )
        found.append((name, cls, kind))
    return found


def make(cls, random_state):
    est = cls()
    if "random_state" in est.get_params():
        est.set_params(random_state=random_state)
    return est


def requires_y(est):
    return bool(est.__sklearn_tags__().target_tags.required)


def n_bits_of(est):
    for attr in ("n_bits_", "n_bits"):
        value = getattr(est, attr, None)
        if value is not None:
            return int(value)
    return None


def run_one(name, cls, kind, X_db, y_db, X_q, y_q, random_state):
    row = {"method": name, "kind": kind}
    est = make(cls, random_state)
    y_fit = y_db if requires_y(est) else None
    if cls.__module__.startswith(LIGHT_PACKAGES):
        with warnings.catch_warnings():  # e.g. more anchors than warm-up rows
            warnings.simplefilter("ignore")
            make(cls, random_state).fit(
                X_db[:N_WARMUP], None if y_fit is None else y_fit[:N_WARMUP]
            )
    row["load before"] = os.getloadavg()[0]
    t0 = time.perf_counter()
    est.fit(X_db, y_fit)
    row["fit s"] = time.perf_counter() - t0
    row["load after"] = os.getloadavg()[0]
    row["n_bits"] = n_bits_of(est)
    t0 = time.perf_counter()
    codes_db = est.transform(X_db)
    row["transform s"] = time.perf_counter() - t0
    if kind == "quantizer":
        searcher = QuantizedNeighbors(quantizer=FrozenEstimator(est)).fit(X_db, y_db)
        row["mAP"] = float(searcher.score(X_q, y_q))
    else:
        searcher = HammingNeighbors().fit(codes_db, y_db)
        row["mAP"] = float(searcher.score(est.transform(X_q), y_q))
    return row


def machine():
    info = {
        "platform": platform.platform(),
        "python": platform.python_version(),
        "cpus": os.cpu_count(),
    }
    try:
        import torch

        info["torch"] = torch.__version__
        info["torch_threads"] = torch.get_num_threads()
    except ImportError:
        pass
    try:
        from threadpoolctl import threadpool_info

        info["blas"] = [
            f"{p['internal_api']} {p['version']} ({p['num_threads']} threads)"
            for p in threadpool_info()
        ]
    except ImportError:
        pass
    return info


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--mnist",
        type=int,
        default=0,
        metavar="N",
        help="use the first N MNIST training images instead of digits (default: "
        "digits)",
    )
    parser.add_argument(
        "--data-home",
        default=default_data_home(),
        help="folder with mnist/ (default: $SKHASH_DATA or ../shared/data)",
    )
    parser.add_argument(
        "--methods", nargs="+", help="estimator names to run (default: all)"
    )
    parser.add_argument(
        "--n-query-per-class",
        type=int,
        default=20,
        help="queries per class (default: 20, i.e. 200 queries)",
    )
    parser.add_argument("--random-state", type=int, default=0, help="(default: 0)")
    parser.add_argument("--json", metavar="FILE", help="also write the rows as JSON")
    args = parser.parse_args(argv)

    dataset, X, y = load_data(args)
    split = retrieval_split(
        y, n_query_per_class=args.n_query_per_class, random_state=args.random_state
    )
    X_db, y_db = X[split.database], y[split.database]
    X_q, y_q = X[split.query], y[split.query]
    info = machine()
    print(
        f"{dataset}: {X_db.shape[0]} training = database, {X_q.shape[0]} queries, "
        f"{X.shape[1]} features (StandardScaler); load average "
        f"{'/'.join(f'{v:.2f}' for v in os.getloadavg())} (1/5/15 min)",
        flush=True,
    )
    print(json.dumps(info), flush=True)

    rows = []
    for name, cls, kind in encoders(args.methods):
        try:
            row = run_one(
                name, cls, kind, X_db, y_db, X_q, y_q, random_state=args.random_state
            )
        except Exception as exc:  # one failing default must not stop the table
            traceback.print_exc()
            row = {
                "method": name,
                "kind": kind,
                "error": f"{type(exc).__name__}: {exc}",
            }
        rows.append(row)
        print(
            f"  {name}: "
            + (
                row["error"]
                if "error" in row
                else f"fit {row['fit s']:.2f} s, mAP {row['mAP']:.4f} "
                f"(load {row['load before']:.2f} -> {row['load after']:.2f})"
            ),
            flush=True,
        )

    columns = [
        "method",
        "kind",
        "n_bits",
        "fit s",
        "transform s",
        "mAP",
        "load before",
        "load after",
    ]
    print()
    print_table(
        rows,
        columns,
        title=f"Fit and transform times, default parameters, {dataset}",
        floatfmt="{:.3f}",
    )
    for row in rows:
        if "error" in row:
            print(f"{row['method']}: {row['error']}")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(
                {
                    "dataset": dataset,
                    "n_database": int(X_db.shape[0]),
                    "n_query": int(X_q.shape[0]),
                    "command": " ".join([sys.executable, *sys.argv]),
                    "machine": info,
                    "rows": rows,
                },
                f,
                indent=2,
            )
    return rows


if __name__ == "__main__":
    main()
