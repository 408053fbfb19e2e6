"""Datasets: format readers, loaders of local copies, and the papers' protocols.

Loaders read a local copy from ``data_home`` (argument), else the ``SKHASH_DATA``
environment variable, else ``~/skhash_data``; each verifies checksums and can
fetch the original files with ``download=True``.
"""

from skhash.datasets._base import ChecksumError, get_data_home
from skhash.datasets._cifar10 import load_cifar10
from skhash.datasets._ground_truth import euclidean_ground_truth
from skhash.datasets._mnist import load_fashion_mnist, load_mnist
from skhash.datasets._readers import read_bvecs, read_fvecs, read_idx, read_ivecs
from skhash.datasets._splits import PROTOCOLS, retrieval_split

__all__ = [
    "PROTOCOLS",
    "ChecksumError",
    "euclidean_ground_truth",
    "get_data_home",
    "load_cifar10",
    "load_fashion_mnist",
    "load_mnist",
    "read_bvecs",
    "read_fvecs",
    "read_idx",
    "read_ivecs",
    "retrieval_split",
]
