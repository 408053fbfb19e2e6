"""Checks on the real files (../shared/data or SKHASH_DATA); skipped without them."""

import numpy as np
import pytest

from skhash.datasets import (
    euclidean_ground_truth,
    load_cifar10,
    load_fashion_mnist,
    load_mnist,
    retrieval_split,
)
from skhash.datasets._base import _file_digest
from skhash.datasets._cifar10 import _SHA256 as CIFAR_SHA256
from skhash.datasets._mnist import _FASHION_SHA256, _MNIST_PNG_SHA256, _MNIST_SHA256

pytestmark = pytest.mark.data


def test_checksums_as_in_readme(real_data_home):
    for name, digest in _MNIST_SHA256.items():
        assert _file_digest(real_data_home / "mnist" / name) == digest
    for i, digest in _MNIST_PNG_SHA256.items():
        path = real_data_home / "mnist" / "convnetjs" / f"mnist_batch_{i}.png"
        assert _file_digest(path) == digest
    for name, digest in _FASHION_SHA256.items():
        assert _file_digest(real_data_home / "fashion-mnist" / name) == digest
    for name, digest in CIFAR_SHA256.items():
        assert _file_digest(real_data_home / "cifar10" / name) == digest


def test_mnist(real_data_home):
    b = load_mnist("all", data_home=real_data_home)
    assert b.data.shape == (70000, 784) and b.data.dtype == np.uint8
    train, test = b.target[:60000], b.target[60000:]
    assert np.bincount(train).tolist() == [
        5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949
    ]  # fmt: skip
    assert np.bincount(test).tolist() == [
        980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009
    ]  # fmt: skip
    assert round(b.data[:60000].mean() / 255, 6) == 0.130660
    assert round(b.data[60000:].mean() / 255, 6) == 0.132515
    s = retrieval_split(b.target, protocol="mnist-bdnn")
    assert (len(s.query), len(s.database)) == (10000, 60000)


def test_fashion_mnist(real_data_home):
    X, y = load_fashion_mnist("all", data_home=real_data_home, return_X_y=True)
    assert X.shape == (70000, 784)
    assert np.bincount(y).tolist() == [7000] * 10
    s = retrieval_split(y, protocol="fashion-mnist-dnnh", random_state=0)
    assert np.bincount(y[s.query]).tolist() == [100] * 10


def test_cifar10_png_subset(real_data_home):
    b = load_cifar10("all", source="png-subset", data_home=real_data_home)
    assert b.data.shape == (5000, 32, 32, 3)
    assert b.target[:10].tolist() == [6, 9, 9, 4, 1, 1, 2, 7, 8, 3]
    assert b.target[4000:4010].tolist() == [3, 8, 8, 0, 6, 6, 1, 6, 3, 1]
    planar = b.data[0].transpose(2, 0, 1).ravel()
    assert planar[:9].tolist() == [59, 43, 50, 68, 98, 119, 139, 145, 149]
    assert planar[-3:].tolist() == [140, 84, 72]
    assert b.data[4000].transpose(2, 0, 1).ravel()[:3].tolist() == [158, 159, 165]


@pytest.mark.slow
def test_cifar10_jpeg(real_data_home):
    b = load_cifar10("all", source="jpeg", data_home=real_data_home)
    assert b.data.shape == (60000, 32, 32, 3)
    assert np.bincount(b.target[:50000]).tolist() == [5000] * 10
    assert np.bincount(b.target[50000:]).tolist() == [1000] * 10
    mean = b.data[:50000].reshape(-1, 3).mean(axis=0) / 255
    np.testing.assert_allclose(mean, [0.49125, 0.48209, 0.44652], atol=5e-6)
    # Same images as the lossless subset, up to the JPEG loss (PSNR ~30 dB).
    png = load_cifar10("all", source="png-subset", data_home=real_data_home)
    jpeg = np.concatenate([b.data[:4000], b.data[50000:51000]]).astype(float)
    rmse = np.sqrt(np.mean((jpeg - png.data) ** 2))
    assert 7.0 < rmse < 9.0
    s = retrieval_split(b.target, protocol="cifar10-dnnh", random_state=0)
    assert (len(s.query), len(s.train), len(s.database)) == (1000, 5000, 59000)


def test_ground_truth_on_mnist_sample(real_data_home):
    X, _ = load_mnist("test", data_home=real_data_home, return_X_y=True)
    X = X[:2000].astype(np.float64)
    idx = euclidean_ground_truth(X[:20], X, 50)
    d = ((X[:20, None, :] - X[None, :, :]) ** 2).sum(-1)
    want = np.array([np.lexsort((np.arange(len(X)), row))[:50] for row in d])
    np.testing.assert_array_equal(idx, want)
