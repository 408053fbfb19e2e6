"""Readers, data home, checksums and download code, on small synthetic files."""

import gzip
import hashlib

import numpy as np
import pytest
from PIL import Image

from skhash.datasets import (
    ChecksumError,
    _base,
    _cifar10,
    _mnist,
    get_data_home,
    load_cifar10,
    load_fashion_mnist,
    load_mnist,
    read_bvecs,
    read_fvecs,
    read_idx,
    read_ivecs,
)


def _write_vecs(path, X, dtype):
    X = np.asarray(X)
    with open(path, "wb") as f:
        for row in X:
            f.write(np.int32(len(row)).astype("<i4").tobytes())
            f.write(row.astype(dtype).tobytes())


@pytest.mark.parametrize(
    "reader, dtype",
    [(read_fvecs, "<f4"), (read_ivecs, "<i4"), (read_bvecs, "u1")],
)
def test_vecs_roundtrip(tmp_path, reader, dtype):
    rng = np.random.default_rng(0)
    X = rng.integers(0, 200, size=(7, 5)).astype(dtype)
    path = tmp_path / "x.vecs"
    _write_vecs(path, X, dtype)
    got = reader(path)
    np.testing.assert_array_equal(got, X)
    assert got.dtype == np.dtype(dtype).newbyteorder("=")
    assert reader(path, max_rows=3).shape == (3, 5)


def test_vecs_errors(tmp_path):
    path = tmp_path / "bad.fvecs"
    _write_vecs(path, np.ones((2, 3)), "<f4")
    with open(path, "ab") as f:
        f.write(b"\x00")
    with pytest.raises(ValueError, match="truncated"):
        read_fvecs(path)
    mixed = tmp_path / "mixed.ivecs"
    with open(mixed, "wb") as f:  # dims 2 then 1 + padding: same total size
        f.write(np.array([2, 1, 2, 1, 5, 5], "<i4").tobytes())
    with pytest.raises(ValueError, match="dimension"):
        read_ivecs(mixed)
    empty = tmp_path / "empty.fvecs"
    empty.write_bytes(b"")
    assert read_fvecs(empty).shape == (0, 0)


def _idx_bytes(arr, code=0x08):
    arr = np.asarray(arr)
    head = np.array([code << 8 | arr.ndim, *arr.shape], dtype=">i4")
    head[0] = (code << 8) | arr.ndim
    return head.tobytes() + arr.tobytes()


@pytest.mark.parametrize("compress", [False, True])
def test_read_idx(tmp_path, compress):
    X = np.arange(24, dtype=np.uint8).reshape(2, 3, 4)
    path = tmp_path / "x-idx3-ubyte"
    data = _idx_bytes(X)
    if compress:
        path = path.with_suffix(".gz")
        with gzip.open(path, "wb") as f:
            f.write(data)
    else:
        path.write_bytes(data)
    np.testing.assert_array_equal(read_idx(path), X)


def test_read_idx_float_and_errors(tmp_path):
    Y = np.array([[1.5, -2.0]], dtype=">f4")
    path = tmp_path / "f.idx"
    path.write_bytes(_idx_bytes(Y, code=0x0D))
    got = read_idx(path)
    assert got.dtype == np.float32 and got.dtype.isnative
    np.testing.assert_array_equal(got, Y)
    path.write_bytes(b"\x01\x02\x08\x01" + b"\x00" * 8)
    with pytest.raises(ValueError, match="magic"):
        read_idx(path)
    path.write_bytes(_idx_bytes(np.zeros(4, np.uint8))[:-1])
    with pytest.raises(ValueError, match="bytes"):
        read_idx(path)


def test_data_home_resolution(tmp_path, monkeypatch):
    monkeypatch.setenv("SKHASH_DATA", str(tmp_path / "env"))
    assert get_data_home() == tmp_path / "env"
    assert get_data_home(tmp_path / "arg") == tmp_path / "arg"
    monkeypatch.delenv("SKHASH_DATA")
    assert get_data_home().name == "skhash_data"


def test_verify_file_and_error_names_file(tmp_path):
    path = tmp_path / "blob.bin"
    path.write_bytes(b"hello")
    good = hashlib.sha256(b"hello").hexdigest()
    _base._verify_file(path, good)
    with pytest.raises(ChecksumError, match="blob.bin"):
        _base._verify_file(path, "0" * 64)


