"""Tests of SDH and of the DCC / SDH kernels."""

import pickle

import numpy as np
import pytest

from skhash._kernels.dcc import binary_quadratic_objective, dcc
from skhash._kernels.sdh import rbf_anchor_features, ridge
from skhash.linear._sdh import SDH, label_indicator


def _blobs(n=300, d=16, n_classes=4, seed=0):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, n_classes, size=n)
    centres = rng.normal(size=(n_classes, d)) * 3
    return centres[y] + rng.normal(size=(n, d)), y


def _brute_min(Q, G):
    """Exact minimiser of tr(B G B^T) - 2 tr(B^T Q) row by row (tiny L)."""
    L = Q.shape[1]
    cands = np.array(np.meshgrid(*[[-1.0, 1.0]] * L)).reshape(L, -1).T
    vals = np.einsum("cl,lk,ck->c", cands, G, cands)[None, :] - 2 * Q @ cands.T
    return cands[np.argmin(vals, axis=1)]


def test_dcc_never_increases_objective():
    rng = np.random.default_rng(0)
    for _ in range(20):
        n, L = 50, 6
        W = rng.normal(size=(L, 5))
        Q = rng.normal(size=(n, L)) * 3
        G = W @ W.T
        B0 = np.where(rng.normal(size=(n, L)) >= 0, 1.0, -1.0)
        f0 = binary_quadratic_objective(B0, Q, G)
        B1 = dcc(B0, Q, G, n_sweeps=1)
        B2 = dcc(B1, Q, G, n_sweeps=10)
        f1 = binary_quadratic_objective(B1, Q, G)
        f2 = binary_quadratic_objective(B2, Q, G)
        assert f1 <= f0 + 1e-9 and f2 <= f1 + 1e-9
        assert set(np.unique(B2)) <= {-1.0, 1.0}
        # a local optimum: no single bit flip improves any row
        for k in range(L):
            flipped = B2.copy()
            flipped[:, k] *= -1
            rows_f = np.einsum("ij,jk,ik->i", flipped, G, flipped) - 2 * (
                flipped * Q
            ).sum(1)
            rows_b = np.einsum("ij,jk,ik->i", B2, G, B2) - 2 * (B2 * Q).sum(1)
            assert np.all(rows_b <= rows_f + 1e-9)
        # never worse than the brute-force optimum by construction of a descent;
        # and it reaches the optimum when G is diagonal (bits decouple)
    G = np.diag(rng.uniform(1, 2, size=4))
    Q = rng.normal(size=(30, 4))
    B = dcc(-np.ones((30, 4)), Q, G, n_sweeps=1)
    np.testing.assert_array_equal(B, _brute_min(Q, G))


def test_dcc_maps_zero_to_plus_one():
    B = dcc(-np.ones((3, 2)), np.zeros((3, 2)), np.zeros((2, 2)), n_sweeps=1)
    np.testing.assert_array_equal(B, np.ones((3, 2)))


def test_ridge_matches_normal_equations():
    rng = np.random.default_rng(1)
    A, T = rng.normal(size=(40, 5)), rng.normal(size=(40, 3))
    W = ridge(A, T, 0.5)
    grad = -2 * A.T @ (T - A @ W) + 2 * 0.5 * W
    np.testing.assert_allclose(grad, 0, atol=1e-10)


def test_rbf_features():
    X = np.array([[0.0, 0.0], [1.0, 0.0]])
    Phi = rbf_anchor_features(X, X[:1], 1.0)
    np.testing.assert_allclose(Phi, [[1.0, 1.0], [np.exp(-0.5), 1.0]])


def test_label_indicator():
    Y, single = label_indicator(np.array([2, 0, 2]))
    assert single
    np.testing.assert_array_equal(Y, [[0, 1], [1, 0], [0, 1]])
    Y, single = label_indicator(np.array([[1, 1], [0, 1]]))
    assert not single
    with pytest.raises(ValueError, match="0/1"):
        label_indicator(np.array([[2, 0], [0, 1]]))


def test_sdh_objective_monotone_and_retrieval():
    X, y = _blobs()
    sdh = SDH(n_bits=16, n_anchors=100, random_state=0).fit(X, y)
    curve = np.array(sdh.loss_curve_)
    assert np.all(np.diff(curve) <= 1e-9 * abs(curve[0]))
    assert sdh.n_iter_ == 5 and sdh.bit_balance_.shape == (16,)
    # codes of the same class are closer than codes of different classes
    bits = np.unpackbits(sdh.transform(X), axis=1)[:, :16].astype(int)
    D = (bits[:, None, :] != bits[None, :, :]).sum(-1)
    same = y[:, None] == y[None, :]
    assert D[same].mean() + 2 < D[~same].mean()


