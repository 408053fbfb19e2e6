"""Image features for hashing: GIST and pooled features of pretrained CNNs.

:class:`PretrainedBackbone` (a torch module) is imported on first use, so
``import skhash.features`` does not import torch.
"""

from skhash.features._gist import GIST
from skhash.features._pretrained import PretrainedFeatures, read_images
from skhash.features._registry import BACKBONES, available_backbones


def __getattr__(name):
    if name == "PretrainedBackbone":
        from skhash.features._backbones import PretrainedBackbone

        return PretrainedBackbone
    raise AttributeError(f"module 'skhash.features' has no attribute {name!r}")


__all__ = [
    "BACKBONES",
    "GIST",
    "PretrainedBackbone",
    "PretrainedFeatures",
    "available_backbones",
    "read_images",
]
