"""Tests of KSH and of its kernel (spectral step, smoothed cost, greedy fit)."""

import pickle

import numpy as np
import pytest
import scipy.linalg
from scipy.optimize import check_grad

from skhash._kernels import ksh as _ksh
from skhash.linear._ksh import KSH, pairwise_label_signs


def _blobs(n=240, d=12, n_classes=4, seed=0, spread=1.5):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, n_classes, size=n)
    centres = rng.normal(size=(n_classes, d)) * spread
    return centres[y] + rng.normal(size=(n, d)), y


def _hamming(codes, n_bits):
    bits = np.unpackbits(codes, axis=1)[:, :n_bits].astype(int)
    return (bits[:, None, :] != bits[None, :, :]).sum(-1)


def test_phi_is_the_papers_sigmoid():
    z = np.linspace(-8, 8, 33)
    np.testing.assert_allclose(_ksh.phi(z), 2 / (1 + np.exp(-z)) - 1, atol=1e-12)


def test_smoothed_cost_value_and_gradient():
    rng = np.random.default_rng(0)
    K = rng.normal(size=(30, 7))
    S = rng.choice([-1.0, 1.0], size=(30, 30))
    R = S + S.T
    a = rng.normal(size=7) * 0.3
    f, _ = _ksh.smoothed_cost(a, K, R)
    p = 2 / (1 + np.exp(-(K @ a))) - 1
    naive = -sum(p[i] * R[i, j] * p[j] for i in range(30) for j in range(30))
    assert f == pytest.approx(naive, rel=1e-10)
    err = check_grad(
        lambda x: _ksh.smoothed_cost(x, K, R)[0],
        lambda x: _ksh.smoothed_cost(x, K, R)[1],
        a,
    )
    assert err < 1e-5 * (1 + np.abs(_ksh.smoothed_cost(a, K, R)[1]).max())


def test_spectral_projection_solves_the_generalised_eigenproblem():
    rng = np.random.default_rng(1)
    K = rng.normal(size=(40, 6))
    S = pairwise_label_signs(rng.integers(0, 3, size=40))
    R = 5 * S
    a = _ksh.spectral_projection(K, R)
    # normalised to ||K a||^2 = l
    assert np.sum((K @ a) ** 2) == pytest.approx(40)
    # oracle: the top eigenvector of (K^T K)^-1 K^T R K, by a dense solver
    G, M = K.T @ K, K.T @ R @ K
    vals, vecs = scipy.linalg.eig(np.linalg.solve(G, M))
    top = np.real(vecs[:, np.argmax(np.real(vals))])
    cos = abs(top @ a) / (np.linalg.norm(top) * np.linalg.norm(a))
    assert cos == pytest.approx(1, abs=1e-6)
    # it maximises the Rayleigh quotient among random directions
    q = (a @ M @ a) / (a @ G @ a)
    for _ in range(50):
        b = rng.normal(size=6)
        assert (b @ M @ b) / (b @ G @ b) <= q + 1e-9


def test_greedy_loss_curve_is_the_fit_error():
    X, y = _blobs(n=80)
    K = _ksh.kernel_features(X, X[:10], 3.0)
    K -= K.mean(axis=0)
    S = pairwise_label_signs(y)
    A, losses, n_iters = _ksh.greedy_ksh(K, S, 6, max_iter=30)
    assert A.shape == (10, 6) and len(losses) == 6
    assert all(0 <= it <= 30 for it in n_iters)
    H = np.where(K @ A >= 0, 1.0, -1.0)
    np.testing.assert_allclose(losses[-1], np.sum((H @ H.T - 6 * S) ** 2))
    # the first bit's refinement never does worse than the spectral solution
    _, spectral, _ = _ksh.greedy_ksh(K, S, 6, max_iter=0)
    assert losses[0] <= spectral[0]
    # six bits fit the scaled labels better than no bits at all
    assert losses[-1] < np.sum((6 * S) ** 2)


def test_low_rank_residue_equals_the_dense_one():
    rng = np.random.default_rng(3)
    y = rng.integers(0, 4, size=50)
    Y = np.eye(4)[y]
    S = pairwise_label_signs(y)
    np.testing.assert_array_equal(S, 2 * Y @ Y.T - 1)
    dense, low = _ksh.DenseResidue(7 * S), _ksh.LowRankResidue(Y, 7)
    K = rng.normal(size=(50, 6))
    for _ in range(3):
        p = rng.normal(size=50)
        np.testing.assert_allclose(low.matvec(p), dense.matvec(p), atol=1e-9)
        np.testing.assert_allclose(low.sandwich(K), dense.sandwich(K), atol=1e-8)
        assert low.frobenius2() == pytest.approx(dense.frobenius2(), rel=1e-12)
        h = np.where(rng.normal(size=50) >= 0, 1.0, -1.0)
        dense.subtract(h)
        low.subtract(h)
    np.testing.assert_allclose(low.P @ low.Q.T, dense.R, atol=1e-9)


