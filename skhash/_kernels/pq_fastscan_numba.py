"""numba kernels of the 4-bit fast scan (optional: imported only when numba exists).

``fastscan_topk`` scans the packed layout of :mod:`skhash._kernels.pq_fastscan`
block by block (32 items) for a group of queries while the block is in cache.
Per block and query, ``_block_distances`` returns the 32 quantized distances
and a bit mask of those below the worst of the query's heap; only masked
items touch the heap (a bounded max-heap on (distance, index); items are
scanned by increasing index and enter only when strictly better, so ties are
resolved by index).

Two implementations of ``_block_distances`` give identical integers:

* ``SIMD`` (x86-64 with AVX2): an LLVM intrinsic that loads 32 code bytes (a
  pair of sub-quantizers), splits the nibbles, looks the 32 + 32 distances up
  in the query's 32-byte table with two ``vpshufb`` and accumulates them in
  16-bit lanes; the lanes of the pair are added at the end and compared with
  the threshold in one vector compare.
* the portable loop: the same sums, one item at a time.
"""

import numpy as np
from llvmlite import binding as _llvm
from llvmlite import ir
from numba import get_num_threads, njit, prange, types
from numba.core import cgutils
from numba.extending import intrinsic

from skhash._kernels.pq_fastscan import BLOCK

#: True when the CPU has AVX2, the instruction set of the in-register look-up.
SIMD = bool(_llvm.get_host_cpu_features().get("avx2", False))
#: Queries scored per pass over the database (at most; see ``group_size``).
GROUP = 16


