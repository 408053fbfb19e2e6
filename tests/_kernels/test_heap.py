"""The bounded (distance, index) heap: top-k selection against a stable sort."""

import numpy as np
import pytest

from skhash._kernels import heap
from skhash._kernels.jit import njit


@njit
def _topk_pairs(dist, k):
    """Top k by (distance, index) through the pair heap, scanning in index order."""
    n = dist.shape[0]
    hd = np.empty(k, dist.dtype)
    hi = np.empty(k, np.int64)
    for j in range(k):
        hd[j] = dist[j]
        hi[j] = j
    # heapify the first k items, then offer the rest
    for pos in range(k // 2 - 1, -1, -1):
        heap.sift_down(hd, hi, pos, k)
    for j in range(k, n):
        if heap.worse(hd[0], hi[0], dist[j], j):
            hd[0] = dist[j]
            hi[0] = j
            heap.sift_down(hd, hi, 0, k)
    heap.sort_heap(hd, hi)
    return hd, hi


@njit
def _topk_keys(dist, k):
    """Top k through the packed-key heap."""
    keys = np.empty(k, np.int64)
    size = 0
    for j in range(dist.shape[0]):
        size = heap.push_key(keys, size, k, (np.int64(dist[j]) << 32) | j)
    return np.sort(keys[:size])


def _oracle(dist, k):
    order = np.argsort(dist, kind="stable")[:k]
    return dist[order], order


@pytest.mark.parametrize("dtype", [np.int64, np.int32, np.float32, np.float64])
@pytest.mark.parametrize("k", [1, 2, 7, 64, 300])
def test_pair_heap_keeps_the_top_k_ties_by_index(dtype, k):
    rng = np.random.default_rng(k)
    dist = rng.integers(0, 12, 300).astype(dtype)  # many ties
    d, i = _topk_pairs(dist, k)
    d_ref, i_ref = _oracle(dist, k)
    np.testing.assert_array_equal(d, d_ref)
    np.testing.assert_array_equal(i, i_ref)
    assert d.dtype == dtype


@pytest.mark.parametrize("k", [1, 2, 7, 64, 300, 400])
def test_packed_key_heap_keeps_the_top_k_ties_by_index(k):
    rng = np.random.default_rng(k)
    dist = rng.integers(0, 12, 300)
    keys = _topk_keys(dist, k)
    d_ref, i_ref = _oracle(dist, k)
    np.testing.assert_array_equal(keys >> 32, d_ref)
    np.testing.assert_array_equal(keys & 0xFFFFFFFF, i_ref)


def test_worse_is_the_brute_force_order():
    assert heap.worse(2, 0, 1, 5)
    assert heap.worse(1, 6, 1, 5)
    assert not heap.worse(1, 5, 1, 5)
    assert not heap.worse(0, 9, 1, 0)
