"""GIST descriptor (Oliva & Torralba) as a vectorised scikit-learn transformer."""

import math
from functools import lru_cache
from numbers import Integral, Real

import numpy as np
import scipy.fft
from scipy import ndimage
from sklearn.base import (
    BaseEstimator,
    ClassNamePrefixFeaturesOutMixin,
    TransformerMixin,
    _fit_context,
)
from sklearn.utils._param_validation import Interval
from sklearn.utils.validation import check_is_fitted, validate_data

from skhash._validation import IntInterval
from skhash.base import DocLinkMixin

__all__ = ["GIST"]

# Prefilter padding of the reference implementation (pixels on each side).
_PREFILTER_PAD = 5


@lru_cache(maxsize=8)
def _gabor_bank(orientations, shape):
    """Transfer functions ``(n_filters, H, W)`` of the Gabor bank, FFT layout.

    Scale ``i`` (0-based) with ``n_o`` orientations has the radial centre
    ``0.3 / 1.85**i`` (in cycles per pixel, relative to the padded width), the
    radial width parameter ``0.35`` and the angular concentration
    ``16 n_o**2 / 32**2``; orientation ``j`` is rotated by ``pi j / n_o``.
    """
    n_rows, n_cols = shape
    fy = np.fft.fftfreq(n_rows, 1.0 / n_rows)[:, None]
    fx = np.fft.fftfreq(n_cols, 1.0 / n_cols)[None, :]
    radius = np.hypot(fx, fy)
    angle = np.arctan2(fy, fx)
    filters = []
    for scale, n_o in enumerate(orientations):
        centre = 0.3 / 1.85**scale
        concentration = 16.0 * n_o**2 / 32.0**2
        for j in range(n_o):
            theta = angle + np.pi / n_o * j
            theta = theta + 2 * np.pi * (theta < -np.pi) - 2 * np.pi * (theta > np.pi)
            g = np.exp(
                -10.0 * 0.35 * (radius / n_cols / centre - 1.0) ** 2
                - 2.0 * concentration * np.pi * theta**2
            )
            filters.append(g)
    bank = np.stack(filters).astype(np.float32)
    bank.setflags(write=False)
    return bank


