"""One torch thread around the small tensor operations of a training.

The deep hashers train small networks on CPU: an MLP on 64 to a few hundred
features, in batches of a few hundred rows, or a full-batch L-BFGS whose
bookkeeping is hundreds of vector operations per iteration. Each of those
operations takes microseconds; with several intra-op threads every one of them
is a parallel region that waits for all the threads, and on a busy machine a
thread that is not running delays it by milliseconds. The fits then take ten
times longer than on one thread. As ``skhash._blas`` does for the BLAS, such
trainings run on one torch thread when their largest matrix product is below
``SMALL_PRODUCT`` multiply-adds; larger ones keep the threads the user gave
torch. The thread count is process-wide in torch: it is restored on exit.
"""

import contextlib

import torch

from skhash._blas import SMALL_PRODUCT


@contextlib.contextmanager
def torch_threads(n_threads):
    """Context manager: torch's intra-op thread count set to ``n_threads``.

    Parameters
    ----------
    n_threads : int
        Threads inside the ``with`` block; the previous count is restored on
        exit.
    """
    before = torch.get_num_threads()
    if n_threads == before:
        yield
        return
    torch.set_num_threads(n_threads)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def limit_torch_threads(work, device="cpu"):
    """Context manager: one torch thread when ``work`` is below ``SMALL_PRODUCT``.

    Parameters
    ----------
    work : int or None
        Multiply-adds of the largest matrix product of one step (e.g.
        ``batch_size * n_inputs * n_outputs`` of the widest linear layer).
        None (unknown, e.g. a convolutional backbone) keeps the threads.
    device : str or torch.device, default="cpu"
        Where the network runs; only CPU trainings are limited.

    Returns
    -------
    context : context manager
        Sets one intra-op thread inside the ``with`` block when the work is
        small on CPU; does nothing otherwise.
    """
    if work is None or work >= SMALL_PRODUCT:
        return contextlib.nullcontext()
    if torch.device(device if device is not None else "cpu").type != "cpu":
        return contextlib.nullcontext()
    return torch_threads(1)
