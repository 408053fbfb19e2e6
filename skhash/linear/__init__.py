"""Shallow hashers (linear, spectral and kernel): NumPy only."""

from skhash.linear._cca_itq import CCAITQ
from skhash.linear._itq import ITQ
from skhash.linear._ksh import KSH
from skhash.linear._lsh import LSH
from skhash.linear._pcah import PCAH
from skhash.linear._sdh import SDH
from skhash.linear._spectral import SpectralHashing

__all__ = ["CCAITQ", "ITQ", "KSH", "LSH", "PCAH", "SDH", "SpectralHashing"]
