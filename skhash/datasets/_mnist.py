"""Loaders of MNIST and Fashion-MNIST from a local copy (IDX files or PNG strips)."""

import hashlib
import os

import numpy as np
from sklearn.utils import Bunch

from skhash.datasets._base import (
    ChecksumError,
    _download,
    _source_description,
    _verify_bytes,
    _verify_file,
    get_data_home,
)
from skhash.datasets._readers import _idx_from_bytes, _read_maybe_gzip

__all__ = ["load_fashion_mnist", "load_mnist"]

_IDX_NAMES = {
    ("train", "images"): "train-images-idx3-ubyte",
    ("train", "labels"): "train-labels-idx1-ubyte",
    ("test", "images"): "t10k-images-idx3-ubyte",
    ("test", "labels"): "t10k-labels-idx1-ubyte",
}

# md5 of the *decompressed* official IDX files: the check does not depend on how
# a mirror recompressed the gzip stream (the shared copy and Debian did).
_MNIST_CONTENT_MD5 = {
    "train-images-idx3-ubyte": "6bbc9ace898e44ae57da46a324031adb",
    "train-labels-idx1-ubyte": "a25bea736e30d166cdddb491f175f624",
    "t10k-images-idx3-ubyte": "2646ac647ad5339dbf082846283269ea",
    "t10k-labels-idx1-ubyte": "27ae3e4e09519cfbb04c329615203637",
}
_FASHION_CONTENT_MD5 = {
    "train-images-idx3-ubyte": "f4a8712d7a061bf5bd6d2ca38dc4d50a",
    "train-labels-idx1-ubyte": "9018921c3c673c538a1fc5bad174d6f9",
    "t10k-images-idx3-ubyte": "8181f5470baa50b63fa0f6fddb340f0a",
    "t10k-labels-idx1-ubyte": "15d484375f8d13e6eb1aabb0c3f46965",
}

