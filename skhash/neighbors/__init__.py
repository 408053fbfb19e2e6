"""Search over packed binary codes."""

from skhash.neighbors._hamming_neighbors import HammingNeighbors

__all__ = ["HammingNeighbors"]
