"""Tests of DH and of its loss."""

import pickle

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("skorch")

from skhash.deep import DH  # noqa: E402
from skhash.deep.losses import dh_loss, dh_weight_penalty  # noqa: E402

pytestmark = pytest.mark.torch


def _naive_dh(H, Ws, cs, l1, l2, l3, center=False, N=None):
    """The paper's J / N with samples as columns, by explicit loops (float64).

    ``N`` (default: the batch size n) is the paper's training-set size: the
    quantisation term is the batch mean times N (its sum over N samples).
    """
    Hm = H.T  # L x n
    L, n = Hm.shape
    N = n if N is None else N
    Hv = Hm - Hm.mean(axis=1, keepdims=True) if center else Hm
    J = 0.0
    for k in range(L):
        for i in range(n):
            b = 1.0 if Hm[k, i] >= 0 else -1.0
            J += 0.5 * (b - Hm[k, i]) ** 2 * N / n
    J -= l1 / (2 * N) * np.trace(Hv @ Hv.T) * N / n
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
    # the full-batch objective of N = 50 training samples, estimated on 7
    got = dh_loss(
        H,
        weights=[W1],
        biases=[c1],
        variance_weight=3.0,
        orthogonality_weight=0.1,
        weight_decay=0.2,
        n_samples=50,
    )
    want = _naive_dh(H.numpy(), [W1.numpy()], [c1.numpy()], 3.0, 0.1, 0.2, True, 50)
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

    kw = dict(
        n_bits=16,
        max_epochs=15,
        lr=1e-3,
        batch_size=128,
        optimizer=torch.optim.Adam,
        random_state=0,
    )
    deep = DH(**kw).fit(Xdb)
    # no constant bit (the collapsed codes had every bit constant)
    assert np.all((deep.bit_balance_ > 0.05) & (deep.bit_balance_ < 0.95))
    # and not copies of one bit: from a random initialisation the three-layer
    # net learns (nearly) one balanced bit 16 times (here: 2 distinct codes;
    # on MNIST mean |corr| 1.00, 31 codes); DH's PCA start prevents the worst
    # of it (measured here: mean |corr| 0.70, 86 codes)
    bits = np.unpackbits(deep.transform(Xdb), axis=1)[:, :16].astype(float)
    corr = np.abs(np.corrcoef(bits.T))[~np.eye(16, dtype=bool)]
    n_codes = len(np.unique(deep.transform(Xdb), axis=0))
    print(f"deep DH: mean |corr| {corr.mean():.3f}, {n_codes} distinct codes")
    assert corr.mean() < 0.9 and n_codes > 40
    dh = DH(hidden_layer_sizes=(), orthogonality_weight=10.0, **kw).fit(Xdb)
    assert np.all((dh.bit_balance_ > 0.05) & (dh.bit_balance_ < 0.95))
    lsh = np.mean([mean_ap(LSH(n_bits=16, random_state=s).fit(Xdb)) for s in range(3)])
    got = mean_ap(dh)
    print(f"mAP DH 1-layer {got:.4f}, deep {mean_ap(deep):.4f}, LSH {lsh:.4f}")
    assert got > lsh + 0.03


def test_dh_default_training_is_full_batch_gradient_descent():
    """The paper's updates: plain gradient descent on the full-batch objective.

    With Adam on mini-batches (the former default) the same network made most
    bits copies of a few (digits, 16 bits: mean |corr| 0.71, 58 distinct
    codes for 1,697 images, mAP 0.137 against PCAH's 0.320); with full-batch
    gradient descent the bits stay decorrelated (0.22, 429 codes, 0.278).
    """
    from sklearn.datasets import load_digits

    X = load_digits().data.astype(np.float32) / 16.0
    dh = DH(n_bits=16, max_epochs=30, random_state=0).fit(X)
    opt = dh.net_.optimizer_
    assert type(opt) is torch.optim.SGD
    assert opt.param_groups[0]["momentum"] == 0
    # one step per epoch: the whole training set in one batch
    assert [len(h["batches"]) for h in dh.net_.history] == [1] * 30
    assert dh.net_.history[0]["batches"][0]["train_batch_size"] == len(X)
    bits = np.unpackbits(dh.transform(X), axis=1)[:, :16].astype(float)
    with np.errstate(invalid="ignore", divide="ignore"):  # constant bits: NaN
        corr = np.abs(np.corrcoef(bits.T))[~np.eye(16, dtype=bool)]
    n_codes = len(np.unique(dh.transform(X), axis=0))
    # measured: 0.22 and 228 codes (5 of the 16 bits are constant on digits,
    # whose low-variance principal directions the quantisation term saturates)
    assert np.nanmean(corr) < 0.4 and n_codes > 150


