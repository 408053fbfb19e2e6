"""numba kernels of the 4-bit fast scan (optional: imported only when numba exists).

``fastscan_topk_simd`` and ``fastscan_topk_portable`` scan the packed layout
of :mod:`skhash._kernels.pq_fastscan` block by block (32 items) for a group
of queries while the block is in cache. Per block and query, the block
scorer returns the 32 quantized distances
and a bit mask of those below the worst of the query's heap; only masked
items touch the heap (a bounded max-heap on (distance, index); items are
scanned by increasing index and enter only when strictly better, so ties are
resolved by index).

Two block scorers give identical integers:

* ``_simd_block2`` (x86-64 with AVX2, ``SIMD``): an LLVM intrinsic that, for
  two queries at once, loads 32 code bytes (a pair of sub-quantizers), splits
  the nibbles, looks the 32 + 32 distances up in each query's 32-byte table with two
  ``vpshufb`` and accumulates them in 16-bit lanes (the look-up bytes read as
  16-bit words, plus the same words shifted by 8, which separates even and
  odd items without widening); the two sub-quantizers' lanes are added at the
  end and compared with each query's threshold in one vector compare.
* ``_portable_block``: the same sums, one item at a time.

Only the AVX2 kernel is compiled on a CPU that has AVX2; elsewhere it is not
defined (``fastscan_topk_simd is None``), so LLVM never meets the intrinsic.
"""

import numpy as np
from llvmlite import binding as _llvm
from llvmlite import ir
from numba import get_num_threads, njit, prange, types
from numba.core import cgutils
from numba.extending import intrinsic

from skhash._kernels.heap import sift_down, sort_heap
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


_I8, _I16, _I32, _I64 = ir.IntType(8), ir.IntType(16), ir.IntType(32), ir.IntType(64)
_V32I8 = ir.VectorType(_I8, 32)
_V16I16 = ir.VectorType(_I16, 16)
_V32I16 = ir.VectorType(_I16, 32)


def _splat_const(ty, n, value):
    return ir.Constant(ir.VectorType(ty, n), [value] * n)


def _lanes(values):
    return ir.Constant(ir.VectorType(_I32, len(values)), list(values))


def _item_sums(builder, acc_a, acc_b):
    """16 per-item sums, in item order, from the two 16-bit accumulators.

    ``acc_a`` summed each look-up result read as 16-bit words (even byte +
    256 x odd byte, modulo 2**16) and ``acc_b`` the same words shifted right
    by 8 (the odd bytes): the even-byte sums are ``acc_a - (acc_b << 8)``.
    Elements 0..7 belong to sub-quantizer ``2p`` and 8..15 to ``2p + 1``,
    whose sums are added; even and odd items are then interleaved.
    """
    even = builder.sub(acc_a, builder.shl(acc_b, _splat_const(_I16, 16, 8)))
    halves = (_lanes(range(8)), _lanes(range(8, 16)))
    e = builder.add(*(builder.shuffle_vector(even, even, h) for h in halves))
    o = builder.add(*(builder.shuffle_vector(acc_b, acc_b, h) for h in halves))
    return builder.shuffle_vector(
        e, o, _lanes([x for j in range(8) for x in (j, 8 + j)])
    )


