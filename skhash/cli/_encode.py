"""``skhash encode``: features or images to codes with a fitted model."""

from skhash.cli._images import _image_input
from skhash.cli._io import (
    CommandError,
    _check_output_path,
    _chunks,
    _load_model,
    _log,
    _read_matrix,
    _write_npy,
    _write_text,
    add_quiet_option,
)
from skhash.cli._models import _encoder_of, _is_quantizer_index, _n_features


def run(args):
    """Encode a file or a folder of images and write the codes."""
    import numpy as np

    out = _check_output_path(args.output, (".npy",), "--output")
    model = _load_model(args.model)
    encoder = _encoder_of(model, args.model)
    paths = _image_input(
        model,
        args.data,
        "data",
        "images",
        "fit it on a folder of images to encode images.",
    )
    if paths is not None:
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


def add_parser(add):
    """Add the ``encode`` subcommand; ``add(name, **kwargs)`` makes its parser."""
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
    add_quiet_option(enc)
    return enc
