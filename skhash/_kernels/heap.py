"""The bounded max-heap of the top-k search kernels, ordered by (distance, index).

A top-k scan keeps its ``k`` best items in a max-heap whose root is the worst
kept item; a new item enters only if it is strictly better than the root, and
"better" is the brute-force order: smaller distance, then smaller index. Items
scanned in increasing index order therefore never displace a tied item, so the
result breaks ties by index.

The heap comes in two layouts, for the two kinds of distance:

* **Pairs** (``hd``, ``hi``): a distance array of any dtype (float distances of
  asymmetric search, integer quantized distances) and an ``int64`` index array,
  compared with :func:`worse`. Used by the ADC and fast-scan kernels.
* **Packed keys**: one ``int64`` per item, ``distance << 32 | index``, for
  integer distances below ``2**31`` and indices below ``2**32``. One integer
  comparison then orders by (distance, index), and the root's distance is
  ``key >> 32``. Used by the Hamming kernels.

The functions are compiled with numba when it is installed (through
:mod:`skhash._kernels.jit`) and generic over the dtypes of their arguments;
without numba they run as plain Python.
"""

from skhash._kernels.jit import njit


@njit(cache=True, inline="always")
def worse(d1, i1, d2, i2):
    """Whether item ``(d1, i1)`` comes after ``(d2, i2)`` in (distance, index) order."""
    return d1 > d2 or (d1 == d2 and i1 > i2)


@njit(cache=True)
def sift_down(hd, hi, pos, size):
    """Restore the max-heap order of pairs ``(hd, hi)[:size]`` below ``pos``.

    Parameters
    ----------
    hd : ndarray, shape (>= size,)
        Distances (any ordered dtype).
    hi : ndarray of int64, shape (>= size,)
        Indices of the same items.
    pos : int
        The entry that may be out of order (0 after replacing the root).
    size : int
        Number of items in the heap.
    """
    while True:
        left = 2 * pos + 1
        if left >= size:
            return
        child = left
        right = left + 1
        if right < size and worse(hd[right], hi[right], hd[left], hi[left]):
            child = right
        if worse(hd[child], hi[child], hd[pos], hi[pos]):
            hd[pos], hd[child] = hd[child], hd[pos]
            hi[pos], hi[child] = hi[child], hi[pos]
            pos = child
        else:
            return


@njit(cache=True)
def sort_heap(hd, hi):
    """Sort a full pair heap in place into ascending (distance, index) order.

    Heap sort: the root (the worst item) is swapped to the end and the heap
    shrinks by one, ``len(hd) - 1`` times.
    """
    for size in range(hd.shape[0] - 1, 0, -1):
        hd[0], hd[size] = hd[size], hd[0]
        hi[0], hi[size] = hi[size], hi[0]
        sift_down(hd, hi, 0, size)


@njit(cache=True)
def sift_down_key(keys, size):
    """Restore the max-heap order of packed ``keys[:size]`` from the root."""
    i = 0
    top = keys[0]
    while True:
        child = 2 * i + 1
        if child >= size:
            break
        if child + 1 < size and keys[child + 1] > keys[child]:
            child += 1
        if keys[child] <= top:
            break
        keys[i] = keys[child]
        i = child
    keys[i] = top


@njit(cache=True)
def sift_up_key(keys, pos):
    """Restore the max-heap order of ``keys[:pos + 1]`` after writing ``keys[pos]``."""
    key = keys[pos]
    while pos > 0:
        parent = (pos - 1) // 2
        if keys[parent] >= key:
            break
        keys[pos] = keys[parent]
        pos = parent
    keys[pos] = key


@njit(cache=True)
def push_key(heap, size, k, key):
    """Offer packed ``key`` to the bounded heap ``heap[:size]`` of capacity ``k``.

    The key enters while the heap has room, or replaces the root if it is
    smaller. Returns the new size.
    """
    if size < k:
        heap[size] = key
        sift_up_key(heap, size)
        return size + 1
    if key >= heap[0]:
        return size
    heap[0] = key
    sift_down_key(heap, k)
    return size