def test_download_file_url(tmp_path):
    src = tmp_path / "src.bin"
    src.write_bytes(b"payload")
    dst = tmp_path / "out" / "dst.bin"
    digest = hashlib.sha256(b"payload").hexdigest()
    _base._download(src.as_uri(), dst, checksum=digest)
    assert dst.read_bytes() == b"payload"
    bad = tmp_path / "out" / "bad.bin"
    with pytest.raises(ChecksumError, match="bad.bin"):
        _base._download(src.as_uri(), bad, checksum="0" * 64)
    assert not bad.exists()
    assert [p.name for p in (tmp_path / "out").iterdir()] == ["dst.bin"]


def _fake_mnist(folder, n_train=6, n_test=4, gz=True):
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    parts = {}
    for stem, n in (("train", n_train), ("t10k", n_test)):
        X = rng.integers(0, 256, size=(n, 28, 28), dtype=np.uint8)
        y = rng.integers(0, 10, size=n).astype(np.uint8)
        for kind, arr in (("images-idx3", X), ("labels-idx1", y)):
            name = f"{stem}-{kind}-ubyte"
            if gz:
                with gzip.open(folder / (name + ".gz"), "wb") as f:
                    f.write(_idx_bytes(arr))
            else:
                (folder / name).write_bytes(_idx_bytes(arr))
        parts[stem] = (X, y)
    return parts


@pytest.mark.parametrize("gz", [True, False])
def test_load_mnist_canonical_layout(tmp_path, gz):
    parts = _fake_mnist(tmp_path / "mnist", gz=gz)
    bunch = load_mnist("all", data_home=tmp_path, verify=False)
    X = np.concatenate([parts["train"][0], parts["t10k"][0]])
    np.testing.assert_array_equal(bunch.images, X)
    assert bunch.data.shape == (10, 784) and bunch.data.dtype == np.uint8
    assert bunch.target.dtype == np.int64
    assert list(bunch.split) == ["train"] * 6 + ["test"] * 4
    assert "Licence" in bunch.DESCR and "lecun" in bunch.DESCR.lower()
    X_test, y_test = load_mnist(
        "test", data_home=tmp_path, return_X_y=True, verify=False
    )
    np.testing.assert_array_equal(y_test, parts["t10k"][1])
    assert X_test.shape == (4, 784)


def test_load_mnist_png_layout(tmp_path, monkeypatch):
    folder = tmp_path / "mnist"
    parts = _fake_mnist(folder, n_train=40)
    (folder / "train-images-idx3-ubyte.gz").unlink()
    (folder / "convnetjs").mkdir()
    X = parts["train"][0].reshape(40, 784)
    for i in range(20):
        Image.fromarray(X[2 * i : 2 * i + 2], mode="L").save(
            folder / "convnetjs" / f"mnist_batch_{i}.png"
        )
    bunch = load_mnist("train", data_home=tmp_path, verify=False)
    np.testing.assert_array_equal(bunch.data, X)
    # With verification on, the fake PNG strips fail their sha256, named in the error.
    with pytest.raises(ChecksumError, match="mnist_batch_0.png"):
        load_mnist("train", data_home=tmp_path)


def test_load_mnist_checksum_and_missing(tmp_path):
    _fake_mnist(tmp_path / "mnist")
    with pytest.raises(ChecksumError, match="t10k-images-idx3-ubyte.gz"):
        load_mnist("test", data_home=tmp_path)
    with pytest.raises(FileNotFoundError, match="download=True"):
        load_fashion_mnist(data_home=tmp_path)
    with pytest.raises(ValueError, match="subset"):
        load_mnist("val", data_home=tmp_path)


def test_load_mnist_content_md5_accepts_recompressed_copy(tmp_path, monkeypatch):
    parts = _fake_mnist(tmp_path / "mnist")
    X, y = parts["t10k"]
    md5 = dict(_mnist._MNIST_CONTENT_MD5)
    md5["t10k-images-idx3-ubyte"] = hashlib.md5(_idx_bytes(X)).hexdigest()
    md5["t10k-labels-idx1-ubyte"] = hashlib.md5(_idx_bytes(y)).hexdigest()
    monkeypatch.setattr(_mnist, "_MNIST_CONTENT_MD5", md5)
    np.testing.assert_array_equal(load_mnist("test", data_home=tmp_path).target, y)


