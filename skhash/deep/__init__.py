"""Deep hashers on PyTorch and skorch: DSH, DHN, HashNet, DNNH, ...

This is the only skhash package that imports torch and skorch. Importing
:mod:`skhash` does not import it; ``import skhash.deep`` does.
"""

try:
    import skorch  # noqa: F401
    import torch  # noqa: F401
except ImportError as exc:  # pragma: no cover - depends on the environment
    raise ImportError(
        "skhash.deep needs torch and skorch: install them with "
        "`pip install skhash[deep]`."
    ) from exc

from skhash.deep import losses
from skhash.deep._base import BaseDeepHasher, BaseDeepQuantizer, SkorchNetMixin
from skhash.deep._callbacks import BetaContinuation
from skhash.deep._dh import DH
from skhash.deep._dhn import DHN
from skhash.deep._dnnh import DNNH
from skhash.deep._dqn import DQN
from skhash.deep._dsh import DSH
from skhash.deep._hashnet import HashNet
from skhash.deep._ldph import LDPH
from skhash.deep._modules import (
    MLP,
    DivideEncodeHead,
    DSHConvNet,
    HashHead,
    HashingNetwork,
)
from skhash.deep._shbdnn import SHBDNN
from skhash.deep._subic import SuBiC
from skhash.deep._uhbdnn import UHBDNN

__all__ = [
    "DH",
    "DHN",
    "DNNH",
    "DQN",
    "DSH",
    "MLP",
    "BaseDeepHasher",
    "BaseDeepQuantizer",
    "BetaContinuation",
    "DSHConvNet",
    "DivideEncodeHead",
    "HashHead",
    "HashNet",
    "HashingNetwork",
    "LDPH",
    "SHBDNN",
    "SkorchNetMixin",
    "SuBiC",
    "UHBDNN",
    "losses",
]
