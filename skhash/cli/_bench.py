"""``skhash bench``: methods x code lengths on one dataset and protocol.

Each run goes through :func:`skhash.evaluation.evaluate`; this module loads
the data, formats the table and writes results.csv, results.json and the
plots. ``skhash bench --reproduce`` runs the benchmark scripts of a source
checkout instead.
"""

import csv
import io
import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

from skhash.cli._datasets import _DEFAULT_PROTOCOL, _load_task
from skhash.cli._io import (
    CommandError,
    _atomic_write,
    _check_output_dir,
    _log,
    _write_text,
    add_quiet_option,
)
from skhash.cli._methods import (
    _DEFAULT_METHODS,
    _make_estimator,
    _requires_y,
    _resolve_methods,
)


def _run_one(task, name, cls, kind, n_bits, args):
    """Fit, encode, search and score one method at one code length."""
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    from skhash.evaluation import evaluate

    est = _make_estimator(cls, n_bits, args.random_state, {})
    steps = [StandardScaler()] if args.scale else []
    pipe = make_pipeline(*steps, est)
    if _requires_y(est) and task.y is None:
        raise CommandError(f"{name} is supervised and this protocol has no labels.")
    n_db, n_q = len(task.database), len(task.query)
    chunk = max(1, args.chunk_elements // max(n_db, 1))
    # a progress bar on stderr while ranking, when it is a terminal
    bar = sys.stderr.isatty() and not getattr(args, "quiet", False) and n_q > chunk

    def progress(done, total):
        print(
            f"\r  {name} {n_bits} bits: ranking [{'#' * (done * 30 // total):<30}] "
            f"{done:,}/{total:,} queries",
            end="",
            file=sys.stderr,
            flush=True,
        )

    (result,) = evaluate(
        pipe,
        task.X,
        task.y,
        protocol=task,
        n_bits=None,
        metrics=("map", "precision_radius2", "pr_curve"),
        map_protocol=args.map_protocol,
        search_k=args.search_k,
        chunk_size=chunk,
        progress=progress if bar else None,
    )
    if bar:
        print("\r" + " " * 79 + "\r", end="", file=sys.stderr, flush=True)
    row = {
        "dataset": task.name,
        "method": name,
        "kind": kind,
        "n_bits": int(n_bits),
        "mAP": result["map"],
        "precision_r2": result.get("precision_radius2", float("nan")),
        "fit_s": result["fit_s"],
        "encode_s": result["encode_s"],
        "search_s": result["search_s"],
        "n_train": int(len(task.train)),
        "n_database": int(n_db),
        "n_queries": int(n_q),
        "warmup_s": result["warmup_s"],
    }
    return row, result.get("pr_curve")


_COLUMNS = (
    "dataset",
    "method",
    "kind",
    "n_bits",
    "mAP",
    "precision_r2",
    "fit_s",
    "encode_s",
    "search_s",
    "n_train",
    "n_database",
    "n_queries",
)


def _format_table(rows, args):
    cols = ("method", "n_bits", "mAP", "precision_r2", "fit_s", "encode_s", "search_s")
    heads = {
        "method": "method",
        "n_bits": "bits",
        "mAP": "mAP",
        "precision_r2": "P@r<=2",
        "fit_s": "fit s",
        "encode_s": "encode s",
        "search_s": f"search s (k={args.search_k})",
    }

    def fmt(c, v):
        if isinstance(v, float):
            if v != v:
                return "-"
            return f"{v:.4f}" if c in ("mAP", "precision_r2") else f"{v:.3f}"
        return str(v)

    cells = [[fmt(c, r[c]) for c in cols] for r in rows]
    widths = [
        max(len(heads[c]), *(len(cell[i]) for cell in cells))
        if cells
        else len(heads[c])
        for i, c in enumerate(cols)
    ]
    lines = [
        "  ".join(
            heads[c].rjust(w) if i else heads[c].ljust(w)
            for i, (c, w) in enumerate(zip(cols, widths, strict=True))
        )
    ]
    lines.append("  ".join("-" * w for w in widths))
    for cell in cells:
        lines.append(
            "  ".join(
                v.rjust(w) if i else v.ljust(w)
                for i, (v, w) in enumerate(zip(cell, widths, strict=True))
            )
        )
    return "\n".join(lines)


def _csv_text(rows):
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=_COLUMNS, lineterminator="\n")
    w.writeheader()
    for r in rows:
        w.writerow({c: r[c] for c in _COLUMNS})
    return buf.getvalue()


