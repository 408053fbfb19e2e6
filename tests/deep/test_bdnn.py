"""Tests of UH-BDNN, SH-BDNN and their objective terms."""

import pickle

import numpy as np
import pytest
import scipy.sparse

torch = pytest.importorskip("torch")

from sklearn.model_selection import GridSearchCV  # noqa: E402
from sklearn.pipeline import Pipeline  # noqa: E402

from skhash import HammingNeighbors  # noqa: E402
from skhash.deep import losses as L  # noqa: E402
from skhash.deep._bdnn import (  # noqa: E402
    _Encoder,
    default_hidden_sizes,
    encode_torch,
    lbfgs,
    sparse_copy,
)
from skhash.deep._shbdnn import SHBDNN  # noqa: E402
from skhash.deep._uhbdnn import UHBDNN  # noqa: E402

pytestmark = pytest.mark.torch


@pytest.fixture(autouse=True)
def _one_thread():
    # The test machine is shared: torch's intra-op threads spin against other
    # processes, which makes tiny problems 10x slower.
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)


def _rand(*shape, seed=0):
    g = torch.Generator().manual_seed(seed)
    return torch.randn(*shape, generator=g, dtype=torch.float64)


def _signs(m, L_, seed=1):
    return torch.where(_rand(m, L_, seed=seed) >= 0, 1.0, -1.0).double()


# ---------------------------------------------------------------- objective terms
def test_terms_match_naive_formulas():
    m, D, Lb = 7, 5, 3
    H, B, X = _rand(m, Lb), _signs(m, Lb), _rand(m, D, seed=2)
    W4, c4 = _rand(D, Lb, seed=3), _rand(D, seed=4)
    naive_rec = sum(((X[i] - W4 @ B[i] - c4) ** 2).sum() for i in range(m)) / (2 * m)
    torch.testing.assert_close(L.reconstruction_term(X, B, W4, c4), naive_rec)
    C = sum(torch.outer(H[i], H[i]) for i in range(m)) / m - torch.eye(Lb)
    torch.testing.assert_close(L.independence_term(H), (C**2).sum() / 2)
    torch.testing.assert_close(L.balance_term(H), (H.sum(0) ** 2).sum() / (2 * m))
    torch.testing.assert_close(L.equality_term(H, B), ((H - B) ** 2).sum() / (2 * m))


@pytest.mark.parametrize("multilabel", [False, True])
def test_similarity_term_matches_dense(multilabel):
    m, Lb = 9, 4
    H = _rand(m, Lb)
    g = np.random.default_rng(0)
    if multilabel:
        Y = torch.as_tensor(g.integers(0, 2, size=(m, 3)), dtype=torch.float64)
        S = torch.where(Y @ Y.T > 0, 1.0, -1.0).double()
        labels = Y
    else:
        y = torch.as_tensor(g.integers(0, 3, size=m))
        S = torch.where(y[:, None] == y[None, :], 1.0, -1.0).double()
        labels = y
    dense = ((H @ H.T / Lb - S) ** 2).sum() / (2 * m)
    torch.testing.assert_close(L.similarity_term(H, labels, block_size=2), dense)
    # the gradient too
    H1 = H.clone().requires_grad_()
    L.similarity_term(H1, labels, block_size=4).backward()
    H2 = H.clone().requires_grad_()
    (((H2 @ H2.T / Lb - S) ** 2).sum() / (2 * m)).backward()
    torch.testing.assert_close(H1.grad, H2.grad)


def test_gradcheck_each_term():
    m, D, Lb = 6, 4, 3
    H = _rand(m, Lb).requires_grad_()
    B = _signs(m, Lb)
    X = _rand(m, D, seed=2)
    W4 = _rand(D, Lb, seed=3).requires_grad_()
    c4 = _rand(D, seed=4).requires_grad_()
    W = _rand(3, 5, seed=5).requires_grad_()
    y = torch.tensor([0, 1, 0, 2, 1, 1])
    Y = torch.tensor([[1, 0], [0, 1], [1, 1], [0, 0], [1, 0], [0, 1]]).double()
    gc = torch.autograd.gradcheck
    assert gc(lambda w, c: L.reconstruction_term(X, B, w, c), (W4, c4))
    assert gc(lambda w: L.weight_decay_term([w]), (W,))
    assert gc(lambda h: L.equality_term(h, B), (H,))
    assert gc(L.independence_term, (H,))
    assert gc(L.balance_term, (H,))
    assert gc(lambda h: L.similarity_term(h, y), (H,))
    assert gc(lambda h: L.similarity_term(h, Y, block_size=4), (H,))
    assert gc(lambda h, w, c: L.uhbdnn_loss(h, B, X, w, c, [w]), (H, W4, c4))
    assert gc(lambda h, w: L.shbdnn_loss(h, B, y, [w]), (H, W))