@lru_cache(maxsize=8)
def _prefilter_kernel(n, fc):
    s1 = fc / math.sqrt(math.log(2.0))
    f = np.fft.fftfreq(n, 1.0 / n)
    g = np.exp(-(f[:, None] ** 2 + f[None, : n // 2 + 1] ** 2) / s1**2)
    g.setflags(write=False)
    return g


def _resize_crop(images, size):
    """Bilinear resize keeping the aspect ratio, then centre crop to ``size``."""
    n_rows, n_cols = images.shape[1:]
    if (n_rows, n_cols) == size:
        return images
    scaling = max(size[0] / n_rows, size[1] / n_cols)
    new = (
        int(math.floor(n_rows * scaling + 0.5)),
        int(math.floor(n_cols * scaling + 0.5)),
    )
    zoom = (1.0, new[0] / n_rows, new[1] / n_cols)
    resized = ndimage.zoom(images, zoom, order=1, mode="nearest", grid_mode=True)
    r0 = (resized.shape[1] - size[0]) // 2
    c0 = (resized.shape[2] - size[1]) // 2
    return resized[:, r0 : r0 + size[0], c0 : c0 + size[1]]


def _prefilter(images, fc, workers):
    """Log, whiten (high-pass) and divide by the local contrast (reference fc=4)."""
    w = _PREFILTER_PAD
    x = np.log1p(images)
    x = np.pad(x, ((0, 0), (w, w), (w, w)), mode="symmetric")
    sn, sm = x.shape[1:]
    n = max(sn, sm)
    n += n % 2
    x = np.pad(x, ((0, 0), (0, n - sn), (0, n - sm)), mode="symmetric")
    gf = _prefilter_kernel(n, float(fc))
    low = scipy.fft.irfft2(
        scipy.fft.rfft2(x, workers=workers) * gf, s=(n, n), workers=workers
    )
    out = x - low
    local = scipy.fft.irfft2(
        scipy.fft.rfft2(out * out, workers=workers) * gf, s=(n, n), workers=workers
    )
    out /= 0.2 + np.sqrt(np.abs(local))
    return out[:, w : sn - w, w : sm - w]


def _block_edges(length, n_blocks):
    return np.floor(np.linspace(0, length, n_blocks + 1)).astype(np.intp)


def _gist_batch(images, *, size, orientations, n_blocks, fc, pad, workers):
    """GIST of a batch of grayscale float images ``(B, H, W)``."""
    x = _resize_crop(images, size)
    # Stretch every image to [0, 255] (a constant image becomes all zeros).
    x = x - x.min(axis=(1, 2), keepdims=True)
    top = x.max(axis=(1, 2), keepdims=True)
    x = np.divide(255.0 * x, top, out=np.zeros_like(x), where=top > 0)
    x = _prefilter(x, fc, workers)
    n_rows, n_cols = x.shape[1:]
    x = np.pad(x, ((0, 0), (pad, pad), (pad, pad)), mode="symmetric")
    bank = _gabor_bank(orientations, x.shape[1:])
    spectrum = scipy.fft.fft2(x.astype(np.float32), workers=workers)
    # Inverse FFT along columns first, keep the columns of the unpadded image,
    # then along rows: a third less work than a full 2-D inverse transform.
    resp = spectrum[:, None, :, :] * bank[None, :, :, :]
    resp = scipy.fft.ifft(resp, axis=-1, workers=workers, overwrite_x=True)
    resp = resp[..., pad : pad + n_cols]
    resp = scipy.fft.ifft(resp, axis=-2, workers=workers, overwrite_x=True)
    energy = np.abs(resp[..., pad : pad + n_rows, :])
    rows = _block_edges(n_rows, n_blocks)
    cols = _block_edges(n_cols, n_blocks)
    sums = np.add.reduceat(
        np.add.reduceat(energy, rows[:-1], axis=2), cols[:-1], axis=3
    )
    counts = np.diff(rows)[:, None] * np.diff(cols)[None, :]
    means = sums / counts
    # Feature order of the reference: filter, then block column, then block row.
    return means.transpose(0, 1, 3, 2).reshape(images.shape[0], -1)


class GIST(
    DocLinkMixin, ClassNamePrefixFeaturesOutMixin, TransformerMixin, BaseEstimator
):
    """GIST scene descriptor (Oliva & Torralba), vectorised over image batches.

    Each image is averaged to grayscale, resized (bilinear, aspect kept, centre
    crop) to ``image_size``, stretched to [0, 255], prefiltered (log, whitening
    by a Gaussian high-pass of width ``prefilter_fc`` and local contrast
    normalisation), padded symmetrically by ``boundary_extension`` pixels and
    filtered in the Fourier domain with a bank of Gabor-like filters
    (``orientations_per_scale``); the magnitude of each response is averaged
    over an ``n_blocks x n_blocks`` grid. The defaults give the standard
    512-D descriptor (4 scales x 8 orientations x 16 blocks) that the shallow
    hashing tables use on CIFAR-10.

    This is an independent NumPy/SciPy implementation written from the
    definition of the reference Matlab code (LMgist: ``createGabor``,
    ``prefilt``, ``gistGabor``, ``downN``) and its default parameters; no
    reference output was available to compare with, so values may differ from
    published GIST files in details such as the resize interpolation (no
    antialiasing when shrinking).

    Parameters
    ----------
    image_size : int, tuple of (int, int) or None, default=32
        Size the images are resized to before filtering; None keeps the input
        size. The reference demo uses 256 for large scene images; 32 suits
        CIFAR-10 and MNIST-sized images.
    orientations_per_scale : tuple of int, default=(8, 8, 8, 8)
        Number of orientations at each scale, finest first.
    n_blocks : int, default=4
        Grid of ``n_blocks x n_blocks`` cells over which responses are averaged.
    prefilter_fc : float, default=4
        Width of the prefilter's Gaussian (``fc_prefilt`` in the reference).
    boundary_extension : int, default=32
        Symmetric padding (pixels per side) before filtering.
    batch_size : int, default=64
        Images filtered together; memory is about
        ``batch_size * n_filters * (image_size + 2 * boundary_extension)**2 * 8``
        bytes (150 MB at the defaults).
    n_jobs : int, default=None
        Threads of :mod:`scipy.fft` (``None`` means 1, ``-1`` all cores).

    Attributes
    ----------
    n_features_in_ : int
        ``X.shape[1]`` seen in :meth:`fit` (the image height for image arrays).

    Notes
    -----
    Accepted inputs: ``(n, H, W)`` grayscale, ``(n, H, W, 3)`` RGB (averaged
    to gray, as in the reference) or ``(n, H, W, 1)``, uint8 or float. A 2-D
    ``(n, d)`` array is read as ``n`` square grayscale images of side
    ``sqrt(d)`` (e.g. flattened MNIST rows); any other ``d`` is an error
    (reshape flattened colour images to ``(n, H, W, 3)`` first). The output is
    float32 of shape ``(n, sum(orientations_per_scale) * n_blocks**2)``.

    The 320-D GIST of the UH-BDNN CIFAR-10 features is not provided: its
    parameters could not be pinned down (20 filters x 16 blocks would fit, e.g.
    ``orientations_per_scale=(8, 8, 4)``, but this is unverified).

    References
    ----------
    A. Oliva and A. Torralba, "Modeling the shape of the scene: a holistic
    representation of the spatial envelope", IJCV 42(3), 2001.

    Examples
    --------
    >>> import numpy as np
    >>> from skhash.features import GIST
    >>> images = np.random.default_rng(0).integers(0, 256, (3, 32, 32, 3),
    ...                                              dtype=np.uint8)
    >>> features = GIST().fit_transform(images)
    >>> features.shape, features.dtype
    ((3, 512), dtype('float32'))
    """

    _parameter_constraints: dict = {
        "image_size": [IntInterval(1, None, closed="left"), tuple, None],
        "orientations_per_scale": [tuple, list],
        "n_blocks": [IntInterval(1, None, closed="left")],
        "prefilter_fc": [Interval(Real, 0, None, closed="neither")],
        "boundary_extension": [IntInterval(0, None, closed="left")],
        "batch_size": [IntInterval(1, None, closed="left")],
        "n_jobs": [Integral, None],
    }

    def __init__(
        self,
        image_size=32,
        orientations_per_scale=(8, 8, 8, 8),
        n_blocks=4,
        prefilter_fc=4,
        boundary_extension=32,
        batch_size=64,
        n_jobs=None,
    ):
        self.image_size = image_size
        self.orientations_per_scale = orientations_per_scale
        self.n_blocks = n_blocks
        self.prefilter_fc = prefilter_fc
        self.boundary_extension = boundary_extension
        self.batch_size = batch_size
        self.n_jobs = n_jobs

    def _orientations(self):
        o = tuple(int(v) for v in self.orientations_per_scale)
        if not o or min(o) < 1:
            raise ValueError(
                "orientations_per_scale must be a non-empty tuple of positive ints; "
                f"got {self.orientations_per_scale!r}."
            )
        return o

    @property
    def _n_features_out(self):
        return sum(self._orientations()) * self.n_blocks**2

    def _as_gray_images(self, X):
        if X.ndim == 2:
            side = math.isqrt(X.shape[1])
            if side * side != X.shape[1]:
                raise ValueError(
                    f"GIST reads a 2-D X of shape (n, d) as square grayscale images, "
                    f"but d={X.shape[1]} is not a perfect square. Pass images as "
                    "(n, H, W) or (n, H, W, 3)."
                )
            return X.reshape(X.shape[0], side, side)
        if X.ndim == 3:
            return X
        if X.ndim == 4 and X.shape[3] in (1, 3):
            return X
        raise ValueError(
            "GIST expects images of shape (n, H, W), (n, H, W, 3) or (n, H, W, 1), "
            f"or square images flattened to (n, H*W); got shape {X.shape}."
        )

    def _size(self, gray_shape):
        if self.image_size is None:
            size = tuple(gray_shape[1:3])
        elif isinstance(self.image_size, tuple):
            size = tuple(int(s) for s in self.image_size)
            if len(size) != 2 or min(size) < 1:
                raise ValueError(
                    f"image_size must be an int or (H, W); got {self.image_size!r}."
                )
        else:
            size = (int(self.image_size),) * 2
        if min(size) < self.n_blocks:
            raise ValueError(
                f"Images of size {size} are smaller than the {self.n_blocks}x"
                f"{self.n_blocks} grid (n_blocks)."
            )
        return size

    def _validate(self, X, reset):
        X = validate_data(
            self, X, reset=reset, allow_nd=True, dtype="numeric", ensure_min_features=1
        )
        return self._as_gray_images(X)

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y=None):
        """Check the parameters and the input; GIST learns nothing from data.

        Parameters
        ----------
        X : array-like of shape (n, H, W), (n, H, W, 3) or (n, H*W)
            Images.
        y : None
            Ignored.

        Returns
        -------
        self : GIST
        """
        images = self._validate(X, reset=True)
        self._orientations()
        self._size(images.shape)
        return self

    def transform(self, X):
        """Compute the GIST descriptor of each image.

        Parameters
        ----------
        X : array-like of shape (n, H, W), (n, H, W, 3) or (n, H*W)
            Images, uint8 or float.

        Returns
        -------
        X_new : ndarray of shape (n, sum(orientations_per_scale) * n_blocks**2)
            float32 descriptors.
        """
        check_is_fitted(self)
        images = self._validate(X, reset=False)
        orientations = self._orientations()
        size = self._size(images.shape)
        workers = 1 if self.n_jobs is None else self.n_jobs
        out = np.empty((images.shape[0], self._n_features_out), dtype=np.float32)
        for start in range(0, images.shape[0], self.batch_size):
            batch = images[start : start + self.batch_size]
            batch = batch.astype(np.float64, copy=False)
            if batch.ndim == 4:
                batch = batch.mean(axis=3)
            out[start : start + batch.shape[0]] = _gist_batch(
                batch,
                size=size,
                orientations=orientations,
                n_blocks=self.n_blocks,
                fc=self.prefilter_fc,
                pad=self.boundary_extension,
                workers=workers,
            )
        return out

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.transformer_tags.preserves_dtype = ["float32"]
        tags.input_tags.two_d_array = True
        tags.input_tags.three_d_array = True
        tags.requires_fit = True
        return tags
