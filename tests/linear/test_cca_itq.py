"""Tests of CCA-ITQ and of its CCA kernel."""

import pickle

import numpy as np
import pytest

from skhash import ITQ
from skhash._kernels.cca import cca_directions
from skhash.linear._cca_itq import CCAITQ
from skhash.metrics import mean_average_precision


def _hidden_classes(n=400, n_classes=5, seed=0):
    """Class signal in 4 low-variance dims, 12 high-variance noise dims."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, n_classes, size=n)
    signal = rng.normal(size=(n_classes, 4))[y] + 0.3 * rng.normal(size=(n, 4))
    noise = 6.0 * rng.normal(size=(n, 12))
    return np.hstack([noise[:, :6], signal, noise[:, 6:]]), y


def _map(codes, y, n_bits):
    bits = np.unpackbits(codes, axis=1)[:, :n_bits].astype(int)
    D = (bits[:, None, :] != bits[None, :, :]).sum(-1)
    ranking = np.argsort(D, axis=1, kind="stable")
    return mean_average_precision(y, y, ranking)


def test_cca_matches_the_matlab_formula():
    X, y = _hidden_classes(n=200)
    Y = np.eye(5)[y]
    Xc = X - X.mean(axis=0)
    W, r = cca_directions(Xc, Y, 3, reg=1e-4)
    # oracle: Gong's cca.m, eig(inv(Cxx) Cxy inv(Cyy) Cyx) on cov([X Y])
    C = np.cov(np.hstack([X, Y]), rowvar=False)
    d = X.shape[1]
    Cxx = C[:d, :d] + 1e-4 * np.eye(d)
    Cyy = C[d:, d:] + 1e-4 * np.eye(5)
    Cxy = C[:d, d:]
    M = np.linalg.inv(Cxx) @ Cxy @ np.linalg.inv(Cyy) @ Cxy.T
    vals, vecs = np.linalg.eig(M)
    order = np.argsort(-vals.real)[:3]
    np.testing.assert_allclose(r, np.sqrt(vals.real[order]), rtol=1e-8)
    for k in range(3):
        v = vecs[:, order[k]].real
        v /= np.linalg.norm(v)
        assert abs(v @ W[:, k]) == pytest.approx(1, abs=1e-8)
    np.testing.assert_allclose(np.linalg.norm(W, axis=0), 1)


def test_cca_perfect_correlation():
    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, size=100)
    X = np.column_stack([y + 0.0, rng.normal(size=100)])
    _, r = cca_directions(X - X.mean(0), np.eye(2)[y], 1, reg=1e-10)
    assert r[0] == pytest.approx(1, abs=1e-8)


def test_cca_itq_fit_and_beats_pca_itq_on_hidden_classes():
    X, y = _hidden_classes()
    cca = CCAITQ(n_bits=4, random_state=0).fit(X, y)
    R = cca.rotation_
    np.testing.assert_allclose(R.T @ R, np.eye(4), atol=1e-10)
    curve = np.array(cca.loss_curve_)
    assert np.all(np.diff(curve) <= 1e-9 * curve[0])
    assert np.all(np.diff(cca.correlations_) <= 1e-12)
    assert cca.correlations_[0] > 0.9
    itq = ITQ(n_bits=4, random_state=0).fit(X)
    assert _map(cca.transform(X), y, 4) > _map(itq.transform(X), y, 4) + 0.2


def test_cca_itq_projection_formula():
    X, y = _hidden_classes(n=120)
    cca = CCAITQ(n_bits=3, max_iter=10, random_state=1).fit(X, y)
    V = (X - X.mean(0)) @ cca.components_ @ cca.rotation_
    np.testing.assert_allclose(cca.decision_function(X), V, atol=1e-10)


def test_cca_itq_multilabel_determinism_pickle():
    X, y = _hidden_classes(n=150)
    Y = np.eye(5)[y].astype(int)
    Y[::4, 0] = 1
    a = CCAITQ(n_bits=6, random_state=2).fit(X, Y)
    b = CCAITQ(n_bits=6, random_state=2).fit(X, Y)
    np.testing.assert_array_equal(a.transform(X), b.transform(X))
    c = pickle.loads(pickle.dumps(a))
    np.testing.assert_array_equal(a.transform(X), c.transform(X))
    f = CCAITQ(n_bits=6, random_state=2).fit(X.astype(np.float32), Y)
    assert f.decision_function(X.astype(np.float32)).dtype == np.float32


def test_cca_itq_bad_input():
    X, y = _hidden_classes(n=40)
    with pytest.raises(ValueError, match="requires y"):
        CCAITQ(n_bits=4).fit(X)
    with pytest.raises(ValueError, match="n_bits"):
        CCAITQ(n_bits=17).fit(X, y)
    with pytest.raises(ValueError, match="reg"):
        CCAITQ(reg_covar=0.0).fit(X, y)
    Xn = X.copy()
    Xn[1, 1] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        CCAITQ(n_bits=4).fit(Xn, y)
    cca = CCAITQ(n_bits=4, random_state=0).fit(X, y)
    with pytest.raises(ValueError, match="features"):
        cca.transform(X[:, :5])


def test_reg_was_renamed_reg_covar():
    X, y = _hidden_classes(n=40)
    new = CCAITQ(n_bits=4, reg_covar=1e-2, random_state=0).fit(X, y)
    with pytest.warns(FutureWarning, match="`reg` was renamed `reg_covar`"):
        old = CCAITQ(n_bits=4, reg=1e-2, random_state=0).fit(X, y)
    np.testing.assert_array_equal(old.rotation_, new.rotation_)
    np.testing.assert_array_equal(old.components_, new.components_)
    assert CCAITQ().get_params()["reg"] == "deprecated"
    with pytest.raises(ValueError, match="both `reg` and `reg_covar`"):
        CCAITQ(n_bits=4, reg=1e-2, reg_covar=1e-3).fit(X, y)
    with pytest.raises(ValueError, match="reg"):
        CCAITQ(n_bits=4, reg=-1.0).fit(X, y)


def test_verbose_prints_the_loss_of_each_alternation(capsys):
    X, y = _hidden_classes(n=40)
    cca = CCAITQ(n_bits=4, max_iter=3, random_state=0, verbose=1).fit(X, y)
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 3 and lines[0].startswith("[CCAITQ] iteration 1/3")
    assert lines[-1].endswith(f"{cca.loss_curve_[-1]:.6g}")
    CCAITQ(n_bits=4, max_iter=3, random_state=0).fit(X, y)
    assert capsys.readouterr().out == ""