def test_sparse_copy_only_for_very_sparse_inputs():
    X = np.zeros((100, 50), dtype=np.float32)
    X[::10, ::10] = 1.0  # density 0.02
    assert scipy.sparse.issparse(sparse_copy(X, "cpu"))
    X[:, :10] = 1.0  # density 0.2, like MNIST pixels: dense BLAS is faster
    assert sparse_copy(X, "cpu") is None


@pytest.mark.parametrize("sparse", [False, True])
def test_fast_encoder_matches_autograd(sparse):
    # hand-written backward (dense and sparse-input products) == autograd
    X = _rand(30, 7, seed=3)
    X = torch.where(X > 0.5, X, 0.0)  # sparse-ish, like pixels
    Xs = scipy.sparse.csr_matrix(X.numpy()) if sparse else None
    params = [
        _rand(*s, seed=10 + i).requires_grad_()
        for i, s in enumerate([(6, 7), (6,), (5, 6), (5,), (4, 5), (4,)])
    ]
    assert torch.autograd.gradcheck(lambda *p: _Encoder.apply(X, *p, Xs), tuple(params))
    w = _rand(30, 4, seed=20)
    (encode_torch(X, params) * w).sum().backward()
    ref = [p.grad.clone() for p in params]
    for p in params:
        p.grad = None
    H = _Encoder.apply(X, *params, Xs)
    np.testing.assert_allclose(H.detach(), encode_torch(X, params).detach())
    (H * w).sum().backward()
    for p, r in zip(params, ref, strict=True):
        np.testing.assert_allclose(p.grad, r, rtol=1e-10, atol=1e-12)


def test_hidden_sizes_rule():
    assert default_hidden_sizes(8) == (90, 20)
    assert default_hidden_sizes(32) == (120, 50)
    assert default_hidden_sizes(4) == (90, 20)
    assert default_hidden_sizes(12) == (90, 25)
    assert default_hidden_sizes(64) == (200, 90)
    for n_bits in range(1, 200):
        h1, h2 = default_hidden_sizes(n_bits)
        assert h1 >= h2 >= min(n_bits, 20)


@pytest.mark.parametrize("solver", ["lbfgs-torch", "lbfgs-scipy"])
def test_lbfgs_solvers_reach_the_minimum(solver):
    A = _rand(20, 5)
    b = _rand(20, seed=9)
    x = torch.zeros(5, dtype=torch.float64, requires_grad=True)
    lbfgs(lambda: ((A @ x - b) ** 2).sum(), [x], 50, solver)
    expected = torch.linalg.lstsq(A, b[:, None]).solution.ravel()
    torch.testing.assert_close(x.detach(), expected, atol=1e-5, rtol=1e-5)


# ---------------------------------------------------------------- estimators
def _data(n=300, d=20, n_classes=4, seed=0):
    g = np.random.default_rng(seed)
    y = g.integers(0, n_classes, size=n)
    X = g.random((n, d)) * 0.5 + g.random((n_classes, d))[y]
    return X, y


def _uh(**kw):
    params = dict(
        n_bits=8,
        hidden_layer_sizes=(16, 12),
        max_iter=3,
        lbfgs_max_iter=30,
        validation_size=50,
        validation_neighbors=10,
        random_state=0,
    )
    params.update(kw)
    return UHBDNN(**params)


def _sh(**kw):
    params = dict(
        n_bits=8,
        hidden_layer_sizes=(16, 12),
        max_iter=3,
        lbfgs_max_iter=30,
        random_state=0,
    )
    params.update(kw)
    return SHBDNN(**params)