# sha256 of the compressed files of the known local copies (kelas/mnist for
# MNIST, Debian's dataset-fashion-mnist for Fashion-MNIST): a matching file is
# accepted without hashing its decompressed content a second time.
_MNIST_SHA256 = {
    "t10k-images-idx3-ubyte.gz": (
        "167310007f03058885c7e95e6c0b19c20de5c7fd3031f4cbdadc9014a523d80b"
    ),
    "t10k-labels-idx1-ubyte.gz": (
        "fc607395669ec21321ea83e4b82c0544b7e8e63ff5b34337c06bc0a17cc0da3c"
    ),
    "train-labels-idx1-ubyte.gz": (
        "ec02e7948609e5754d47881c09b8afdd8dfa60600b9e5388c8c54a67069ec772"
    ),
}
_FASHION_SHA256 = {
    "t10k-images-idx3-ubyte.gz": (
        "cc1d090a38ace84dfa1aa66e3ada7c336ef481a96936906477e6dd344da56eaa"
    ),
    "t10k-labels-idx1-ubyte.gz": (
        "8d3605d196f4be44669e46906da9733c8131fef761fdbfec72c424d5222f1a05"
    ),
    "train-images-idx3-ubyte.gz": (
        "b0564c3eedabfbf835052cff8503ea422014ce006caf5b757f851416ee8300c7"
    ),
    "train-labels-idx1-ubyte.gz": (
        "0ae29f65d86684f32d1b9c85147786c547b9c6aebcaf235f0400a0cce308b056"
    ),
}
# The 20 PNG strips of the ConvNetJS demo (karpathy/convnetjs): row i of strip N
# is training image 3000 * N + i.
_MNIST_PNG_SHA256 = {
    0: "54d39dfaf0057158346bcabe733a4a93a8a02595adf2496abe8123c7eed85457",
    1: "de5ff3ee0fb8052d80c8124a61dbd9896a10cec11237ceae61cd4d8053288bb0",
    2: "14578a89cd497e00403c345c7b6523995f84f7a30561de28b238483364f6c1cd",
    3: "2d6161d591840118584158b98df72203b16373a92602a1597d837333181de55b",
    4: "cd84689bd8dfc3737b821097fc604d3b7e8bc125d3cd6a3bb30a7507ef4d7ce5",
    5: "abf32f587873280bb38c1593d4555b74eac743156569a2e380effd944732102c",
    6: "20ae1fc9d7381ae9f3f8e93e6f717a829b9c5f2648ab90d859359c34f6df370b",
    7: "b601118422f7c8cbea0a8daf008b10bbe10c17a3e3162d69db7068bd0f81aadb",
    8: "b4f82b66b9f155c7ee00e1265ad3f6d6fa10dcf48134f5b7ec650a719e0c07b9",
    9: "3578cf8893f90d94909250faa124d26df2a015a936bf38e93c8294ea262c74f4",
    10: "0e115b0b2618bd472aec7aca32a0614ff6804a00c91414ca1ab8926bec1d9d82",
    11: "47b3c7da91a1a6f6d2be559b7b34144a2b7098dc6e131432b0bed4607f95e5cb",
    12: "708bb164b1a0fb3ab07ebc57e63ba324af3f311d57f0849a1e105f4ae90f11ad",
    13: "708bffa630556b78d1954b66198bbb706afefce7c96268970b67c69c1a71968e",
    14: "1dae86b58155d10c39c9a1103851cc3e830ae4f1d6d8d436dcc8aea24f99eff8",
    15: "f4e1ba671eaa6cde349d21be84b53967aba199e51dc43358b4ee0defb62a4018",
    16: "1a6e9e424fab5c1ab0f6df455e8dbda94a132db99a199f27c576babc15b21317",
    17: "bc37aca4047ce38258e1cce2357d0267dd2bdce930743dd111ee9944081b5cd4",
    18: "c1a0167b5a8489408ec955a5c3b82f8b9238174ba63006758bd1d8352dac2b98",
    19: "dcc5166de8a1155640ea4afd5bd4cfef547608d3dea82aeade74bc5e03927dcd",
}
_N_PNG_STRIPS = 20

_MNIST_URLS = (
    "https://ossci-datasets.s3.amazonaws.com/mnist/",
    "http://yann.lecun.com/exdb/mnist/",
)
_FASHION_URLS = (
    "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",
    "https://raw.githubusercontent.com/zalandoresearch/fashion-mnist/master/data/fashion/",
)

_MNIST_DESCR = _source_description(
    "MNIST handwritten digits",
    "Y. LeCun, C. Cortes, C. J. C. Burges, http://yann.lecun.com/exdb/mnist/ "
    "(60,000 training + 10,000 test images of 28x28 uint8 pixels, labels 0-9).",
    "(c) Yann LeCun and Corinna Cortes; CC BY-SA 3.0 as stated by the Keras and "
    "TensorFlow documentation.",
    "data: (n, 784) uint8 rows in IDX row-major order; images: the same as "
    "(n, 28, 28); split: 'train' or 'test' per row (train rows first when "
    "subset='all').",
)
_FASHION_DESCR = _source_description(
    "Fashion-MNIST",
    "H. Xiao, K. Rasul, R. Vollgraf (Zalando Research), "
    "https://github.com/zalandoresearch/fashion-mnist (60,000 + 10,000 images of "
    "28x28 uint8 pixels, 10 classes).",
    "MIT (Expat), (c) 2017 Zalando SE.",
    "data: (n, 784) uint8 rows; images: (n, 28, 28); split: 'train' or 'test' per "
    "row (train rows first when subset='all').",
)

_FASHION_CLASSES = (
    "T-shirt/top",
    "Trouser",
    "Pullover",
    "Dress",
    "Coat",
    "Sandal",
    "Shirt",
    "Sneaker",
    "Bag",
    "Ankle boot",
)

