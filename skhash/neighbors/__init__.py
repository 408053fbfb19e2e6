"""Search over packed binary codes, and the base class of every searcher."""

from skhash.neighbors._base import BaseSearcher
from skhash.neighbors._hamming_neighbors import HammingNeighbors
from skhash.neighbors._io import IndexFileError, load_index, save_index
from skhash.neighbors._merge import merge_radius, merge_topk


def __getattr__(name):
    # warm_up lives with the numba kernels; importing it eagerly would import
    # numba at ``import skhash``.
    if name == "warm_up":
        from skhash.neighbors._numba_brute import warm_up

        return warm_up
    raise AttributeError(f"module 'skhash.neighbors' has no attribute {name!r}")


__all__ = [
    "BaseSearcher",
    "HammingNeighbors",
    "IndexFileError",
    "load_index",
    "merge_radius",
    "merge_topk",
    "save_index",
    "warm_up",
]
