"""Quantizers (PQ, OPQ) and asymmetric-distance search over their codes."""

from skhash.quantization._opq import OPQ
from skhash.quantization._pq import PQ
from skhash.quantization._quantized_neighbors import QuantizedNeighbors

__all__ = ["OPQ", "PQ", "QuantizedNeighbors"]
