"""skhash: learning to hash with a scikit-learn API.

Hashers turn vectors into packed binary codes (``transform``), quantizers into
codeword indices; :class:`HammingNeighbors` searches codes exactly; the
:mod:`skhash.metrics` module scores retrieval the way the papers do.

Importing skhash never imports torch or faiss: the deep methods live in
:mod:`skhash.deep`, imported on first use.
"""

__version__ = "0.1.0.dev0"

from skhash._codes import hamming_distance, pack_bits, unpack_codes
from skhash.base import BaseHasher
from skhash.linear import ITQ, LSH, PCAH, SpectralHashing
from skhash.neighbors import HammingNeighbors

__all__ = [
    "BaseHasher",
    "HammingNeighbors",
    "ITQ",
    "LSH",
    "PCAH",
    "SpectralHashing",
    "__version__",
    "hamming_distance",
    "pack_bits",
    "unpack_codes",
]
