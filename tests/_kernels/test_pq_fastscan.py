"""Tests of the 4-bit fast-scan kernels against plain-NumPy oracles."""

import numpy as np
import pytest

from skhash._kernels import pq as _pq
from skhash._kernels import pq_fastscan as fs

BACKENDS = fs.available_backends()


def _quantized_oracle(Q, codes):
    """Integer distances by direct indexing of the unpaired tables."""
    n_q = Q.shape[0]
    M = codes.shape[1]
    tables = Q.reshape(n_q, -1, 16)[:, :M].astype(np.int64)
    D = np.zeros((n_q, codes.shape[0]), dtype=np.int64)
    for m in range(M):
        D += tables[:, m, codes[:, m]]
    return D


def _topk_oracle(D, k):
    ind = np.array([np.lexsort((np.arange(D.shape[1]), row))[:k] for row in D])
    return np.take_along_axis(D, ind, axis=1), ind


def test_pack_codes_layout():
    rng = np.random.default_rng(0)
    codes = rng.integers(0, 16, (70, 5), dtype=np.uint8)  # odd M, 70 = 2*32 + 6
    packed = fs.pack_codes(codes)
    assert packed.shape == (3, 3, 32) and packed.dtype == np.uint8
    for i in range(96):
        b, j = divmod(i, 32)
        for m in range(6):
            p, h = divmod(m, 2)
            byte = packed[b, p, 16 * h + j % 16]
            nibble = byte & 15 if j < 16 else byte >> 4
            expected = codes[i, m] if i < 70 and m < 5 else 0
            assert nibble == expected, (i, m)