def test_greedy_low_rank_path_matches_dense_path():
    X, y = _blobs(n=90)
    K = _ksh.kernel_features(X, X[:12], 3.0)
    K -= K.mean(axis=0)
    S = pairwise_label_signs(y)
    Y = np.eye(4)[y]
    # spectral only: the same bits (up to rounding of the eigenvectors)
    A0, l0, _ = _ksh.greedy_ksh(K, S, 5, max_iter=0)
    A1, l1, _ = _ksh.greedy_ksh(K, None, 5, max_iter=0, labels=Y)
    np.testing.assert_array_equal(K @ A0 >= 0, K @ A1 >= 0)
    np.testing.assert_allclose(l0, l1, rtol=1e-12)
    # with the refinement the fit error agrees too
    _, l0, _ = _ksh.greedy_ksh(K, S, 5, max_iter=30)
    _, l1, _ = _ksh.greedy_ksh(K, None, 5, max_iter=30, labels=Y)
    np.testing.assert_allclose(l0, l1, rtol=1e-6)


def test_pairwise_label_signs_multilabel():
    Y = np.array([[1, 0, 0], [1, 1, 0], [0, 0, 1]])
    np.testing.assert_array_equal(
        pairwise_label_signs(Y), [[1, 1, -1], [1, 1, -1], [-1, -1, 1]]
    )
    np.testing.assert_array_equal(
        pairwise_label_signs(np.array([3, 1, 3])),
        [[1, -1, 1], [-1, 1, -1], [1, -1, 1]],
    )


def test_ksh_separates_classes_and_beats_spectral_only():
    X, y = _blobs(n=300)
    ksh = KSH(n_bits=16, n_anchors=60, n_labeled=200, max_iter=100, random_state=0)
    ksh.fit(X, y)
    D = _hamming(ksh.transform(X), 16)
    same = y[:, None] == y[None, :]
    assert D[same].mean() + 4 < D[~same].mean()
    assert ksh.projection_.shape == (60, 16) and ksh.anchors_.shape == (60, 12)
    assert ksh.bit_balance_.shape == (16,)
    # kernel features are centred by their training mean (the paper's bias)
    K = _ksh.kernel_features(X, ksh.anchors_, ksh.sigma_, ksh.kernel_mean_)
    np.testing.assert_allclose(K.mean(axis=0), 0, atol=1e-12)
    spectral = KSH(
        n_bits=16, n_anchors=60, n_labeled=200, max_iter=0, random_state=0
    ).fit(X, y)
    assert ksh.loss_curve_[0] <= spectral.loss_curve_[0]


def test_ksh_default_sigma_is_rms_anchor_distance():
    X, y = _blobs(n=50)
    ksh = KSH(n_bits=4, n_anchors=10, max_iter=5, random_state=0).fit(X, y)
    d2 = ((X[:, None, :] - ksh.anchors_[None]) ** 2).sum(-1)
    assert ksh.sigma_ == pytest.approx(np.sqrt(d2.mean()))
    ksh2 = KSH(n_bits=4, n_anchors=10, sigma=2.5, max_iter=5, random_state=0)
    assert ksh2.fit(X, y).sigma_ == 2.5


def test_ksh_multilabel_determinism_pickle_float32():
    X, y = _blobs(n=100)
    Y = np.eye(4)[y].astype(int)
    Y[::5, 1] = 1
    a = KSH(n_bits=8, n_anchors=20, max_iter=20, random_state=3).fit(X, Y)
    b = KSH(n_bits=8, n_anchors=20, max_iter=20, random_state=3).fit(X, Y)
    np.testing.assert_array_equal(a.transform(X), b.transform(X))
    c = pickle.loads(pickle.dumps(a))
    np.testing.assert_array_equal(a.transform(X), c.transform(X))
    f = KSH(n_bits=8, n_anchors=20, max_iter=20, random_state=3).fit(
        X.astype(np.float32), Y
    )
    assert f.decision_function(X.astype(np.float32)).dtype == np.float32


def test_ksh_bad_input():
    X, y = _blobs(n=40)
    with pytest.raises(ValueError, match="requires y"):
        KSH(n_bits=4).fit(X)
    with pytest.raises(ValueError, match="n_anchors"):
        KSH(n_anchors=0).fit(X, y)
    with pytest.raises(ValueError, match="n_labeled"):
        KSH(n_labeled=1).fit(X, y)
    with pytest.raises(ValueError, match="sigma"):
        KSH(sigma=0.0).fit(X, y)
    with pytest.raises(ValueError, match="max_iter"):
        KSH(max_iter=-1).fit(X, y)
    Xn = X.copy()
    Xn[0, 0] = np.inf
    with pytest.raises(ValueError, match="infinity"):
        KSH(n_bits=4).fit(Xn, y)
    with pytest.raises(ValueError, match="0/1"):
        KSH(n_bits=4, n_anchors=10).fit(X, np.full((40, 2), 2))
    ksh = KSH(n_bits=4, n_anchors=10, max_iter=5, random_state=0).fit(X, y)
    with pytest.raises(ValueError, match="features"):
        ksh.transform(X[:, :3])


def test_ksh_verbose(capsys):
    X, y = _blobs(n=40)
    KSH(n_bits=3, n_anchors=8, max_iter=5, verbose=1, random_state=0).fit(X, y)
    assert "KSH bit 3/3" in capsys.readouterr().out


def test_ksh_caps_anchors_with_a_warning():
    X, y = _blobs(n=30)
    with pytest.warns(UserWarning, match="n_anchors=300 exceeds the 30 training"):
        ksh = KSH(n_bits=4, max_iter=5, random_state=0).fit(X, y)
    assert ksh.n_anchors_ == 30 and ksh.anchors_.shape[0] == 30
    # the RMS distance to the anchors stays away from 0 when every sample is
    # an anchor (only 1 / n of the pairs are a sample and its own anchor)
    assert ksh.sigma_ > 1