@intrinsic
def _simd_block2(
    typingctx, codes, cbase, lut, lbase0, lbase1, n_pairs, thr0, thr1, out
):
    """Quantized distances of one block for two queries; masks of ``< thr``.

    ``codes[cbase:cbase + 32 * n_pairs]`` are the block's packed bytes and
    ``lut[lbase_q:lbase_q + 32 * n_pairs]`` query ``q``'s quantized table;
    ``out`` (64 uint16) receives the 32 distances of query 0 then query 1.
    Returns a uint64 whose bit ``j`` (query 0) or ``32 + j`` (query 1) is set
    when item ``j``'s distance is below that query's threshold. Each code
    load and nibble split serves both queries.
    """
    sig = types.uint64(codes, cbase, lut, lbase0, lbase1, n_pairs, thr0, thr1, out)

    def codegen(context, builder, signature, args):
        a_codes, a_cbase, a_lut, a_l0, a_l1, a_np, a_t0, a_t1, a_out = args
        t_codes, t_cbase, t_lut, t_l0, t_l1, t_np, t_t0, t_t1, t_out = signature.args

        def intp(value, ty):
            return context.cast(builder, value, ty, types.intp)

        cbase, npairs = intp(a_cbase, t_cbase), intp(a_np, t_np)
        lbases = (intp(a_l0, t_l0), intp(a_l1, t_l1))
        thrs = [
            builder.trunc(context.cast(builder, v, t, types.int64), _I16)
            for v, t in ((a_t0, t_t0), (a_t1, t_t1))
        ]
        shuf = cgutils.get_or_insert_function(
            builder.module,
            ir.FunctionType(_V32I8, [_V32I8, _V32I8]),
            "llvm.x86.avx2.pshuf.b",
        )
        low4 = _splat_const(_I8, 32, 0x0F)
        four = _splat_const(_I8, 32, 4)
        eight = _splat_const(_I16, 16, 8)
        zero = ir.Constant(_V16I16, [0] * 16)
        # per query: (low-nibble a, b, high-nibble a, b) accumulators
        accs = [
            [cgutils.alloca_once_value(builder, zero) for _ in range(4)]
            for _ in range(2)
        ]
        stride = ir.Constant(cbase.type, 32)
        with cgutils.for_range(builder, npairs) as loop:
            off = builder.mul(loop.index, stride)
            cptr = _vec_ptr(
                builder, context, t_codes, a_codes, builder.add(cbase, off), _V32I8
            )
            c = builder.load(cptr, align=1)
            nibbles = (
                builder.and_(c, low4),
                builder.and_(builder.lshr(c, four), low4),
            )
            for q, lbase in enumerate(lbases):
                lptr = _vec_ptr(
                    builder, context, t_lut, a_lut, builder.add(lbase, off), _V32I8
                )
                tab = builder.load(lptr, align=1)
                for h, nib in enumerate(nibbles):
                    d = builder.bitcast(builder.call(shuf, [tab, nib]), _V16I16)
                    pa, pb = accs[q][2 * h], accs[q][2 * h + 1]
                    builder.store(builder.add(builder.load(pa), d), pa)
                    builder.store(
                        builder.add(builder.load(pb), builder.lshr(d, eight)), pb
                    )
        mask = ir.Constant(_I64, 0)
        for q in range(2):
            a = [builder.load(p) for p in accs[q]]
            d = builder.shuffle_vector(
                _item_sums(builder, a[0], a[1]),
                _item_sums(builder, a[2], a[3]),
                _lanes(range(32)),
            )
            optr = _vec_ptr(
                builder, context, t_out, a_out, ir.Constant(cbase.type, 32 * q), _V32I16
            )
            builder.store(d, optr, align=2)
            below = builder.icmp_unsigned("<", d, _splat(builder, thrs[q], 32))
            bits = builder.zext(builder.bitcast(below, _I32), _I64)
            if q:
                bits = builder.shl(bits, ir.Constant(_I64, 32))
            mask = builder.or_(mask, bits)
        return mask

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
    """32 quantized distances of one block into ``out``; mask of ``< thr``.

    One query, one item at a time: the integers of ``_simd_block2``.
    """
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
            sift_down(hdq, hiq, 0, k)


@njit(cache=True)
def _sorted_out(hd, hi, q0, out_d, out_i):
    for qq in range(hd.shape[0]):
        sort_heap(hd[qq], hi[qq])
        out_d[q0 + qq] = hd[qq]
        out_i[q0 + qq] = hi[qq]


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


@njit(cache=True)
def _window_compact(row, count, k, win):
    """Cut ``row[:count]`` to the keys within ``win`` of the ``k``-th distance.

    Returns (count, thr): the entries kept are those with distance
    ``<= w + win`` (``w`` the ``k``-th smallest distance so far), and a
    later item is accepted only below ``thr = w + win + 1``. With at most
    ``k`` entries nothing is cut.
    """
    if count <= k:
        return count, np.int64(65535)
    w = np.partition(row[:count], k - 1)[k - 1] >> 32
    keep = 0
    for j in range(count):
        if (row[j] >> 32) <= w + win:
            row[keep] = row[j]
            keep += 1
    return keep, np.int64(min(w + win + 1, 65535))


@njit(cache=True, inline="always")
def _offer_window(mask, buf, last, start, row, count, thr):
    """Append the masked items ``j < last`` of a block below ``thr`` to ``row``."""
    while mask != 0:
        j = np.int64(_cttz(mask))
        if j >= last:
            break
        mask &= mask - np.uint32(1)
        d = np.int64(buf[j])
        if d < thr:
            row[count] = (d << 32) | (start + j)
            count += 1
    return count


