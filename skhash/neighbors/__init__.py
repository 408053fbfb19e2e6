"""Search over packed binary codes."""

from skhash.neighbors._hamming_neighbors import HammingNeighbors
from skhash.neighbors._io import load_index, save_index
from skhash.neighbors._merge import merge_radius, merge_topk
from skhash.neighbors._numba_brute import warm_up

__all__ = [
    "HammingNeighbors",
    "load_index",
    "merge_radius",
    "merge_topk",
    "save_index",
    "warm_up",
]
