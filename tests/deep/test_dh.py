"""Tests of DH and of its loss."""

import pickle

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("skorch")

from skhash.deep import DH  # noqa: E402
from skhash.deep.losses import dh_loss, dh_weight_penalty  # noqa: E402

pytestmark = pytest.mark.torch


def _naive_dh(H, Ws, cs, l1, l2, l3, center=False):
    """The paper's J with samples as columns, by explicit loops (float64)."""
    Hm = H.T  # L x N
    L, N = Hm.shape
    Hv = Hm - Hm.mean(axis=1, keepdims=True) if center else Hm
    J = 0.0
    for k in range(L):
        for i in range(N):
            b = 1.0 if Hm[k, i] >= 0 else -1.0
            J += 0.5 * (b - Hm[k, i]) ** 2
    J -= l1 / (2 * N) * np.trace(Hv @ Hv.T)
    for W in Ws:
        G = W @ W.T if W.shape[0] <= W.shape[1] else W.T @ W  # the smaller Gram
        J += l2 / 2 * ((G - np.eye(G.shape[0])) ** 2).sum()
        J += l3 / 2 * (W**2).sum()
    for c in cs:
        J += l3 / 2 * (c**2).sum()
    return J / N


def test_dh_loss_matches_the_equation_and_gradcheck():
    g = torch.Generator().manual_seed(0)
    H = torch.tanh(torch.randn(7, 5, generator=g, dtype=torch.float64))
    W1 = torch.randn(5, 4, generator=g, dtype=torch.float64)
    c1 = torch.randn(5, generator=g, dtype=torch.float64)
    got = dh_loss(
        H,
        weights=[W1],
        biases=[c1],
        variance_weight=3.0,
        orthogonality_weight=0.1,
        weight_decay=0.2,
    )
    want = _naive_dh(H.numpy(), [W1.numpy()], [c1.numpy()], 3.0, 0.1, 0.2, True)
    assert float(got) == pytest.approx(want, rel=1e-12)
    got = dh_loss(
        H,
        weights=[W1],
        biases=[c1],
        variance_weight=3.0,
        orthogonality_weight=0.1,
        weight_decay=0.2,
        center=False,
    )
    want = _naive_dh(H.numpy(), [W1.numpy()], [c1.numpy()], 3.0, 0.1, 0.2)
    assert float(got) == pytest.approx(want, rel=1e-12)
    H.requires_grad_(True)
    W1.requires_grad_(True)

    def f(h, w):
        return dh_loss(h, weights=[w], variance_weight=3.0, orthogonality_weight=0.1)

    assert torch.autograd.gradcheck(f, (H, W1))
    # the gradient with respect to H is (H - B) / N - lambda_1 H / N^2 ... (B fixed)
    H2 = H.detach().clone().requires_grad_(True)
    dh_loss(H2, variance_weight=3.0, center=False).backward()
    B = torch.where(H2 >= 0, 1.0, -1.0)
    np.testing.assert_allclose(
        H2.grad.numpy(), ((H2 - B) / 7 - 3.0 * H2 / 49).detach().numpy(), atol=1e-12
    )


def test_dh_weight_penalty_alone():
    W = torch.tensor([[1.0, 2.0], [0.0, 1.0]], dtype=torch.float64)
    got = dh_weight_penalty([W], [], orthogonality_weight=2.0, weight_decay=0.0)
    assert float(got) == pytest.approx(((W @ W.T - torch.eye(2)) ** 2).sum().item())


def test_dh_weight_penalty_wide_layer_uses_columns():
    # a 3 x 2 layer cannot have W W^T = I; orthonormal columns give 0
    W = torch.tensor([[1.0, 0.0], [0.0, 1.0], [0.0, 0.0]], dtype=torch.float64)
    got = dh_weight_penalty([W], [], orthogonality_weight=1.0, weight_decay=0.0)
    assert float(got) == pytest.approx(0.0)


def test_dh_variance_term_is_centred():
    # a constant saturated code has no variance: centred, it earns nothing
    H = torch.full((6, 3), 0.9, dtype=torch.float64)
    quant = 0.5 * 0.01 * 18 / 6
    assert float(dh_loss(H, variance_weight=5.0)) == pytest.approx(quant)
    assert float(dh_loss(H, variance_weight=5.0, center=False)) < quant