def test_dh_full_batch_with_a_mini_batch_size():
    X = _clusters(n=100)
    dh = DH(n_bits=4, hidden_layer_sizes=(8,), batch_size=32, max_epochs=2)
    dh.set_params(random_state=0).fit(X)
    assert [len(h["batches"]) for h in dh.net_.history] == [4, 4]
    with pytest.raises(ValueError, match="batch_size"):
        DH(batch_size=0).fit(X)


def test_dh_pca_initialisation_gives_pcah_codes():
    """Untrained (lr ~ 0), DH's network passes the top principal coordinates
    up through identity layers: its bits are PCAH's."""
    from skhash import PCAH

    X = _clusters(n=150, d=30)
    dh = DH(n_bits=6, hidden_layer_sizes=(12, 8), lr=1e-12, max_epochs=1)
    dh.fit(X)
    pcah = PCAH(n_bits=6).fit(X.astype(np.float64))
    np.testing.assert_array_equal(dh.transform(X), pcah.transform(X.astype(np.float64)))
    layers = [m for m in dh.net_.module_.modules() if isinstance(m, torch.nn.Linear)]
    W = [m.weight.detach().double().numpy() for m in layers]
    # orthonormal rows everywhere (the orthogonality term is 0 at the start)
    for w in W:
        np.testing.assert_allclose(w @ w.T, np.eye(w.shape[0]), atol=1e-5)
    # a wide last layer (8 -> 10 bits) passes its input through its first 8
    # units (their bits are PCAH's) and adds 2 units with orthonormal rows
    wide = DH(n_bits=10, hidden_layer_sizes=(12, 8), lr=1e-12, max_epochs=1)
    wide.set_params(random_state=0).fit(X)
    w = [m for m in wide.net_.module_.modules() if isinstance(m, torch.nn.Linear)]
    last = w[-1].weight.detach().double().numpy()
    assert last.shape == (10, 8)
    np.testing.assert_allclose(last[:8], np.eye(8), atol=1e-6)
    np.testing.assert_allclose(last[8:] @ last[8:].T, np.eye(2), atol=1e-6)
    X64 = X.astype(np.float64)
    pcah8 = np.unpackbits(PCAH(n_bits=8).fit(X64).transform(X64), axis=1)
    wide_bits = np.unpackbits(wide.transform(X), axis=1)[:, :8]
    np.testing.assert_array_equal(wide_bits, pcah8)
    # init="random" keeps torch's default initialisation (not orthonormal)
    rnd = DH(n_bits=6, hidden_layer_sizes=(12, 8), init="random", lr=1e-12)
    rnd.set_params(max_epochs=1, random_state=0).fit(X)
    w0 = [m for m in rnd.net_.module_.modules() if isinstance(m, torch.nn.Linear)]
    g = w0[0].weight.detach().double().numpy()
    assert np.abs(g @ g.T - np.eye(12)).max() > 0.1


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
    with pytest.raises(ValueError, match="init"):
        DH(init="xavier").fit(X)
    dh = DH(n_bits=4, hidden_layer_sizes=(4,), max_epochs=1, random_state=0).fit(X)
    with pytest.raises(ValueError, match="features"):
        dh.transform(X[:, :3])
