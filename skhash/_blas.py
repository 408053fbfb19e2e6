"""One BLAS thread around the small matrix products of iterative fits.

An iterative fit (ITQ's rotation, k-means, OPQ's alternation) repeats the same
matrix products tens to hundreds of times. When they are small, a
multithreaded BLAS spends more time starting and synchronising its threads
than computing, and on a loaded machine each product waits for busy cores; as
scikit-learn does around its own iterative loops (``KMeans``), such loops run
with one BLAS thread. Large products keep the threads the user gave BLAS.
"""

import contextlib
from functools import lru_cache

#: Multiply-adds of the largest matrix product of one iteration below which
#: the loop runs on one BLAS thread: about 16.8 million, a few milliseconds on
#: one core, where threads can save a few milliseconds at most per product.
SMALL_PRODUCT = 1 << 24


@lru_cache(maxsize=1)
def _controller():
    from threadpoolctl import ThreadpoolController

    return ThreadpoolController()


def limit_blas_threads(work):
    """Context manager: one BLAS thread when ``work`` is below ``SMALL_PRODUCT``.

    Parameters
    ----------
    work : int
        Multiply-adds of the largest matrix product of one iteration, e.g.
        ``n_samples * n_bits ** 2`` for ITQ's ``V @ R``.

    Returns
    -------
    context : context manager
        Limits the BLAS libraries to one thread inside the ``with`` block when
        the work is small; does nothing otherwise.
    """
    if work >= SMALL_PRODUCT:
        return contextlib.nullcontext()
    return _controller().limit(limits=1, user_api="blas")