def test_dh_codes_on_digits_are_informative():
    """Regression: DH's bits were constant (uncentred variance term)."""
    from sklearn.datasets import load_digits

    from skhash import LSH
    from skhash.neighbors import HammingNeighbors

    X = load_digits().data.astype(np.float32) / 16.0
    Xq, Xdb = X[:100], X[100:]
    d2 = ((Xq[:, None, :] - Xdb[None, :, :]) ** 2).sum(-1)
    relevant = np.zeros(d2.shape, dtype=bool)
    np.put_along_axis(relevant, np.argsort(d2, axis=1)[:, :20], True, axis=1)

    def mean_ap(h):
        nn_ = HammingNeighbors().fit(h.transform(Xdb))
        _, ind = nn_.kneighbors(h.transform(Xq), n_neighbors=len(Xdb))
        rel = np.take_along_axis(relevant, ind, axis=1)
        hits = np.cumsum(rel, axis=1)
        ranks = np.arange(1, rel.shape[1] + 1)
        return float(np.mean((hits / ranks * rel).sum(1) / rel.sum(1)))

    kw = dict(n_bits=16, max_epochs=15, lr=1e-3, random_state=0)
    deep = DH(**kw).fit(Xdb)
    # no constant bit (the collapsed codes had every bit constant)
    assert np.all((deep.bit_balance_ > 0.05) & (deep.bit_balance_ < 0.95))
    dh = DH(hidden_layer_sizes=(), orthogonality_weight=10.0, **kw).fit(Xdb)
    assert np.all((dh.bit_balance_ > 0.05) & (dh.bit_balance_ < 0.95))
    lsh = np.mean([mean_ap(LSH(n_bits=16, random_state=s).fit(Xdb)) for s in range(3)])
    got = mean_ap(dh)
    print(f"mAP DH 1-layer {got:.4f}, deep {mean_ap(deep):.4f}, LSH {lsh:.4f}")
    assert got > lsh + 0.03


def _clusters(n=200, d=10, seed=0):
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(6, d)) * 2
    return (centres[rng.integers(0, 6, n)] + 0.3 * rng.normal(size=(n, d))).astype(
        np.float32
    )


def test_dh_trains_balanced_informative_bits():
    X = _clusters()
    dh = DH(n_bits=8, hidden_layer_sizes=(16,), max_epochs=15, lr=1e-2, random_state=0)
    dh.fit(X)
    losses = [h["train_loss"] for h in dh.net_.history]
    assert losses[-1] < losses[0]
    assert np.all((dh.bit_balance_ > 0) & (dh.bit_balance_ < 1))
    # the outputs saturate towards +-1 (small quantisation loss)
    H = np.tanh(dh.decision_function(X))
    assert np.mean(np.abs(H)) > 0.5
    # nets use tanh units everywhere
    mods = [type(m).__name__ for m in dh.net_.module_.modules()]
    assert "Tanh" in mods and "ReLU" not in mods


def test_dh_deterministic_pickle_and_global_rng_untouched():
    X = _clusters(n=80)
    state = torch.random.get_rng_state()
    a = DH(n_bits=6, hidden_layer_sizes=(8,), max_epochs=2, random_state=1).fit(X)
    assert torch.equal(state, torch.random.get_rng_state())
    b = DH(n_bits=6, hidden_layer_sizes=(8,), max_epochs=2, random_state=1).fit(X)
    np.testing.assert_array_equal(a.transform(X), b.transform(X))
    c = pickle.loads(pickle.dumps(a))
    np.testing.assert_array_equal(a.transform(X), c.transform(X))


def test_dh_bad_input():
    X = _clusters(n=30)
    with pytest.raises(ValueError, match="variance_weight"):
        DH(variance_weight=-1.0).fit(X)
    with pytest.raises(ValueError, match="hidden_layer_sizes"):
        DH(hidden_layer_sizes=(0,), max_epochs=1).fit(X)
    dh = DH(n_bits=4, hidden_layer_sizes=(4,), max_epochs=1, random_state=0).fit(X)
    with pytest.raises(ValueError, match="features"):
        dh.transform(X[:, :3])
