"""``skhash fit``: fit a hashing or quantization pipeline, index a database."""

import time
from pathlib import Path

from skhash.cli._images import _image_files, _make_features
from skhash.cli._io import (
    CommandError,
    _atomic_write,
    _check_output_path,
    _log,
    _read_labels,
    _read_matrix,
    _write_text,
    add_quiet_option,
)
from skhash.cli._methods import (
    _make_estimator,
    _parse_params,
    _requires_y,
    _resolve_methods,
)
from skhash.cli._models import _MODEL_SUFFIXES


def run(args):
    """Fit the pipeline, index the database and save the model."""
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


def add_parser(add):
    """Add the ``fit`` subcommand; ``add(name, **kwargs)`` makes its parser."""
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
    add_quiet_option(fit)
    return fit