def test_quantized_tables_and_error_bound():
    rng = np.random.default_rng(1)
    for M in (1, 2, 7, 16, 32):
        T = rng.gamma(2.0, size=(20, M, 16))
        Q, scale, bias = fs.quantize_tables(T)
        assert Q.shape == (20, (M + 1) // 2, 32)
        full = Q.reshape(20, -1, 16)
        assert (full[:, M:] == 0).all()  # the padding sub-quantizer
        assert (full[:, :M].min(axis=2) == 0).all()  # each row shifted to 0
        vmax = min(255, 65534 // (2 * ((M + 1) // 2)))
        assert (full.reshape(20, -1).max(axis=1) == vmax).all()
        codes = rng.integers(0, 16, (300, M), dtype=np.uint8)
        approx = bias[:, None] + _quantized_oracle(Q, codes) / scale[:, None]
        exact = _pq.adc_distances(T, codes)
        err = np.abs(approx - exact).max(axis=1)
        bound = fs.error_bound(scale, M)
        assert (err <= bound * (1 + 1e-9)).all()
        assert (err >= 0.2 * bound).any()  # the bound is not loose by orders


def test_quantize_tables_constant_and_wrong_size():
    Q, scale, bias = fs.quantize_tables(np.full((2, 3, 16), 4.0))
    assert (Q == 0).all() and (scale == 255).all() and (bias == 12.0).all()
    with pytest.raises(ValueError, match="n_clusters=16"):
        fs.quantize_tables(np.zeros((1, 2, 256)))


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("n_bits", [8, 16, 24, 32, 64, 96, 128])
@pytest.mark.parametrize("n", [1, 31, 33, 1007])
def test_backends_match_oracle(backend, n_bits, n):
    rng = np.random.default_rng(n_bits * n)
    M = n_bits // 4
    codes = rng.integers(0, 16, (n, M), dtype=np.uint8)
    T = rng.random((13, M, 16)).astype(np.float32)
    Q, _, _ = fs.quantize_tables(T)
    packed = fs.pack_codes(codes)
    D = _quantized_oracle(Q, codes)
    for k in sorted({1, min(10, n), n}):
        d, i = fs.fastscan_kneighbors(Q, packed, n, k, backend=backend)
        d_ref, i_ref = _topk_oracle(D, k)
        np.testing.assert_array_equal(i, i_ref)
        np.testing.assert_array_equal(d, d_ref)
        assert d.dtype == np.int64 and i.dtype == np.int64


@pytest.mark.parametrize("backend", BACKENDS)
def test_ties_by_index(backend):
    # Two codewords in use and coarse tables: nearly every distance is tied.
    rng = np.random.default_rng(3)
    codes = rng.integers(0, 2, (203, 4), dtype=np.uint8)
    T = np.round(rng.random((6, 4, 16)) * 2) / 2
    Q, _, _ = fs.quantize_tables(T)
    D = _quantized_oracle(Q, codes)
    assert len(np.unique(D[0])) < 10
    for k in (1, 50, 203):
        d, i = fs.fastscan_kneighbors(Q, fs.pack_codes(codes), 203, k, backend=backend)
        d_ref, i_ref = _topk_oracle(D, k)
        np.testing.assert_array_equal(i, i_ref)
        np.testing.assert_array_equal(d, d_ref)


def test_backends_agree_on_groups():
    nb = pytest.importorskip("skhash._kernels.pq_fastscan_numba")
    rng = np.random.default_rng(4)
    codes = rng.integers(0, 16, (2000, 16), dtype=np.uint8)
    Q, _, _ = fs.quantize_tables(rng.random((37, 16, 16)))
    packed = fs.pack_codes(codes)
    ref = fs.fastscan_kneighbors_numpy(Q, packed, 2000, 25)
    kernels = [nb.fastscan_topk_portable]
    if nb.fastscan_topk_simd is not None:
        kernels.append(nb.fastscan_topk_simd)
    for kernel in kernels:
        for group in (1, 4, 16):
            d, i = kernel(Q, packed, 2000, 25, group)
            np.testing.assert_array_equal(i, ref[1])
            np.testing.assert_array_equal(d, ref[0])
    assert nb.group_size(1000, 2) == nb.GROUP and nb.group_size(3, 2) == 1


def test_unknown_backend():
    with pytest.raises(ImportError, match="not available"):
        fs.fastscan_kneighbors(
            np.zeros((1, 1, 32), np.uint8),
            np.zeros((1, 1, 32), np.uint8),
            1,
            1,
            backend="gpu",
        )


@pytest.mark.parametrize("backend", ["numpy", "numba"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_rerank_equals_exact_adc_on_candidates(backend, dtype):
    if backend == "numba":
        pytest.importorskip("numba")
    rng = np.random.default_rng(5)
    T = rng.random((8, 6, 16)).astype(dtype)
    T[:, :, 8:] = T[:, :, :8]  # repeated entries: tied distances
    codes = rng.integers(0, 16, (400, 6), dtype=np.uint8)
    cand = np.stack([rng.permutation(400)[:60] for _ in range(8)])
    dist, ind = fs.rerank(T, codes, cand, 10, backend=backend)
    D = _pq.adc_distances(T, codes)
    for q in range(8):
        sub = D[q, cand[q]]
        order = np.lexsort((cand[q], sub))[:10]
        np.testing.assert_array_equal(ind[q], cand[q][order])
        np.testing.assert_array_equal(dist[q], sub[order])
    assert dist.dtype == dtype


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("n_bits", [8, 24, 64, 128])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_exact_mode_equals_exact_adc(backend, n_bits, dtype):
    rng = np.random.default_rng(n_bits)
    M = n_bits // 4
    n = 1500 + n_bits  # not a multiple of 32
    codes = rng.integers(0, 16, (n, M), dtype=np.uint8)
    T = rng.random((11, M, 16)).astype(dtype)
    T[:3] = np.round(T[:3] * 3) / 3  # coarse tables: many tied exact distances
    Q, scale, _ = fs.quantize_tables(T)
    window = fs.exact_window(T, scale)
    assert (window >= M + 1).all()
    packed = fs.pack_codes(codes)
    for k in (1, 10, 200):
        d_ref, i_ref = _pq.adc_kneighbors_numpy(T, codes, k)
        d, i = fs.fastscan_exact(Q, packed, n, k, window, T, codes, backend=backend)
        np.testing.assert_array_equal(i, i_ref)
        np.testing.assert_array_equal(d, d_ref)
        assert d.dtype == dtype


def test_exact_mode_where_a_short_list_fails():
    # Many items within a quantization step of each other: re-ranking only
    # the k best fast-scan candidates misses exact neighbours, the window
    # of the error bound does not.
    rng = np.random.default_rng(7)
    M, n, k = 16, 3000, 20
    codes = rng.integers(0, 16, (n, M), dtype=np.uint8)
    T = (rng.random((20, M, 16)) * 0.01 + 1.0).astype(np.float64)
    T[:, :, 0] = 0.0  # one large step per table: fine differences are rounded off
    Q, scale, _ = fs.quantize_tables(T)
    packed = fs.pack_codes(codes)
    d_ref, i_ref = _pq.adc_kneighbors_numpy(T, codes, k)
    _, cand = fs.fastscan_kneighbors(Q, packed, n, k)
    _, i_short = fs.rerank(T, codes, cand, k)
    assert not np.array_equal(i_short, i_ref)
    d, i = fs.fastscan_exact(Q, packed, n, k, fs.exact_window(T, scale), T, codes)
    np.testing.assert_array_equal(i, i_ref)
    np.testing.assert_array_equal(d, d_ref)


def test_exact_mode_grows_its_buffer():
    # every item ties in the quantized ranking: the window holds the whole
    # database, far beyond the initial buffer
    nb = pytest.importorskip("skhash._kernels.pq_fastscan_numba")
    rng = np.random.default_rng(8)
    codes = rng.integers(0, 16, (5000, 4), dtype=np.uint8)
    T = np.ones((3, 4, 16))
    Q, scale, _ = fs.quantize_tables(T)
    assert (Q == 0).all()
    d_ref, i_ref = _pq.adc_kneighbors_numpy(T, codes, 5)
    window = fs.exact_window(T, scale)
    d, i = nb.fastscan_exact_portable(
        Q, fs.pack_codes(codes), 5000, 5, window, T, codes, 1
    )
    np.testing.assert_array_equal(i, i_ref)
    np.testing.assert_array_equal(d, d_ref)
