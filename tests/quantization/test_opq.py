"""Tests of OPQ, eigenvalue allocation and the Procrustes step."""

import numpy as np
import pytest
from scipy.linalg import orthogonal_procrustes

from skhash._kernels import pq as _pq
from skhash.quantization import OPQ, PQ


@pytest.fixture
def X():
    # Correlated data whose variance sits in a few directions, unevenly split by
    # the natural feature order: the case OPQ's rotation is for.
    rng = np.random.RandomState(0)
    scales = np.array([10, 8, 6, 5, 1, 0.5, 0.3, 0.2, 0.1, 0.1, 0.05, 0.05])
    Z = rng.normal(size=(600, 12)) * scales
    Q, _ = np.linalg.qr(rng.normal(size=(12, 12)))
    return Z @ Q.T


def test_eigenvalue_allocation_balances_products():
    order = _pq.eigenvalue_allocation(np.array([8.0, 4, 2, 1]), np.array([0, 2, 4]))
    # greedy: 8 -> A, 4 -> B, 2 -> B (log 4 < log 8), 1 -> A: products 8 and 8
    assert order.tolist() == [0, 3, 1, 2]


@pytest.mark.parametrize("scale", [100.0, 1.0, 0.01])
def test_eigenvalue_allocation_is_scale_invariant(scale):
    # Eigenvalues below 1 have negative logarithms; the allocation must not
    # depend on where 1 falls, only on the ratios of the eigenvalues.
    lam = np.arange(8.0, 0, -1) * scale
    order = _pq.eigenvalue_allocation(lam, np.array([0, 2, 4, 6, 8]))
    assert order.tolist() == [0, 7, 1, 6, 2, 5, 3, 4]


def test_parametric_opq_is_scale_equivariant(X):
    # PQ after eigenvalue allocation: scaling the data by s scales the
    # distortion by s**2 and changes nothing else.
    def distortion(s):
        opq = OPQ(
            n_bits=8,
            n_clusters=16,
            max_iter=0,
            init="eigenvalue_allocation",
            random_state=0,
        ).fit(X * s)
        return opq.inertia_ / s**2, opq.transform(X * s)

    big, codes_big = distortion(100.0)
    small, codes_small = distortion(0.01)
    np.testing.assert_allclose(small, big, rtol=1e-6)
    np.testing.assert_array_equal(codes_small, codes_big)