def test_download_mnist_from_file_urls(tmp_path, monkeypatch):
    mirror = tmp_path / "mirror"
    parts = _fake_mnist(mirror)
    monkeypatch.setattr(_mnist, "_FASHION_URLS", (mirror.as_uri() + "/",))
    home = tmp_path / "home"
    bunch = load_fashion_mnist("all", data_home=home, download=True, verify=False)
    np.testing.assert_array_equal(bunch.target[6:], parts["t10k"][1])
    assert sorted(p.name for p in (home / "fashion-mnist").iterdir()) == sorted(
        p.name for p in mirror.iterdir()
    )


def _fake_cifar_png_subset(folder, n_per_strip=3):
    rng = np.random.default_rng(0)
    folder.mkdir(parents=True)
    strips = {}
    for i in (0, 1, 2, 3, 50):
        arr = rng.integers(0, 256, size=(n_per_strip, 32, 32, 3), dtype=np.uint8)
        Image.fromarray(arr.reshape(n_per_strip, 1024, 3), mode="RGB").save(
            folder / f"cifar10_batch_{i}.png"
        )
        strips[i] = arr
    labels = np.tile(np.arange(10), 5100)
    (folder / "cifar10_labels.js").write_text(
        "var labels=[" + ",".join(map(str, labels)) + "];\n"
    )
    return strips, labels


def test_load_cifar10_png_subset(tmp_path):
    strips, labels = _fake_cifar_png_subset(tmp_path / "cifar10" / "png-subset")
    b = load_cifar10("all", source="png-subset", data_home=tmp_path, verify=False)
    assert b.data.shape == (15, 32, 32, 3) and b.data.dtype == np.uint8
    np.testing.assert_array_equal(b.data[:3], strips[0])
    np.testing.assert_array_equal(b.data[12:], strips[50])
    np.testing.assert_array_equal(b.target[:12], labels[:12])
    np.testing.assert_array_equal(b.target[12:], labels[50000:50003])
    with pytest.raises(ChecksumError, match="cifar10_labels.js"):
        load_cifar10("train", source="png-subset", data_home=tmp_path)


def test_load_cifar10_jpeg_order(tmp_path):
    import io
    import zipfile

    _, labels = _fake_cifar_png_subset(tmp_path / "cifar10" / "png-subset")
    rng = np.random.default_rng(1)
    labels = rng.permutation(np.repeat(np.arange(10), 5000))
    test_head = rng.permutation(np.repeat(np.arange(10), 100))
    all_labels = np.concatenate([labels, test_head])
    (tmp_path / "cifar10" / "png-subset" / "cifar10_labels.js").write_text(
        "var labels=[" + ",".join(map(str, all_labels)) + "];"
    )
    (tmp_path / "cifar10" / "jpeg").mkdir()
    # Every JPEG is a flat image whose value encodes (class, rank) coarsely.
    cache = {}

    def jpeg(value):
        if value not in cache:
            buf = io.BytesIO()
            Image.fromarray(np.full((32, 32, 3), value, np.uint8)).save(buf, "JPEG")
            cache[value] = buf.getvalue()
        return cache[value]

    with zipfile.ZipFile(tmp_path / "cifar10" / "jpeg" / "cifar10-jpeg.zip", "w") as z:
        for part, n in (("train", 5000), ("test", 1000)):
            for c, cls in enumerate(_cifar10.CIFAR10_CLASSES):
                for r in range(n):
                    value = 12 * c + 2 * (r % 5) + (120 if part == "test" else 0)
                    z.writestr(f"{part}/{cls}/{r:04d}.jpg", jpeg(value))
    b = load_cifar10("all", source="jpeg", data_home=tmp_path, verify=False)
    assert b.data.shape == (60000, 32, 32, 3)
    np.testing.assert_array_equal(b.target[:50000], labels)
    np.testing.assert_array_equal(b.target[50000:51000], test_head)
    assert np.bincount(b.target[50000:]).tolist() == [1000] * 10
    # training image i is the rank-th image of its class
    rank = np.array([np.sum(labels[:i] == labels[i]) for i in range(50)])
    want = 12 * labels[:50] + 2 * (rank % 5)
    np.testing.assert_allclose(b.data[:50, 0, 0, 0], want, atol=1)
    assert b.filenames[0] == f"train/{_cifar10.CIFAR10_CLASSES[labels[0]]}/0000.jpg"