@njit(cache=True)
def _make_room(keys, count, thr, k, win):
    """Before a block: compact the rows near capacity, grow ``keys`` if needed."""
    G, cap = keys.shape
    grow = False
    for qq in range(G):
        if count[qq] > cap - 2 * BLOCK:
            count[qq], thr[qq] = _window_compact(keys[qq], count[qq], k, win[qq])
            if count[qq] > cap // 2:
                grow = True
    if not grow:
        return keys
    bigger = np.empty((G, 2 * cap), dtype=np.int64)
    for qq in range(G):
        bigger[qq, : count[qq]] = keys[qq, : count[qq]]
    return bigger


@njit(cache=True)
def _exact_finish(row, count, k, win, T, q, codes, out_d, out_i):
    """Exact ADC of the window's candidates; best ``k`` by (distance, index)."""
    count, _ = _window_compact(row, count, k, win)
    idx = np.sort(row[:count] & 0xFFFFFFFF)
    M = T.shape[1]
    d = np.empty(count, dtype=T.dtype)
    for j in range(count):
        c = codes[idx[j]]
        s = T[q, 0, c[0]]
        for m in range(1, M):
            s += T[q, m, c[m]]
        d[j] = s
    order = np.argsort(d, kind="mergesort")
    for j in range(k):
        out_d[j] = d[order[j]]
        out_i[j] = idx[order[j]]