_SUBSETS = ("train", "test", "all")


def _check_subset(subset):
    if subset not in _SUBSETS:
        raise ValueError(f"subset must be one of {_SUBSETS}; got {subset!r}.")
    return ("train", "test") if subset == "all" else (subset,)


def _find_idx(folder, stem):
    """Return the existing file for an IDX stem (``.gz`` preferred) or None."""
    for name in (stem + ".gz", stem):
        path = folder / name
        if path.is_file():
            return path
    return None


def _load_idx_checked(path, stem, content_md5, sha256_table, verify):
    if verify:
        expected = sha256_table.get(path.name)
        if expected is not None and _cached_ok(path, expected):
            verify = False
    raw = _read_maybe_gzip(path)
    if verify:
        _verify_bytes(raw, content_md5[stem], os.fspath(path))
    return _idx_from_bytes(raw, repr(os.fspath(path)))


def _cached_ok(path, expected):
    try:
        _verify_file(path, expected)
    except ChecksumError:
        return False
    return True


def _read_png_strips(folder, verify):
    from PIL import Image

    strips = []
    for i in range(_N_PNG_STRIPS):
        path = folder / f"mnist_batch_{i}.png"
        if verify:
            _verify_file(path, _MNIST_PNG_SHA256[i])
        with Image.open(path) as im:
            if im.mode != "L":
                raise ValueError(
                    f"{os.fspath(path)!r}: expected an 8-bit grayscale PNG, got mode "
                    f"{im.mode!r}."
                )
            strips.append(np.asarray(im, dtype=np.uint8))
    data = np.concatenate(strips)
    if data.shape[1] != 784:
        raise ValueError(
            f"PNG strips in {os.fspath(folder)!r} are {data.shape[1]} pixels wide; "
            "expected 784 (one 28x28 image per row)."
        )
    if verify:
        header = np.array([2051, data.shape[0], 28, 28], dtype=">i4").tobytes()
        digest = hashlib.md5(header + data.tobytes()).hexdigest()
        if digest != _MNIST_CONTENT_MD5["train-images-idx3-ubyte"]:
            raise ChecksumError(
                f"The PNG strips in {os.fspath(folder)!r} do not rebuild the official "
                f"train-images-idx3-ubyte (md5 {digest})."
            )
    return data.reshape(-1, 28, 28)


def _fetch_idx(folder, stems, urls):
    last_error = None
    for stem in stems:
        if _find_idx(folder, stem) is not None:
            continue
        for base in urls:
            try:
                _download(base + stem + ".gz", folder / (stem + ".gz"))
                break
            except OSError as exc:  # try the next mirror
                last_error = exc
        else:
            raise OSError(
                f"Could not download {stem}.gz from any of {urls}: {last_error}"
            )


def _load_idx_dataset(
    name,
    folder,
    subset,
    *,
    download,
    verify,
    content_md5,
    sha256_table,
    urls,
    png_folder=None,
):
    parts = _check_subset(subset)
    if download:
        stems = [_IDX_NAMES[(p, kind)] for p in parts for kind in ("images", "labels")]
        if png_folder is not None and "train" in parts:
            strips = [png_folder / f"mnist_batch_{i}.png" for i in range(_N_PNG_STRIPS)]
            if all(p.is_file() for p in strips):
                stems.remove(_IDX_NAMES[("train", "images")])
        _fetch_idx(folder, stems, urls)

    images, labels, split = [], [], []
    for part in parts:
        img_stem, lab_stem = _IDX_NAMES[(part, "images")], _IDX_NAMES[(part, "labels")]
        img_path = _find_idx(folder, img_stem)
        lab_path = _find_idx(folder, lab_stem)
        if lab_path is None:
            raise FileNotFoundError(
                f"{name}: no {lab_stem}[.gz] in {os.fspath(folder)!r}. Put a local "
                "copy there, set SKHASH_DATA or data_home, or pass download=True."
            )
        if img_path is not None:
            X = _load_idx_checked(img_path, img_stem, content_md5, sha256_table, verify)
        elif png_folder is not None and part == "train" and png_folder.is_dir():
            X = _read_png_strips(png_folder, verify)
        else:
            raise FileNotFoundError(
                f"{name}: no {img_stem}[.gz] in {os.fspath(folder)!r}"
                + (" and no PNG strips in convnetjs/" if png_folder is not None else "")
                + ". Put a local copy there, set SKHASH_DATA or data_home, or pass "
                "download=True."
            )
        y = _load_idx_checked(lab_path, lab_stem, content_md5, sha256_table, verify)
        if X.ndim != 3 or X.shape[0] != y.shape[0]:
            raise ValueError(
                f"{name} {part}: {X.shape[0]} images but {y.shape[0]} labels."
            )
        images.append(X)
        labels.append(y)
        split.append(np.full(X.shape[0], part))
    images = np.concatenate(images) if len(images) > 1 else images[0]
    target = np.concatenate(labels).astype(np.int64)
    return images, target, np.concatenate(split)


