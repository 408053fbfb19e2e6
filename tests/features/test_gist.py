"""Tests of skhash.features.GIST against a naive per-image oracle."""

import math
import pickle

import numpy as np
import pytest
from _image_checks import NON_IMAGE_CHECKS
from sklearn.utils.estimator_checks import parametrize_with_checks

from skhash.features import GIST

# The common checks feed 2-D X with 2, 3, 5 or 10 columns; GIST reads a 2-D row
# as a square grayscale image, so these checks cannot apply (their properties
# are tested below on image data instead).
_NON_SQUARE = (
    "feeds 2-D X whose width is not a perfect square; GIST reads 2-D rows as "
    "square images (tested on image data in this file)"
)
_EXPECTED_FAILED = {name: _NON_SQUARE for name in NON_IMAGE_CHECKS}


@parametrize_with_checks(
    [GIST(batch_size=8)], expected_failed_checks=lambda est: _EXPECTED_FAILED
)
def test_sklearn_compatible(estimator, check):
    check(estimator)


def _naive_gist(img, orientations=(8, 8, 8, 8), n_blocks=4, fc=4.0, pad=32):
    """One 32x32 grayscale float64 image, written from the definitions with loops."""
    img = img - img.min()
    img = 255.0 * img / img.max()
    # prefilter
    w = 5
    x = np.log(img + 1.0)
    x = np.pad(x, w, mode="symmetric")
    sn, sm = x.shape
    n = max(sn, sm) + max(sn, sm) % 2
    x = np.pad(x, ((0, n - sn), (0, n - sm)), mode="symmetric")
    s1 = fc / math.sqrt(math.log(2))
    fx, fy = np.meshgrid(np.arange(-n // 2, n // 2), np.arange(-n // 2, n // 2))
    gf = np.fft.fftshift(np.exp(-(fx**2 + fy**2) / s1**2))
    out = x - np.real(np.fft.ifft2(np.fft.fft2(x) * gf))
    localstd = np.sqrt(np.abs(np.fft.ifft2(np.fft.fft2(out**2) * gf)))
    out = out / (0.2 + localstd)
    out = out[w : sn - w, w : sm - w]
    # Gabor bank on the padded size
    x = np.pad(out, pad, mode="symmetric")
    nr, nc = x.shape
    fx, fy = np.meshgrid(np.arange(-nc // 2, nc // 2), np.arange(-nr // 2, nr // 2))
    fr = np.fft.fftshift(np.sqrt(fx**2 + fy**2))
    t = np.fft.fftshift(np.angle(fx + 1j * fy))
    F = np.fft.fft2(x)
    feats = []
    for i, n_o in enumerate(orientations):
        for j in range(n_o):
            tr = t + np.pi / n_o * j
            tr = tr + 2 * np.pi * (tr < -np.pi) - 2 * np.pi * (tr > np.pi)
            G = np.exp(
                -10 * 0.35 * (fr / nc / (0.3 / 1.85**i) - 1) ** 2
                - 2 * (16 * n_o**2 / 32**2) * np.pi * tr**2
            )
            ig = np.abs(np.fft.ifft2(F * G))[pad : nr - pad, pad : nc - pad]
            edges_r = np.fix(np.linspace(0, ig.shape[0], n_blocks + 1)).astype(int)
            edges_c = np.fix(np.linspace(0, ig.shape[1], n_blocks + 1)).astype(int)
            for bc in range(n_blocks):  # column-major, as Matlab's reshape
                for br in range(n_blocks):
                    block = ig[
                        edges_r[br] : edges_r[br + 1], edges_c[bc] : edges_c[bc + 1]
                    ]
                    feats.append(block.mean())
    return np.array(feats)


@pytest.fixture
def images():
    rng = np.random.default_rng(0)
    return rng.integers(0, 256, size=(5, 32, 32, 3), dtype=np.uint8)


def test_matches_naive_oracle(images):
    gray = images.mean(axis=3)
    got = GIST(batch_size=2).fit_transform(images)
    want = np.stack([_naive_gist(g) for g in gray])
    assert got.shape == (5, 512)
    np.testing.assert_allclose(got, want, rtol=2e-4, atol=1e-5)


def test_other_bank_matches_oracle(images):
    gray = images[:2].mean(axis=3)
    got = GIST(orientations_per_scale=(8, 8, 4), n_blocks=4).fit_transform(gray)
    want = np.stack([_naive_gist(g, orientations=(8, 8, 4)) for g in gray])
    assert got.shape == (2, 320)
    np.testing.assert_allclose(got, want, rtol=2e-4, atol=1e-5)


def test_input_layouts_agree(images):
    gist = GIST().fit(images)
    gray = images.mean(axis=3)
    ref = gist.transform(images)
    np.testing.assert_allclose(GIST().fit_transform(gray), ref, rtol=1e-5)
    np.testing.assert_allclose(
        GIST().fit_transform(gray.reshape(5, -1)), ref, rtol=1e-5
    )
    np.testing.assert_allclose(GIST().fit_transform(gray[..., None]), ref, rtol=1e-5)


def test_invariant_to_affine_intensity(images):
    gray = images.mean(axis=3)
    a = GIST().fit_transform(gray)
    b = GIST().fit_transform(3.0 * gray + 7.0)
    np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-6)


def test_batch_size_and_order_invariance(images):
    a = GIST(batch_size=5).fit_transform(images)
    b = GIST(batch_size=2).fit_transform(images)
    np.testing.assert_allclose(a, b, rtol=1e-6)
    perm = np.array([3, 1, 4, 0, 2])
    np.testing.assert_allclose(GIST().fit_transform(images[perm]), a[perm], rtol=1e-6)


def test_resize_and_sizes():
    rng = np.random.default_rng(1)
    mnist_like = rng.integers(0, 256, size=(2, 28 * 28)).astype(np.uint8)
    out = GIST().fit_transform(mnist_like)
    assert out.shape == (2, 512) and np.isfinite(out).all()
    out = GIST(image_size=None, n_blocks=2, orientations_per_scale=(4,)).fit_transform(
        mnist_like.reshape(2, 28, 28)
    )
    assert out.shape == (2, 16)
    out = GIST(image_size=(24, 40)).fit_transform(rng.random((2, 30, 50)))
    assert out.shape == (2, 512) and np.isfinite(out).all()


def test_constant_image_is_finite():
    out = GIST().fit_transform(np.full((2, 32, 32), 9, dtype=np.uint8))
    assert np.isfinite(out).all()


def test_pickle_and_feature_names(images):
    gist = GIST().fit(images)
    clone = pickle.loads(pickle.dumps(gist))
    np.testing.assert_array_equal(clone.transform(images), gist.transform(images))
    names = gist.get_feature_names_out()
    assert names.shape == (512,) and names[0] == "gist0"


@pytest.mark.parametrize(
    "X, match",
    [
        (np.zeros((2, 10)), "perfect square"),
        (np.zeros((2, 32, 32, 2)), "expects images"),
        (np.zeros((2, 2, 2, 2, 2)), "expects images"),
        (np.full((2, 32, 32), np.nan), "NaN"),
    ],
)
def test_bad_input(X, match):
    with pytest.raises(ValueError, match=match):
        GIST().fit(X)


def test_bad_params():
    with pytest.raises(ValueError, match="orientations_per_scale"):
        GIST(orientations_per_scale=(8, 0)).fit(np.zeros((1, 32, 32)))
    with pytest.raises(ValueError, match="n_blocks"):
        GIST(image_size=None, n_blocks=8).fit(np.zeros((1, 4, 4)))
    with pytest.raises(ValueError, match="n_blocks"):
        GIST(n_blocks=0).fit(np.zeros((1, 4, 4)))


def test_transform_checks_image_height(images):
    gist = GIST().fit(images)
    with pytest.raises(ValueError, match="features"):
        gist.transform(np.zeros((1, 28, 28)))
