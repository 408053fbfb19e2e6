"""Image features for hashing benchmarks (GIST)."""

from skhash.features._gist import GIST

__all__ = ["GIST"]