def _finish(images, target, split, target_names, descr, subset, return_X_y):
    data = images.reshape(images.shape[0], -1)
    if return_X_y:
        return data, target
    return Bunch(
        data=data,
        images=data.reshape(images.shape),
        target=target,
        target_names=np.asarray(target_names),
        split=split,
        subset=subset,
        DESCR=descr,
    )


def load_mnist(
    subset="train", *, data_home=None, download=False, return_X_y=False, verify=True
):
    """Load the MNIST handwritten digits from a local copy.

    The files are looked for in ``<data_home>/mnist/``. Two layouts are read:

    * the four canonical IDX files ``train-images-idx3-ubyte``,
      ``train-labels-idx1-ubyte``, ``t10k-images-idx3-ubyte``,
      ``t10k-labels-idx1-ubyte`` (each plain or ``.gz``);
    * the shared copy's layout: IDX files for the labels and test images, and the
      training images as the 20 PNG strips ``convnetjs/mnist_batch_{0..19}.png``
      of the ConvNetJS demo (row ``i`` of strip ``N`` is image ``3000 N + i``).

    The IDX training-image file is used when present, else the PNG strips.

    Parameters
    ----------
    subset : {"train", "test", "all"}, default="train"
        Which images: the 60,000 training images, the 10,000 test images, or both
        (training first).
    data_home : str or path-like, default=None
        Data folder; default ``SKHASH_DATA``, else ``~/skhash_data``
        (see :func:`get_data_home`).
    download : bool, default=False
        Fetch the missing canonical IDX files from the original source (the
        PyTorch mirror ``ossci-datasets``, then LeCun's site) into
        ``<data_home>/mnist/``.
    return_X_y : bool, default=False
        Return ``(data, target)`` instead of a Bunch.
    verify : bool, default=True
        Check every file: the sha256 of the known ``.gz`` copies and PNG strips,
        else the md5 of the decompressed IDX content published for the official
        files. A mismatch raises :class:`ChecksumError` naming the file.

    Returns
    -------
    data : :class:`~sklearn.utils.Bunch`
        ``data`` (n, 784) uint8, ``images`` (n, 28, 28) uint8 (a view of the
        same pixels), ``target`` (n,) int64, ``target_names``, ``split``
        ('train' or 'test' per row), ``subset``, ``DESCR`` (source and licence).
    (data, target) : tuple
        If ``return_X_y`` is True.

    Examples
    --------
    >>> import os, tempfile, numpy as np, gzip
    >>> from skhash.datasets import load_mnist
    >>> home = tempfile.mkdtemp(); os.mkdir(os.path.join(home, "mnist"))
    >>> def idx(path, arr):  # a tiny fake copy in the canonical layout
    ...     head = np.array([0x0800 + arr.ndim, *arr.shape], ">i4").tobytes()
    ...     with gzip.open(os.path.join(home, "mnist", path), "wb") as f:
    ...         _ = f.write(head + arr.tobytes())
    >>> idx("t10k-images-idx3-ubyte.gz", np.zeros((3, 28, 28), np.uint8))
    >>> idx("t10k-labels-idx1-ubyte.gz", np.array([7, 2, 1], np.uint8))
    >>> X, y = load_mnist("test", data_home=home, return_X_y=True, verify=False)
    >>> X.shape, X.dtype, y
    ((3, 784), dtype('uint8'), array([7, 2, 1]))
    """
    folder = get_data_home(data_home) / "mnist"
    images, target, split = _load_idx_dataset(
        "MNIST",
        folder,
        subset,
        download=download,
        verify=verify,
        content_md5=_MNIST_CONTENT_MD5,
        sha256_table=_MNIST_SHA256,
        urls=_MNIST_URLS,
        png_folder=folder / "convnetjs",
    )
    names = [str(i) for i in range(10)]
    return _finish(images, target, split, names, _MNIST_DESCR, subset, return_X_y)