def test_eigenvalue_allocation_zero_variances():
    lam = np.array([5.0, 3, 2, 0, 0, 0])
    order = _pq.eigenvalue_allocation(lam, np.array([0, 2, 4, 6]))
    assert sorted(order.tolist()) == list(range(6))
    # the three informative directions go to three different subspaces
    assert sorted(np.flatnonzero(order < 3) // 2) == [0, 1, 2]


def test_procrustes_matches_scipy():
    rng = np.random.RandomState(0)
    A, B = rng.normal(size=(50, 6)), rng.normal(size=(50, 6))
    R = _pq.procrustes(A, B)
    np.testing.assert_allclose(R, orthogonal_procrustes(A, B)[0], atol=1e-10)


def test_fit_rotation_and_reconstruction(X):
    opq = OPQ(n_bits=12, n_clusters=16, max_iter=10, random_state=0).fit(X)
    R = opq.rotation_
    np.testing.assert_allclose(R.T @ R, np.eye(12), atol=1e-10)
    codes = opq.transform(X)
    assert codes.shape == (600, 3) and codes.dtype == np.uint8
    rec = opq.inverse_transform(codes)
    assert rec.shape == X.shape
    np.testing.assert_allclose(((X - rec) ** 2).sum(), opq.inertia_, rtol=1e-8)
    # ADC in the rotated space = exact distance to the reconstruction
    T = opq.distance_tables(X[:4])
    adc = T[:, np.arange(3), codes[:20]].sum(-1)
    exact = ((X[:4, None, :] - rec[None, :20]) ** 2).sum(-1)
    np.testing.assert_allclose(adc, exact, rtol=1e-8)


def test_distortion_decreases_and_beats_pq(X):
    opq = OPQ(n_bits=12, n_clusters=16, max_iter=15, random_state=0).fit(X)
    curve = np.array(opq.distortion_curve_)
    assert len(curve) == 16 and opq.n_iter_ == 15
    assert (np.diff(curve) <= 1e-9 * curve[0]).all()
    pq = PQ(n_bits=12, n_clusters=16, random_state=0).fit(X)
    parametric = OPQ(
        n_bits=12,
        n_clusters=16,
        max_iter=0,
        init="eigenvalue_allocation",
        random_state=0,
    ).fit(X)
    assert opq.inertia_ < parametric.inertia_ < pq.inertia_
    assert opq.init_ == "eigenvalue_allocation"  # Gaussian data: the paper's start


def test_deterministic(X):
    a = OPQ(n_bits=8, n_clusters=16, max_iter=3, random_state=1).fit(X)
    b = OPQ(n_bits=8, n_clusters=16, max_iter=3, random_state=1).fit(X)
    np.testing.assert_array_equal(a.rotation_, b.rotation_)
    np.testing.assert_array_equal(a.transform(X), b.transform(X))


def test_errors_and_verbose(X, capsys):
    with pytest.raises(ValueError, match="n_bits=14 must be a multiple"):
        OPQ(n_bits=14, n_clusters=16).fit(X)
    OPQ(n_bits=8, n_clusters=16, max_iter=2, random_state=0, verbose=1).fit(X)
    out = capsys.readouterr().out
    assert "[OPQ] iteration 2/2: distortion" in out


def test_identity_init_starts_from_pq():
    # No alternation from the identity start is PQ itself (same seed, same
    # k-means); with alternations the training distortion only goes down
    # from there on this data.
    rng = np.random.RandomState(0)
    X = rng.normal(size=(400, 12)) @ rng.normal(size=(12, 12))
    opq0 = OPQ(n_bits=12, n_clusters=16, max_iter=0, init="identity", random_state=0)
    pq = PQ(n_bits=12, n_clusters=16, random_state=0).fit(X)
    opq0.fit(X)
    for a, b in zip(opq0.codebooks_, pq.codebooks_, strict=True):
        np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(opq0.rotation_, np.eye(12))
    opq = OPQ(n_bits=12, n_clusters=16, max_iter=5, init="identity", random_state=0)
    assert opq.fit(X).inertia_ < pq.inertia_
    with pytest.raises(ValueError, match="init"):
        OPQ(init="random").fit(X)


def test_auto_init_keeps_the_better_start_and_reproduces_it(X):
    """``init="auto"`` keeps the start with the lower initial distortion and
    then fits exactly as that start would alone: the parametric start on the
    Gaussian fixture, the identity on digit images (whose pixel subspaces
    hold correlated neighbouring pixels), where it also ends lower."""
    from sklearn.datasets import load_digits

    digits = load_digits().data
    for data, n_bits, expected in [
        (X, 12, "eigenvalue_allocation"),
        (digits, 16, "identity"),
    ]:
        kw = dict(n_bits=n_bits, n_clusters=16, max_iter=4, random_state=0)
        auto = OPQ(**kw).fit(data)
        assert auto.init_ == expected
        fits = {
            s: OPQ(init=s, **kw).fit(data)
            for s in ("identity", "eigenvalue_allocation")
        }
        first = {s: f.distortion_curve_[0] for s, f in fits.items()}
        assert min(first, key=first.get) == expected
        assert fits[expected].inertia_ == min(f.inertia_ for f in fits.values())
        np.testing.assert_array_equal(auto.rotation_, fits[expected].rotation_)
        np.testing.assert_array_equal(
            auto.transform(data), fits[expected].transform(data)
        )
        assert fits[expected].init_ == expected
