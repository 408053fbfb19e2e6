"""``skhash search``: the neighbours of queries in an index."""

import io
from pathlib import Path

from skhash.cli._images import _image_input
from skhash.cli._io import (
    CommandError,
    _atomic_write,
    _check_output_path,
    _load_model,
    _read_matrix,
    _write_ivecs,
    _write_npy,
    _write_text,
    add_quiet_option,
)
from skhash.cli._models import _MODEL_SUFFIXES, _is_quantizer_index, _searcher_of

_NEIGHBOR_SUFFIXES = (".npz", ".npy", ".ivecs", ".csv")


def run(args):
    """Search the index and write the neighbours."""
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
    Q = _image_input(
        model,
        args.queries,
        "queries",
        "query images",
        "pass a query feature file.",
    )
    if Q is None:
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


def add_parser(add):
    """Add the ``search`` subcommand; ``add(name, **kwargs)`` makes its parser."""
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
    add_quiet_option(sea)
    return sea