def _environment():
    import numpy
    import scipy
    import sklearn

    import skhash

    return {
        "skhash": skhash.__version__,
        "python": platform.python_version(),
        "numpy": numpy.__version__,
        "scipy": scipy.__version__,
        "scikit-learn": sklearn.__version__,
        "platform": platform.platform(),
        "machine": platform.machine(),
        "processor": platform.processor(),
        "cpu_count": os.cpu_count(),
    }


def _plots(out, rows, curves, args):
    """Write map_vs_bits.png and pr_curve.png; returns the paths written."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError as exc:
        if args.plot:
            raise CommandError(
                "--plot needs matplotlib: pip install 'skhash[docs]' (or matplotlib)."
            ) from exc
        return []
    written = []
    methods = list(dict.fromkeys(r["method"] for r in rows))
    fig, ax = plt.subplots(figsize=(5, 3.5))
    for m in methods:
        pts = sorted((r["n_bits"], r["mAP"]) for r in rows if r["method"] == m)
        ax.plot([p[0] for p in pts], [p[1] for p in pts], marker="o", label=m)
    ax.set_xlabel("code length (bits)")
    ax.set_ylabel(f"mAP ({args.map_protocol})")
    ax.set_title(f"{rows[0]['dataset']}: mAP vs code length")
    ax.legend(fontsize="small")
    fig.tight_layout()
    written.append(_save_fig(fig, out / "map_vs_bits.png"))
    plt.close(fig)
    bits = sorted({c[1] for c in curves})
    if bits:
        fig, axes = plt.subplots(
            1, len(bits), figsize=(3.6 * len(bits), 3.4), squeeze=False
        )
        for ax, b in zip(axes[0], bits, strict=True):
            for (m, bb), cur in curves.items():
                if bb == b:
                    ax.plot(cur["recall"], cur["precision"], marker=".", label=m)
            ax.set_title(f"{b} bits")
            ax.set_xlabel("recall")
            ax.set_ylabel("precision")
        axes[0][0].legend(fontsize="small")
        fig.suptitle("precision-recall by Hamming radius")
        fig.tight_layout()
        written.append(_save_fig(fig, out / "pr_curve.png"))
        plt.close(fig)
    return written


def _save_fig(fig, path):
    return _atomic_write(path, lambda f: fig.savefig(f, format="png", dpi=100))


def run(args):
    """Run the benchmark (or the benchmark scripts) and write its results."""
    out = _check_output_dir(args.output_dir, "-o/--output-dir")
    if args.reproduce:
        return _reproduce(args)
    import numpy as np

    if args.n_queries_per_class < 1:
        raise CommandError("--n-queries-per-class must be >= 1.")
    if any(b < 1 for b in args.n_bits):
        raise CommandError(f"--n-bits must be >= 1; got {args.n_bits}.")
    methods = _resolve_methods(args.methods)
    t_start = time.perf_counter()
    _log(args, f"skhash bench: loading {args.dataset} ...")
    task = _load_task(args)
    if len(task.query) == 0 or len(task.database) == 0:
        raise CommandError("the protocol left no queries or no database.")
    print(f"skhash bench: {task.description}")
    print(
        f"mAP protocol {args.map_protocol!r} over the full ranking, ties by "
        f"database index; {'standardised features' if args.scale else 'raw features'}"
        f"; random_state={args.random_state}\n",
        flush=True,
    )
    rows, curves, failures, warmups = [], {}, [], {}
    jobs = [(m, b) for m in methods for b in args.n_bits]
    for i, (name, b) in enumerate(jobs, 1):
        cls, kind = methods[name]
        t0 = time.perf_counter()
        try:
            row, curve = _run_one(task, name, cls, kind, b, args)
        except CommandError:
            raise
        except (ValueError, TypeError) as exc:
            msg = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            failures.append({"method": name, "n_bits": b, "error": msg})
            _log(args, f"[{i}/{len(jobs)}] {name} {b} bits: skipped ({msg})")
            continue
        warmup_s = row.pop("warmup_s")
        if kind not in warmups:
            warmups[kind] = warmup_s
            print(
                f"({kind} search: first search call {warmup_s:.2f} s, numba "
                "compilation included; an untimed warm-up, not in search_s)",
                flush=True,
            )
        rows.append(row)
        if curve is not None:
            curves[(name, b)] = curve
        _log(
            args,
            f"[{i}/{len(jobs)}] {name} {b} bits: mAP {row['mAP']:.4f} "
            f"({time.perf_counter() - t0:.1f} s)",
        )
    if not rows:
        raise CommandError(
            "every run failed: "
            + "; ".join(f"{f['method']} {f['n_bits']}: {f['error']}" for f in failures)
        )
    print(_format_table(rows, args))
    for f in failures:
        print(f"(skipped {f['method']} at {f['n_bits']} bits: {f['error']})")
    elapsed = time.perf_counter() - t_start
    out.mkdir(parents=True, exist_ok=True)
    meta = {
        "command": "skhash " + " ".join(args.argv),
        "dataset": task.name,
        "protocol": task.description,
        "map_protocol": args.map_protocol,
        "ties": "by database index",
        "scale": bool(args.scale),
        "random_state": args.random_state,
        "search_k": args.search_k,
        "date": time.strftime("%Y-%m-%d %H:%M:%S"),
        "elapsed_s": elapsed,
        "warmup_s": warmups,
        "environment": _environment(),
    }
    document = {
        **meta,
        "results": rows,
        "skipped": failures,
        "pr_curves": [{"method": m, "n_bits": b, **c} for (m, b), c in curves.items()],
    }

    def _clean(v):
        if isinstance(v, float) and v != v:
            return None
        if isinstance(v, dict):
            return {k: _clean(x) for k, x in v.items()}
        if isinstance(v, list):
            return [_clean(x) for x in v]
        if isinstance(v, np.generic):
            return v.item()
        return v

    written = [
        _write_text(out / "results.csv", _csv_text(rows)),
        _write_text(
            out / "results.json", json.dumps(_clean(document), indent=2) + "\n"
        ),
    ]
    if args.plot is not False:
        written += _plots(out, rows, curves, args)
    print(f"\n({elapsed:.1f} s) wrote " + ", ".join(str(p) for p in written))
    return 0


def _source_benchmarks_dir():
    """``benchmarks/`` of the source checkout skhash is imported from.

    An installed package has none: the benchmark scripts and their registry
    ship with the source checkout only.
    """
    import skhash

    return Path(skhash.__file__).resolve().parents[1] / "benchmarks"


def _benchmarks_dir(args):
    given = bool(args.benchmarks_dir)
    d = Path(args.benchmarks_dir) if given else _source_benchmarks_dir()
    if (d / "reproduce.py").is_file():
        return d
    if given:
        raise CommandError(
            f"--benchmarks-dir {str(d)!r} has no reproduce.py: pass the "
            "benchmarks/ folder of a skhash source checkout."
        )
    raise CommandError(
        "--reproduce runs the benchmark scripts, which ship with the skhash "
        "source checkout, not with the installed package (no benchmarks/ "
        f"folder next to {str(d.parent)!r}). Run it from a source checkout "
        "(git clone the repository, then pip install -e .), or pass "
        "--benchmarks-dir PATH/TO/benchmarks."
    )


def _reproduce(args):
    d = _benchmarks_dir(args)
    cmd = [sys.executable, str(d / "reproduce.py"), "--output-dir", args.output_dir]
    if args.data_home:
        cmd += ["--data-home", args.data_home]
    _log(args, "running " + " ".join(cmd))
    return subprocess.call(cmd)


def add_parser(add):
    """Add the ``bench`` subcommand; ``add(name, **kwargs)`` makes its parser."""
    bench = add(
        "bench",
        help="methods x code lengths on a dataset: mAP, precision@r<=2, timings",
        description=(
            "Fit each method at each code length on the protocol's training set, "
            "encode the database, rank it for every query and report mAP, "
            "precision within Hamming radius 2 and fit / encode / search times "
            "(search timed after one untimed warm-up query, which compiles the "
            "numba kernels; its duration is printed once per kind). "
            "Writes results.csv, results.json and (with matplotlib) "
            "map_vs_bits.png and pr_curve.png into the output folder (-o)."
        ),
    )
    bench.add_argument(
        "--dataset",
        default="digits",
        help="digits (ships with scikit-learn), mnist, fashion-mnist, "
        "cifar10-gist, or a PATH: a folder with *base.fvecs / *query.fvecs "
        "[/ *learn.fvecs / *groundtruth.ivecs], an .npz with X and y, or a "
        ".npy/.fvecs feature file",
    )
    bench.add_argument(
        "--methods",
        nargs="+",
        default=None,
        help="method names (default: " + " ".join(_DEFAULT_METHODS) + ", those "
        "installed; 'all': every hasher and quantizer, deep ones included)",
    )
    bench.add_argument(
        "--n-bits", type=int, nargs="+", default=[16, 32, 64], help="code lengths"
    )
    bench.add_argument(
        "--protocol",
        default=None,
        help="a named protocol of skhash.datasets.PROTOCOLS (default: the "
        "dataset's DNNH protocol: " + ", ".join(_DEFAULT_PROTOCOL.values()) + ")",
    )
    bench.add_argument(
        "--map-protocol",
        default="full",
        choices=["full", "sdh", "bdnn"],
        help="mAP variant over the full ranking",
    )
    bench.add_argument(
        "--n-queries-per-class",
        type=int,
        default=20,
        help="queries per class of a labelled dataset without a named protocol",
    )
    bench.add_argument(
        "--n-train-per-class",
        type=int,
        default=None,
        help="training samples per class (default: the whole database trains)",
    )
    bench.add_argument(
        "--n-queries",
        type=int,
        default=None,
        help="queries of a PATH dataset without labels (default: all the "
        "query file, or a tenth of a plain feature file, at most 1000)",
    )
    bench.add_argument(
        "--n-true-neighbors",
        type=int,
        default=50,
        help="K of the Euclidean ground truth",
    )
    bench.add_argument(
        "--search-k",
        type=int,
        default=100,
        help="neighbours per query of the timed search",
    )
    bench.add_argument(
        "--no-scale",
        dest="scale",
        action="store_false",
        help="do not standardise the features",
    )
    bench.add_argument(
        "--data-home",
        default=None,
        help="folder of the datasets (default: $SKHASH_DATA)",
    )
    bench.add_argument(
        "--cache-dir",
        default=None,
        help="folder to cache computed features (GIST; default: no cache)",
    )
    bench.add_argument(
        "-o",
        "--output-dir",
        default="skhash-bench",
        help="folder of the results (created if missing)",
    )
    plot = bench.add_mutually_exclusive_group()
    plot.add_argument(
        "--plot",
        dest="plot",
        action="store_true",
        default=None,
        help="write the plots (error without matplotlib; default: write them "
        "when matplotlib is installed)",
    )
    plot.add_argument(
        "--no-plot", dest="plot", action="store_false", help="write no plots"
    )
    bench.add_argument(
        "--random-state", type=int, default=0, help="seed of the split and methods"
    )
    bench.add_argument(
        "--chunk-elements",
        type=int,
        default=1 << 22,
        help="distances held in memory at once while ranking (queries x "
        "database items)",
    )
    bench.add_argument(
        "--reproduce",
        action="store_true",
        help="run every benchmark of benchmarks/registry.py "
        "(benchmarks/reproduce.py) instead; the scripts ship with the source "
        "checkout, not with the installed package",
    )
    bench.add_argument(
        "--benchmarks-dir",
        default=None,
        help="folder of the benchmark scripts for --reproduce (default: "
        "benchmarks/ of the source checkout skhash is imported from)",
    )
    add_quiet_option(bench)
    return bench
