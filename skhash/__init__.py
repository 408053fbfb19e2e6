"""skhash: learning to hash with a scikit-learn API.

Hashers turn vectors into packed binary codes (``transform``), quantizers into
codeword indices; :class:`HammingNeighbors` searches codes exactly,
:class:`QuantizedNeighbors` ranks quantized codes by asymmetric distance; the
:mod:`skhash.metrics` module scores retrieval the way the papers do.

Importing skhash never imports torch or faiss: the deep methods live in
:mod:`skhash.deep`, imported on first use (``skhash.UHBDNN`` or
``from skhash import DSH`` imports it then).
"""

__version__ = "0.1.0.dev0"

from skhash._codes import hamming_distance, pack_bits, unpack_codes
from skhash.base import BaseHasher, BaseQuantizer
from skhash.linear import CCAITQ, ITQ, KSH, LSH, PCAH, SDH, SpectralHashing
from skhash.neighbors import BaseSearcher, HammingNeighbors
from skhash.quantization import OPQ, PQ, QuantizedNeighbors

#: Names served lazily from :mod:`skhash.deep` (which imports torch and skorch).
_DEEP = (
    "BaseDeepHasher",
    "BaseDeepQuantizer",
    "DH",
    "DHN",
    "DNNH",
    "DQN",
    "DSH",
    "HashNet",
    "LDPH",
    "SHBDNN",
    "SuBiC",
    "UHBDNN",
)


def __getattr__(name):
    if name in _DEEP:
        import importlib

        deep = importlib.import_module("skhash.deep")
        if hasattr(deep, name):
            return getattr(deep, name)
    raise AttributeError(f"module 'skhash' has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | set(_DEEP))


__all__ = [
    "BaseHasher",
    "BaseQuantizer",
    "BaseSearcher",
    "CCAITQ",
    "HammingNeighbors",
    "ITQ",
    "KSH",
    "LSH",
    "OPQ",
    "PCAH",
    "PQ",
    "QuantizedNeighbors",
    "SDH",
    "SpectralHashing",
    "__version__",
    "hamming_distance",
    "pack_bits",
    "unpack_codes",
    *_DEEP,
]