def group_size(n_queries, n_threads=None):
    """Queries per group: ``GROUP``, fewer when that would idle threads."""
    if n_threads is None:
        n_threads = get_num_threads()
    return int(max(1, min(GROUP, n_queries // max(1, n_threads))))


def _vec_ptr(builder, context, aryty, ary_val, offset, vecty):
    ary = context.make_array(aryty)(context, builder, ary_val)
    ptr = cgutils.get_item_pointer(
        context, builder, aryty, ary, [offset], wraparound=False
    )
    return builder.bitcast(ptr, vecty.as_pointer())


@intrinsic
def _simd_block(typingctx, codes, cbase, lut, lbase, n_pairs, thr, out):
    """32 quantized distances of one block into ``out``; mask of ``< thr``.

    ``codes[cbase:cbase + 32 * n_pairs]`` are the block's packed bytes,
    ``lut[lbase:lbase + 32 * n_pairs]`` the query's quantized table and
    ``out`` a 32-element uint16 buffer. Returns a uint32 whose bit ``j`` is
    set when item ``j``'s distance is below ``thr`` (unsigned 16-bit).
    """
    sig = types.uint32(codes, cbase, lut, lbase, n_pairs, thr, out)

    def codegen(context, builder, signature, args):
        a_codes, a_cbase, a_lut, a_lbase, a_np, a_thr, a_out = args
        t_codes, t_cbase, t_lut, t_lbase, t_np, t_thr, t_out = signature.args
        i8, i16, i32 = ir.IntType(8), ir.IntType(16), ir.IntType(32)
        v32i8 = ir.VectorType(i8, 32)
        v32i16 = ir.VectorType(i16, 32)
        v16i16 = ir.VectorType(i16, 16)
        cbase = context.cast(builder, a_cbase, t_cbase, types.intp)
        lbase = context.cast(builder, a_lbase, t_lbase, types.intp)
        npairs = context.cast(builder, a_np, t_np, types.intp)
        thr = builder.trunc(context.cast(builder, a_thr, t_thr, types.int64), i16)
        shuf = cgutils.get_or_insert_function(
            builder.module,
            ir.FunctionType(v32i8, [v32i8, v32i8]),
            "llvm.x86.avx2.pshuf.b",
        )
        zero16 = ir.Constant(v32i16, [0] * 32)
        low4 = ir.Constant(v32i8, [0x0F] * 32)
        four = ir.Constant(v32i8, [4] * 32)
        acc_lo = cgutils.alloca_once_value(builder, zero16)
        acc_hi = cgutils.alloca_once_value(builder, zero16)
        stride = ir.Constant(cbase.type, 32)
        with cgutils.for_range(builder, npairs) as loop:
            off = builder.mul(loop.index, stride)
            cptr = _vec_ptr(
                builder, context, t_codes, a_codes, builder.add(cbase, off), v32i8
            )
            lptr = _vec_ptr(
                builder, context, t_lut, a_lut, builder.add(lbase, off), v32i8
            )
            c = builder.load(cptr, align=1)
            tab = builder.load(lptr, align=1)
            lo = builder.and_(c, low4)
            hi = builder.and_(builder.lshr(c, four), low4)
            d_lo = builder.call(shuf, [tab, lo])
            d_hi = builder.call(shuf, [tab, hi])
            builder.store(
                builder.add(builder.load(acc_lo), builder.zext(d_lo, v32i16)), acc_lo
            )
            builder.store(
                builder.add(builder.load(acc_hi), builder.zext(d_hi, v32i16)), acc_hi
            )
        first = ir.Constant(ir.VectorType(i32, 16), list(range(16)))
        second = ir.Constant(ir.VectorType(i32, 16), list(range(16, 32)))
        both = ir.Constant(ir.VectorType(i32, 32), list(range(32)))
        a_l = builder.load(acc_lo)
        a_h = builder.load(acc_hi)
        # lanes 0..15 hold sub-quantizer 2p, lanes 16..31 sub-quantizer 2p + 1
        d_first = builder.add(
            builder.shuffle_vector(a_l, a_l, first),
            builder.shuffle_vector(a_l, a_l, second),
        )
        d_second = builder.add(
            builder.shuffle_vector(a_h, a_h, first),
            builder.shuffle_vector(a_h, a_h, second),
        )
        assert d_first.type == v16i16
        d = builder.shuffle_vector(d_first, d_second, both)
        optr = _vec_ptr(
            builder, context, t_out, a_out, ir.Constant(cbase.type, 0), v32i16
        )
        builder.store(d, optr, align=2)
        below = builder.icmp_unsigned("<", d, _splat(builder, thr, 32))
        return builder.bitcast(below, i32)

    return sig, codegen


def _splat(builder, scalar, n):
    vty = ir.VectorType(scalar.type, n)
    v = builder.insert_element(
        ir.Constant(vty, ir.Undefined), scalar, ir.Constant(ir.IntType(32), 0)
    )
    return builder.shuffle_vector(
        v, v, ir.Constant(ir.VectorType(ir.IntType(32), n), [0] * n)
    )


@njit(cache=True, inline="always")
def _portable_block(codes, cbase, lut, lbase, n_pairs, thr, out):
    """The same 32 distances and mask as ``_simd_block``, one item at a time."""
    mask = np.uint32(0)
    for j in range(16):
        d_lo = 0
        d_hi = 0
        for p in range(n_pairs):
            c0 = codes[cbase + 32 * p + j]
            c1 = codes[cbase + 32 * p + 16 + j]
            t = lbase + 32 * p
            d_lo += lut[t + (c0 & 15)] + lut[t + 16 + (c1 & 15)]
            d_hi += lut[t + (c0 >> 4)] + lut[t + 16 + (c1 >> 4)]
        out[j] = d_lo
        out[16 + j] = d_hi
        if d_lo < thr:
            mask |= np.uint32(1) << np.uint32(j)
        if d_hi < thr:
            mask |= np.uint32(1) << np.uint32(16 + j)
    return mask


@njit(cache=True, inline="always")
def _worse(d1, i1, d2, i2):
    return d1 > d2 or (d1 == d2 and i1 > i2)


@njit(cache=True)
def _sift_down(hd, hi, pos, size):
    while True:
        left = 2 * pos + 1
        if left >= size:
            return
        child = left
        right = left + 1
        if right < size and _worse(hd[right], hi[right], hd[left], hi[left]):
            child = right
        if _worse(hd[child], hi[child], hd[pos], hi[pos]):
            hd[pos], hd[child] = hd[child], hd[pos]
            hi[pos], hi[child] = hi[child], hi[pos]
            pos = child
        else:
            return


@intrinsic
def _cttz(typingctx, x):
    """Index of the lowest set bit of a non-zero ``uint32`` (LLVM ``cttz``)."""
    sig = types.uint32(types.uint32)

    def codegen(context, builder, signature, args):
        return builder.cttz(args[0], ir.Constant(ir.IntType(1), 1))

    return sig, codegen


@njit(cache=True)
def _new_heaps(G, k, n_samples):
    hd = np.full((G, k), 65535, dtype=np.int64)
    hi = np.empty((G, k), dtype=np.int64)
    for qq in range(G):
        for j in range(k):
            hi[qq, j] = n_samples + j
    return hd, hi


@njit(cache=True, inline="always")
def _push_block(mask, buf, last, start, hdq, hiq, k):
    """Offer the masked items ``j < last`` of a block (ascending) to a heap."""
    while mask != 0:
        j = np.int64(_cttz(mask))
        if j >= last:
            return
        mask &= mask - np.uint32(1)
        d = np.int64(buf[j])
        if d < hdq[0]:
            hdq[0] = d
            hiq[0] = start + j
            _sift_down(hdq, hiq, 0, k)


@njit(cache=True)
def _sorted_out(hd, hi, q0, out_d, out_i):
    G, k = hd.shape
    for qq in range(G):
        hdq = hd[qq]
        hiq = hi[qq]
        for size in range(k - 1, 0, -1):
            hdq[0], hdq[size] = hdq[size], hdq[0]
            hiq[0], hiq[size] = hiq[size], hiq[0]
            _sift_down(hdq, hiq, 0, size)
        out_d[q0 + qq] = hdq
        out_i[q0 + qq] = hiq


@njit(cache=True, parallel=True)
def fastscan_topk_portable(Q, packed, n_samples, k, group):
    """Top ``k`` by quantized distance, ties by index, on any CPU.

    ``Q`` ``(n_q, P, 32)`` uint8 tables, ``packed`` ``(n_blocks, P, 32)``
    codes, ``n_samples`` real items; returns int64 ``(dist, ind)``.
    """
    n_q, P = Q.shape[0], Q.shape[1]
    nb = packed.shape[0]
    codes, lut = packed.reshape(-1), Q.reshape(-1)
    out_d = np.empty((n_q, k), dtype=np.int64)
    out_i = np.empty((n_q, k), dtype=np.int64)
    for g in prange((n_q + group - 1) // group):
        q0 = g * group
        G = min(q0 + group, n_q) - q0
        hd, hi = _new_heaps(G, k, n_samples)
        buf = np.empty(BLOCK, dtype=np.uint16)
        for b in range(nb):
            last = min(BLOCK, n_samples - b * BLOCK)
            for qq in range(G):
                t = hd[qq, 0]
                mask = _portable_block(
                    codes, b * P * BLOCK, lut, (q0 + qq) * P * BLOCK, P, t, buf
                )
                _push_block(mask, buf, last, b * BLOCK, hd[qq], hi[qq], k)
        _sorted_out(hd, hi, q0, out_d, out_i)
    return out_d, out_i


if SIMD:

    @njit(cache=True, parallel=True)
    def fastscan_topk_simd(Q, packed, n_samples, k, group):
        """``fastscan_topk_portable`` with the AVX2 block scorer (same results)."""
        n_q, P = Q.shape[0], Q.shape[1]
        nb = packed.shape[0]
        codes, lut = packed.reshape(-1), Q.reshape(-1)
        out_d = np.empty((n_q, k), dtype=np.int64)
        out_i = np.empty((n_q, k), dtype=np.int64)
        for g in prange((n_q + group - 1) // group):
            q0 = g * group
            G = min(q0 + group, n_q) - q0
            hd, hi = _new_heaps(G, k, n_samples)
            buf = np.empty(BLOCK, dtype=np.uint16)
            for b in range(nb):
                last = min(BLOCK, n_samples - b * BLOCK)
                for qq in range(G):
                    t = hd[qq, 0]
                    mask = _simd_block(
                        codes, b * P * BLOCK, lut, (q0 + qq) * P * BLOCK, P, t, buf
                    )
                    _push_block(mask, buf, last, b * BLOCK, hd[qq], hi[qq], k)
            _sorted_out(hd, hi, q0, out_d, out_i)
        return out_d, out_i

else:  # pragma: no cover - depends on the CPU
    fastscan_topk_simd = None