def load_fashion_mnist(
    subset="train", *, data_home=None, download=False, return_X_y=False, verify=True
):
    """Load Fashion-MNIST (Zalando) from a local copy.

    The four canonical IDX files (plain or ``.gz``) are read from
    ``<data_home>/fashion-mnist/``.

    Parameters
    ----------
    subset : {"train", "test", "all"}, default="train"
        The 60,000 training images, the 10,000 test images, or both (training
        first).
    data_home : str or path-like, default=None
        Data folder; default ``SKHASH_DATA``, else ``~/skhash_data``.
    download : bool, default=False
        Fetch the missing files from the original source (Zalando's S3 bucket,
        then the GitHub repository) into ``<data_home>/fashion-mnist/``.
    return_X_y : bool, default=False
        Return ``(data, target)`` instead of a Bunch.
    verify : bool, default=True
        Check the sha256 of the known ``.gz`` copies (Debian's package), else the
        md5 of the decompressed content published for the official files.

    Returns
    -------
    data : :class:`~sklearn.utils.Bunch`
        ``data`` (n, 784) uint8, ``images`` (n, 28, 28), ``target`` (n,) int64,
        ``target_names`` (the 10 class names), ``split``, ``subset``, ``DESCR``.
    (data, target) : tuple
        If ``return_X_y`` is True.

    Examples
    --------
    >>> import os, tempfile, numpy as np
    >>> from skhash.datasets import load_fashion_mnist
    >>> home = tempfile.mkdtemp(); os.mkdir(os.path.join(home, "fashion-mnist"))
    >>> def idx(path, arr):  # uncompressed IDX files are accepted too
    ...     head = np.array([0x0800 + arr.ndim, *arr.shape], ">i4").tobytes()
    ...     with open(os.path.join(home, "fashion-mnist", path), "wb") as f:
    ...         _ = f.write(head + arr.tobytes())
    >>> idx("t10k-images-idx3-ubyte", np.zeros((2, 28, 28), np.uint8))
    >>> idx("t10k-labels-idx1-ubyte", np.array([9, 0], np.uint8))
    >>> data = load_fashion_mnist("test", data_home=home, verify=False)
    >>> data.images.shape, data.target_names[data.target].tolist()
    ((2, 28, 28), ['Ankle boot', 'T-shirt/top'])
    """
    folder = get_data_home(data_home) / "fashion-mnist"
    images, target, split = _load_idx_dataset(
        "Fashion-MNIST",
        folder,
        subset,
        download=download,
        verify=verify,
        content_md5=_FASHION_CONTENT_MD5,
        sha256_table=_FASHION_SHA256,
        urls=_FASHION_URLS,
    )
    return _finish(
        images, target, split, _FASHION_CLASSES, _FASHION_DESCR, subset, return_X_y
    )