def test_load_cifar10_errors(tmp_path):
    with pytest.raises(ValueError, match="source"):
        load_cifar10(source="bmp", data_home=tmp_path)
    with pytest.raises(ValueError, match="download=True is not available"):
        load_cifar10(source="jpeg", data_home=tmp_path, download=True)
    with pytest.raises(FileNotFoundError, match="cifar-10-batches-py"):
        load_cifar10(data_home=tmp_path)
    with pytest.raises(FileNotFoundError, match="cifar10-jpeg.zip"):
        load_cifar10(source="jpeg", data_home=tmp_path)


def _md5(path):
    return hashlib.md5(path.read_bytes()).hexdigest()


@pytest.fixture
def cifar_python_mirror(tmp_path, monkeypatch):
    """A small tarball laid out as the original ``cifar-10-python.tar.gz``,
    served from a file:// URL, with the loader's checksums pointed at it."""
    import pickle
    import tarfile

    rng = np.random.default_rng(0)
    src = tmp_path / "mirror" / "cifar-10-batches-py"
    src.mkdir(parents=True)
    batches = {}
    for name in [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]:
        data = rng.integers(0, 256, size=(4, 3072), dtype=np.uint8)
        labels = rng.integers(0, 10, size=4).tolist()
        with open(src / name, "wb") as f:
            pickle.dump({b"data": data, b"labels": labels}, f)
        batches[name] = (data, labels)
    with open(src / "batches.meta", "wb") as f:
        pickle.dump({b"label_names": list(_cifar10.CIFAR10_CLASSES)}, f)
    tar = tmp_path / "mirror" / "cifar-10-python.tar.gz"
    with tarfile.open(tar, "w:gz") as tf:
        tf.add(src, arcname="cifar-10-batches-py")
    monkeypatch.setattr(_cifar10, "_PYTHON_URL", tar.as_uri())
    monkeypatch.setattr(_cifar10, "_PYTHON_MD5", _md5(tar))
    monkeypatch.setattr(
        _cifar10, "_PYTHON_BATCH_MD5", {p.name: _md5(p) for p in src.iterdir()}
    )
    return tmp_path / "home", batches


def test_load_cifar10_downloads_the_original_batches_by_default(cifar_python_mirror):
    home, batches = cifar_python_mirror
    b = load_cifar10("all", data_home=home, download=True)
    assert b.source == "python" and b.data.shape == (24, 32, 32, 3)
    first, labels = batches["data_batch_1"]
    np.testing.assert_array_equal(
        b.data[:4], first.reshape(4, 3, 32, 32).transpose(0, 2, 3, 1)
    )
    np.testing.assert_array_equal(b.target[:4], labels)
    np.testing.assert_array_equal(b.target[20:], batches["test_batch"][1])
    assert b.split.tolist() == ["train"] * 20 + ["test"] * 4
    # once fetched, the batches load without a download, each md5-checked
    test = load_cifar10("test", data_home=home)
    np.testing.assert_array_equal(test.target, batches["test_batch"][1])
    batch = home / "cifar10" / "cifar-10-batches-py" / "test_batch"
    batch.write_bytes(batch.read_bytes() + b"\0")
    with pytest.raises(ChecksumError, match="test_batch"):
        load_cifar10("test", data_home=home)
    np.testing.assert_array_equal(
        load_cifar10("test", data_home=home, verify=False).target,
        batches["test_batch"][1],
    )


def test_load_cifar10_download_checks_the_extracted_batches(
    cifar_python_mirror, monkeypatch
):
    # Verified when fetched, whatever ``verify`` says for loading.
    home, _ = cifar_python_mirror
    md5s = dict(_cifar10._PYTHON_BATCH_MD5)
    md5s["data_batch_3"] = "0" * 32
    monkeypatch.setattr(_cifar10, "_PYTHON_BATCH_MD5", md5s)
    with pytest.raises(ChecksumError, match="data_batch_3"):
        load_cifar10(data_home=home, download=True, verify=False)


def test_load_cifar10_download_checks_the_tarball(cifar_python_mirror, monkeypatch):
    home, _ = cifar_python_mirror
    monkeypatch.setattr(_cifar10, "_PYTHON_MD5", "0" * 32)
    with pytest.raises(ChecksumError, match="cifar-10-python.tar.gz"):
        load_cifar10(data_home=home, download=True)
    assert not (home / "cifar10" / "cifar-10-python.tar.gz").exists()
