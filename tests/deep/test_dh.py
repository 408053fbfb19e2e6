"""Tests of DH and of its loss."""

import pickle

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("skorch")

from skhash.deep import DH  # noqa: E402
from skhash.deep.losses import dh_loss, dh_weight_penalty  # noqa: E402

pytestmark = pytest.mark.torch


def _naive_dh(H, Ws, cs, l1, l2, l3):
    """The paper's J with samples as columns, by explicit loops (float64)."""
    Hm = H.T  # L x N
    L, N = Hm.shape
    J = 0.0
    for k in range(L):
        for i in range(N):
            b = 1.0 if Hm[k, i] >= 0 else -1.0
            J += 0.5 * (b - Hm[k, i]) ** 2
    J -= l1 / (2 * N) * np.trace(Hm @ Hm.T)
    for W in Ws:
        J += l2 / 2 * ((W @ W.T - np.eye(W.shape[0])) ** 2).sum()
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
    want = _naive_dh(H.numpy(), [W1.numpy()], [c1.numpy()], 3.0, 0.1, 0.2)
    assert float(got) == pytest.approx(want, rel=1e-12)
    H.requires_grad_(True)
    W1.requires_grad_(True)

    def f(h, w):
        return dh_loss(h, weights=[w], variance_weight=3.0, orthogonality_weight=0.1)

    assert torch.autograd.gradcheck(f, (H, W1))
    # the gradient with respect to H is (H - B) / N - lambda_1 H / N^2 ... (B fixed)
    H2 = H.detach().clone().requires_grad_(True)
    dh_loss(H2, variance_weight=3.0).backward()
    B = torch.where(H2 >= 0, 1.0, -1.0)
    np.testing.assert_allclose(
        H2.grad.numpy(), ((H2 - B) / 7 - 3.0 * H2 / 49).detach().numpy(), atol=1e-12
    )


def test_dh_weight_penalty_alone():
    W = torch.tensor([[1.0, 2.0], [0.0, 1.0]], dtype=torch.float64)
    got = dh_weight_penalty([W], [], orthogonality_weight=2.0, weight_decay=0.0)
    assert float(got) == pytest.approx(((W @ W.T - torch.eye(2)) ** 2).sum().item())


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
