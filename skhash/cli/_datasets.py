"""The datasets and protocols of ``skhash bench``."""

import os
from pathlib import Path

from skhash.cli._io import (
    CommandError,
    _check_output_path,
    _log,
    _read_matrix,
    _write_npy,
)

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
