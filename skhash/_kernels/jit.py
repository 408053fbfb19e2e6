"""The JIT shim: numba's ``njit`` and ``prange``, a hardware popcount, a prefetch.

numba is the ``fast`` extra. Every compiled kernel of skhash imports these
names from here, never from numba: without numba, or with the environment
variable ``SKHASH_DISABLE_NUMBA`` set, ``njit`` is the identity, ``prange`` is
``range``, ``popcount64`` and ``lowest_bit`` are Python functions and
``prefetch`` does nothing, so the kernels written for numba still run (as
plain Python, slowly) and :class:`~skhash.HammingNeighbors` prefers the NumPy
brute-force backend. ``HAVE_NUMBA`` says which case holds.

This module is imported only by the kernels and backends that need it, so
``import skhash`` does not import numba.
"""

import os

import numpy as np

try:  # pragma: no cover - depends on the environment
    if os.environ.get("SKHASH_DISABLE_NUMBA"):
        raise ImportError("numba disabled by SKHASH_DISABLE_NUMBA")
    import numba
    from numba import njit, prange, types
    from numba.extending import intrinsic

    HAVE_NUMBA = True

    @intrinsic
    def _ctpop(typingctx, x):
        # LLVM's ctpop: the hardware popcount (VPOPCNTQ when vectorised).
        sig = types.uint64(types.uint64)

        def codegen(context, builder, signature, args):
            return builder.ctpop(args[0])

        return sig, codegen

    @njit(cache=True, inline="always")
    def popcount64(x):
        """Number of set bits of a ``uint64``."""
        return numba.int32(_ctpop(x))

    @intrinsic
    def prefetch(typingctx, arr, idx):
        """Hint the CPU to load the cache line of ``arr[idx]`` (1-D array).

        LLVM's ``llvm.prefetch`` (read, high locality, data cache): the load
        starts now and the instruction retires at once, so the misses of
        several buckets overlap with the work on earlier ones. It never
        faults, so ``idx`` past the end is harmless.
        """
        from llvmlite import binding as llvm
        from llvmlite import ir
        from numba.core import cgutils

        sig = types.void(arr, idx)

        def codegen(context, builder, signature, args):
            aryty, idxty = signature.args
            ary = context.make_array(aryty)(context, builder, args[0])
            i = context.cast(builder, args[1], idxty, types.intp)
            ptr = cgutils.get_item_pointer(
                context, builder, aryty, ary, [i], wraparound=False
            )
            i8p = builder.bitcast(ptr, ir.IntType(8).as_pointer())
            i32 = ir.IntType(32)
            fnty = ir.FunctionType(ir.VoidType(), [i8p.type, i32, i32, i32])
            # The intrinsic's name carries the pointer type: ``p0`` with the
            # opaque pointers of LLVM >= 15, ``p0i8`` before (numba 0.60's 14).
            opaque = llvm.llvm_version_info >= (15,)
            name = "llvm.prefetch.p0" if opaque else "llvm.prefetch.p0i8"
            fn = cgutils.get_or_insert_function(builder.module, fnty, name)
            builder.call(fn, [i8p, i32(0), i32(3), i32(1)])
            return context.get_dummy_value()

        return sig, codegen

except ImportError:  # pragma: no cover
    HAVE_NUMBA = False
    prange = range

    def njit(*args, **kwargs):
        """Identity decorator standing in for ``numba.njit``."""
        if len(args) == 1 and callable(args[0]) and not kwargs:
            return args[0]
        return lambda f: f

    def popcount64(x):
        """Number of set bits of a ``uint64``."""
        return int(x).bit_count()

    def prefetch(arr, idx):
        """No-op stand-in for the compiled cache-line prefetch hint."""


def n_threads(n_jobs):
    """Threads for a kernel call from joblib-style ``n_jobs``.

    ``None`` means 1 unless inside a ``joblib.parallel_config`` context, -1
    all cores; never more than numba's thread pool holds.
    """
    from joblib import effective_n_jobs

    n = effective_n_jobs(n_jobs)
    if HAVE_NUMBA:
        n = min(n, numba.config.NUMBA_NUM_THREADS)
    return max(1, n)


class numba_threads:
    """Context manager setting numba's thread count (restored on exit)."""

    def __init__(self, n_jobs):
        self.n = n_threads(n_jobs)

    def __enter__(self):
        if HAVE_NUMBA:
            self.old = numba.get_num_threads()
            numba.set_num_threads(self.n)
        return self

    def __exit__(self, *exc):
        if HAVE_NUMBA:
            numba.set_num_threads(self.old)
        return False


@njit(cache=True, inline="always")
def lowest_bit(x):
    """Index of the lowest set bit of a non-zero ``uint64``."""
    return popcount64((x & (~x + np.uint64(1))) - np.uint64(1))


class parallel_chunksize:
    """Context manager setting numba's ``prange`` chunk size (restored on exit).

    Small chunks hand out iterations dynamically, for loops whose iterations
    vary a lot in cost. Does nothing without numba.
    """

    def __init__(self, size):
        self.size = int(size)

    def __enter__(self):
        if HAVE_NUMBA:
            self.old = numba.get_parallel_chunksize()
            numba.set_parallel_chunksize(self.size)
        return self

    def __exit__(self, *exc):
        if HAVE_NUMBA:
            numba.set_parallel_chunksize(self.old)
        return False