def test_sdh_multilabel_and_determinism():
    X, y = _blobs(n=120)
    Y = np.eye(4)[y].astype(int)
    Y[::7, 0] = 1
    a = SDH(n_bits=8, n_anchors=30, random_state=3).fit(X, Y)
    b = SDH(n_bits=8, n_anchors=30, random_state=3).fit(X, Y)
    np.testing.assert_array_equal(a.transform(X), b.transform(X))
    c = pickle.loads(pickle.dumps(a))
    np.testing.assert_array_equal(a.transform(X), c.transform(X))


def test_sdh_bad_input():
    X, y = _blobs(n=50)
    with pytest.raises(ValueError, match="requires y"):
        SDH(n_bits=4).fit(X)
    with pytest.raises(ValueError, match="n_anchors"):
        SDH(n_anchors=0).fit(X, y)
    with pytest.raises(ValueError, match="sigma"):
        SDH(sigma=-1.0).fit(X, y)
    Xn = X.copy()
    Xn[0, 0] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        SDH(n_bits=4).fit(Xn, y)
    sdh = SDH(n_bits=4, n_anchors=10, random_state=0).fit(X, y)
    with pytest.raises(ValueError, match="features"):
        sdh.transform(X[:, :3])


def test_sdh_verbose(capsys):
    X, y = _blobs(n=60)
    SDH(n_bits=4, n_anchors=10, max_iter=2, verbose=1, random_state=0).fit(X, y)
    assert "SDH iteration 2/2" in capsys.readouterr().out


def _nearest_other_distance(X):
    d = np.sqrt(((X[:, None, :] - X[None]) ** 2).sum(-1))
    np.fill_diagonal(d, np.inf)
    return d.min(axis=1).mean()


def test_sdh_sigma_when_every_sample_is_an_anchor():
    # With the anchors drawn from the training samples, a sample's own anchor
    # (distance 0) must not set the RBF width: the width is the mean distance
    # to the nearest *other* anchor, here the nearest other sample.
    from sklearn.datasets import load_digits
    from sklearn.preprocessing import StandardScaler

    from skhash import HammingNeighbors

    X, y = load_digits(return_X_y=True)
    X = StandardScaler().fit_transform(X)
    Xt, yt, Xq, yq = X[:400], y[:400], X[1500:1700], y[1500:1700]
    sdh = SDH(n_bits=16, n_anchors=400, random_state=0).fit(Xt, yt)
    assert sdh.n_anchors_ == 400
    assert sdh.sigma_ == pytest.approx(_nearest_other_distance(Xt), rel=1e-6)
    nn = HammingNeighbors().fit(sdh.transform(Xt), yt)
    assert nn.score(sdh.transform(Xq), yq) > 0.5  # chance is about 0.1


def test_sdh_sigma_ignores_duplicates_and_caps_anchors():
    X, y = _blobs(n=40)
    X = np.vstack([X, X[:5]])  # exact duplicates: distance 0 to another anchor
    y = np.concatenate([y, y[:5]])
    with pytest.warns(UserWarning, match="n_anchors=100 exceeds the 45 training"):
        sdh = SDH(n_bits=4, n_anchors=100, max_iter=1, random_state=0).fit(X, y)
    assert sdh.n_anchors_ == 45 and sdh.anchors_.shape == (45, 16)
    d = np.sqrt(((X[:, None, :] - X[None]) ** 2).sum(-1))
    d[d == 0] = np.inf
    assert sdh.sigma_ == pytest.approx(d.min(axis=1).mean(), rel=1e-6)


def test_nearest_anchor_width_blocks(monkeypatch):
    from skhash._kernels import sdh as _sdh

    rng = np.random.default_rng(0)
    X = rng.normal(size=(50, 3))
    rows = np.array([3, 17, 40, 41])
    want = _sdh.nearest_anchor_width(X, X[rows], rows)
    monkeypatch.setattr(_sdh, "BLOCK_ENTRIES", 9)  # blocks of 2 rows
    assert _sdh.nearest_anchor_width(X, X[rows], rows) == pytest.approx(want)
    d = np.sqrt(((X[:, None] - X[rows][None]) ** 2).sum(-1))
    d[rows, np.arange(4)] = np.inf
    assert want == pytest.approx(d.min(axis=1).mean())