@pytest.mark.parametrize("make", [_uh, _sh])
def test_objective_decreases_across_alternations(make):
    X, y = _data()
    est = make(early_stopping=False).fit(X, y)
    curve = np.array(est.loss_curve_)
    assert len(curve) == 4 and est.n_iter_ == 3
    assert np.all(np.diff(curve) <= 1e-6 * abs(curve[0]))
    assert curve[-1] < curve[0]
    assert est.bit_balance_.shape == (8,)
    assert np.all((est.bit_balance_ > 0) & (est.bit_balance_ < 1))


@pytest.mark.parametrize("make", [_uh, _sh])
def test_deterministic_and_pickle(make):
    X, y = _data(n=150)
    a = make().fit(X, y)
    b = make().fit(X, y)
    np.testing.assert_array_equal(a.transform(X), b.transform(X))
    c = pickle.loads(pickle.dumps(a))
    np.testing.assert_array_equal(a.transform(X), c.transform(X))
    state = torch.random.get_rng_state()
    make(random_state=1).fit(X, y)
    assert torch.equal(state, torch.random.get_rng_state())


def test_uhbdnn_rescaling_learnt_in_fit():
    X, _ = _data(n=100)
    est = _uh(max_iter=0).fit(X * 10 + 3)
    np.testing.assert_allclose(est.min_, (X * 10 + 3).min(0), rtol=1e-5)
    assert est.scale_ == pytest.approx(10 * (X.max(0) - X.min(0)).max())
    # transform reuses the training statistics, not the queries' own
    from skhash.deep._bdnn import encode_numpy

    Xq = (X[:10] * 10 + 3).astype(np.float32)
    expected = encode_numpy((Xq - est.min_) / est.scale_, est.coefs_, est.intercepts_)
    np.testing.assert_allclose(est.decision_function(Xq), expected, rtol=1e-5)
    own = (Xq - Xq.min(0)) / (Xq.max(0) - Xq.min(0)).max()
    assert not np.allclose(
        est.decision_function(Xq),
        encode_numpy(own, est.coefs_, est.intercepts_),
    )


def test_uhbdnn_beats_random_on_structured_data():
    X, y = _data(n=400, d=30)
    est = _uh(n_bits=8).fit(X)
    assert est.validation_scores_[est.best_iteration_] == max(est.validation_scores_)
    codes = est.transform(X)
    nn = HammingNeighbors().fit(codes, y)
    assert nn.score(codes, y) > 0.5  # chance is about 0.25


def test_shbdnn_multilabel_and_verbose(capsys):
    X, y = _data(n=120)
    Y = np.eye(4, dtype=int)[y]
    Y[::5, 1] = 1
    est = _sh(block_size=16, verbose=1).fit(X, Y)
    assert est.transform(X).shape == (120, 1)
    out = capsys.readouterr().out
    assert "pre-training" in out and "alternation 1/3" in out


def test_float64_and_solver_scipy():
    X, y = _data(n=100)
    est = _sh(dtype="float64", solver="lbfgs-scipy", max_iter=1).fit(X, y)
    assert est.coefs_[0].dtype == np.float64
    assert est.decision_function(X).dtype == np.float64


def test_grid_search_over_n_bits():
    X, y = _data(n=160)
    pipe = Pipeline([("hash", _uh(max_iter=1)), ("nn", HammingNeighbors())])
    gs = GridSearchCV(pipe, {"hash__n_bits": [4, 8]}, cv=2).fit(X, y)
    assert gs.best_params_["hash__n_bits"] in (4, 8)


def test_bad_input():
    X, y = _data(n=60)
    with pytest.raises(ValueError, match="requires y"):
        _sh().fit(X)
    with pytest.raises(ValueError, match="n_bits"):
        _uh(n_bits=30).fit(X)
    with pytest.raises(ValueError, match="hidden_layer_sizes"):
        _uh(hidden_layer_sizes=(3,)).fit(X)
    with pytest.raises(ValueError, match="device"):
        _uh(device="cuda:7" if not torch.cuda.is_available() else "nope").fit(X)
    with pytest.raises(ValueError, match="solver"):
        _uh(solver="sgd").fit(X)
    Xn = X.copy()
    Xn[3, 3] = np.inf
    with pytest.raises(ValueError, match="infinity"):
        _uh().fit(Xn)
    est = _uh(max_iter=0).fit(X)
    with pytest.raises(ValueError, match="features"):
        est.transform(X[:, :5])