@njit(cache=True, parallel=True)
def fastscan_exact_portable(Q, packed, n_samples, k, win, T, codes, group):
    """Exact ADC top ``k`` through the fast scan, on any CPU.

    Scans with the quantized tables, keeping every item within ``win[q]``
    of the ``k``-th quantized distance (``pq_fastscan.exact_window``), then
    ranks those by exact ADC (``T``, ``codes``). Returns ``(dist, ind)``.
    """
    n_q, P = Q.shape[0], Q.shape[1]
    nb = packed.shape[0]
    flat, lut = packed.reshape(-1), Q.reshape(-1)
    out_d = np.empty((n_q, k), dtype=T.dtype)
    out_i = np.empty((n_q, k), dtype=np.int64)
    for g in prange((n_q + group - 1) // group):
        q0 = g * group
        G = min(q0 + group, n_q) - q0
        keys = np.empty((G, 4 * k + 8 * BLOCK), dtype=np.int64)
        count = np.zeros(G, dtype=np.int64)
        thr = np.full(G, 65535, dtype=np.int64)
        wq = win[q0 : q0 + G]
        buf = np.empty(BLOCK, dtype=np.uint16)
        for b in range(nb):
            last = min(BLOCK, n_samples - b * BLOCK)
            keys = _make_room(keys, count, thr, k, wq)
            for qq in range(G):
                mask = _portable_block(
                    flat, b * P * BLOCK, lut, (q0 + qq) * P * BLOCK, P, thr[qq], buf
                )
                if mask != 0:
                    count[qq] = _offer_window(
                        mask, buf, last, b * BLOCK, keys[qq], count[qq], thr[qq]
                    )
        for qq in range(G):
            _exact_finish(
                keys[qq],
                count[qq],
                k,
                wq[qq],
                T,
                q0 + qq,
                codes,
                out_d[q0 + qq],
                out_i[q0 + qq],
            )
    return out_d, out_i


if SIMD:

    @njit(cache=True, parallel=True)
    def fastscan_topk_simd(Q, packed, n_samples, k, group):
        """``fastscan_topk_portable`` with the AVX2 block scorer (same results).

        Queries of a group are scored two at a time, sharing each code load.
        """
        n_q, P = Q.shape[0], Q.shape[1]
        nb = packed.shape[0]
        codes, lut = packed.reshape(-1), Q.reshape(-1)
        out_d = np.empty((n_q, k), dtype=np.int64)
        out_i = np.empty((n_q, k), dtype=np.int64)
        low = np.uint64(0xFFFFFFFF)
        for g in prange((n_q + group - 1) // group):
            q0 = g * group
            G = min(q0 + group, n_q) - q0
            hd, hi = _new_heaps(G, k, n_samples)
            buf = np.empty(2 * BLOCK, dtype=np.uint16)
            for b in range(nb):
                last = min(BLOCK, n_samples - b * BLOCK)
                for qa in range(0, G, 2):
                    qb = min(qa + 1, G - 1)  # an odd group scores its last query twice
                    mask = _simd_block2(
                        codes,
                        b * P * BLOCK,
                        lut,
                        (q0 + qa) * P * BLOCK,
                        (q0 + qb) * P * BLOCK,
                        P,
                        hd[qa, 0],
                        hd[qb, 0],
                        buf,
                    )
                    m = np.uint32(mask & low)
                    if m != 0:
                        _push_block(m, buf[:BLOCK], last, b * BLOCK, hd[qa], hi[qa], k)
                    m = np.uint32(mask >> np.uint64(32))
                    if qb != qa and m != 0:
                        _push_block(m, buf[BLOCK:], last, b * BLOCK, hd[qb], hi[qb], k)
            _sorted_out(hd, hi, q0, out_d, out_i)
        return out_d, out_i

    @njit(cache=True, parallel=True)
    def fastscan_exact_simd(Q, packed, n_samples, k, win, T, codes, group):
        """``fastscan_exact_portable`` with the AVX2 block scorer (same results)."""
        n_q, P = Q.shape[0], Q.shape[1]
        nb = packed.shape[0]
        flat, lut = packed.reshape(-1), Q.reshape(-1)
        out_d = np.empty((n_q, k), dtype=T.dtype)
        out_i = np.empty((n_q, k), dtype=np.int64)
        low = np.uint64(0xFFFFFFFF)
        for g in prange((n_q + group - 1) // group):
            q0 = g * group
            G = min(q0 + group, n_q) - q0
            keys = np.empty((G, 4 * k + 8 * BLOCK), dtype=np.int64)
            count = np.zeros(G, dtype=np.int64)
            thr = np.full(G, 65535, dtype=np.int64)
            wq = win[q0 : q0 + G]
            buf = np.empty(2 * BLOCK, dtype=np.uint16)
            for b in range(nb):
                last = min(BLOCK, n_samples - b * BLOCK)
                keys = _make_room(keys, count, thr, k, wq)
                for qa in range(0, G, 2):
                    qb = min(qa + 1, G - 1)
                    mask = _simd_block2(
                        flat,
                        b * P * BLOCK,
                        lut,
                        (q0 + qa) * P * BLOCK,
                        (q0 + qb) * P * BLOCK,
                        P,
                        thr[qa],
                        thr[qb],
                        buf,
                    )
                    m = np.uint32(mask & low)
                    if m != 0:
                        count[qa] = _offer_window(
                            m,
                            buf[:BLOCK],
                            last,
                            b * BLOCK,
                            keys[qa],
                            count[qa],
                            thr[qa],
                        )
                    m = np.uint32(mask >> np.uint64(32))
                    if qb != qa and m != 0:
                        count[qb] = _offer_window(
                            m,
                            buf[BLOCK:],
                            last,
                            b * BLOCK,
                            keys[qb],
                            count[qb],
                            thr[qb],
                        )
            for qq in range(G):
                _exact_finish(
                    keys[qq],
                    count[qq],
                    k,
                    wq[qq],
                    T,
                    q0 + qq,
                    codes,
                    out_d[q0 + qq],
                    out_i[q0 + qq],
                )
        return out_d, out_i

else:  # pragma: no cover - depends on the CPU
    fastscan_topk_simd = None
    fastscan_exact_simd = None


@njit(cache=True, parallel=True)
def rerank_topk(T, codes, cand, k):
    """Exact ADC re-ranking of candidate lists (``pq_fastscan.rerank``'s kernel).

    Each candidate's distance is summed over ``m = 0 .. M-1`` in ``T``'s
    dtype (the exact kernels' order); candidates are sorted by index, then
    stably by distance, and the first ``k`` kept.
    """
    n_q, n_cand = cand.shape
    M = T.shape[1]
    out_d = np.empty((n_q, k), dtype=T.dtype)
    out_i = np.empty((n_q, k), dtype=np.int64)
    for q in prange(n_q):
        idx = np.sort(cand[q])
        d = np.empty(n_cand, dtype=T.dtype)
        for j in range(n_cand):
            c = codes[idx[j]]
            s = T[q, 0, c[0]]
            for m in range(1, M):
                s += T[q, m, c[m]]
            d[j] = s
        order = np.argsort(d, kind="mergesort")
        for j in range(k):
            out_d[q, j] = d[order[j]]
            out_i[q, j] = idx[order[j]]
    return out_d, out_i
