"""Shallow (linear and spectral) hashers: NumPy only."""

from skhash.linear._itq import ITQ
from skhash.linear._lsh import LSH
from skhash.linear._pcah import PCAH
from skhash.linear._spectral import SpectralHashing

__all__ = ["ITQ", "LSH", "PCAH", "SpectralHashing"]
