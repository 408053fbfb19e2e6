"""The paper losses against naive loops written from their equations."""

import math

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("skorch")

from skhash.deep.losses import (  # noqa: E402
    DHNLoss,
    DNNHLoss,
    DSHLoss,
    HashNetLoss,
    dhn_loss,
    dnnh_loss,
    dsh_loss,
    hashnet_loss,
    label_cosine_similarity,
    label_similarity,
)

pytestmark = pytest.mark.torch


def _data(n=7, k=5, seed=0, labels=3):
    g = torch.Generator().manual_seed(seed)
    relaxed = torch.randn(n, k, generator=g, dtype=torch.float64) * 1.3
    y = torch.randint(0, labels, (n,), generator=g)
    return relaxed, y


def _sim(y):
    return (y[:, None] == y[None, :]).to(torch.float64)


# ---------------------------------------------------------------- naive loops
def naive_dsh(b, s, m, alpha):
    b = b.tolist()
    n, k = len(b), len(b[0])
    pair_sum, n_pairs = 0.0, 0
    for i in range(n):
        for j in range(i + 1, n):
            d = sum((b[i][t] - b[j][t]) ** 2 for t in range(k))
            y = 1.0 - float(s[i][j])  # DSH: 0 = similar
            pair_sum += 0.5 * (1 - y) * d + 0.5 * y * max(m - d, 0.0)
            n_pairs += 1
    reg = sum(abs(abs(b[i][t]) - 1) for i in range(n) for t in range(k)) / n
    return pair_sum / n_pairs + alpha * reg


def naive_dhn(z, s, lam):
    z = z.tolist()
    n, k = len(z), len(z[0])
    c = 0.0
    for i in range(n):
        for j in range(n):
            ip = sum(z[i][t] * z[j][t] for t in range(k))
            c += math.log(1 + math.exp(ip)) - float(s[i][j]) * ip
    q = sum(math.log(math.cosh(abs(z[i][t]) - 1)) for i in range(n) for t in range(k))
    return c / n**2 + lam * q / (n * k)


def naive_hashnet(ha, hb, s, alpha, c=None):
    ha, hb = ha.tolist(), hb.tolist()
    na, nb, k = len(ha), len(hb), len(ha[0])
    n_pairs = na * nb
    n_sim = sum(float(s[i][j]) for i in range(na) for j in range(nb))
    n_dis = n_pairs - n_sim
    total = 0.0
    for i in range(na):
        for j in range(nb):
            ip = alpha * sum(ha[i][t] * hb[j][t] for t in range(k))
            sij = float(s[i][j])
            if sij == 1:
                w = n_pairs / n_sim * (1.0 if c is None else float(c[i][j]))
            else:
                w = n_pairs / n_dis
            total += w * (math.log(1 + math.exp(ip)) - sij * ip)
    return total / n_pairs


def naive_dnnh(F, s, m):
    F = F.tolist()
    n = len(F)

    def d(a, b):
        return sum((x - y) ** 2 for x, y in zip(F[a], F[b], strict=True))

    total, count = 0.0, 0
    for i in range(n):
        for j in range(n):
            for l in range(n):
                if j == i or l == i or s[i][j] != 1 or s[i][l] != 0:
                    continue
                total += max(0.0, m - (d(i, l) - d(i, j)))
                count += 1
    return total / count if count else 0.0


# ---------------------------------------------------------------- DSH
@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("margin", [None, 3.0])
def test_dsh_loss_matches_naive(seed, margin):
    b, y = _data(seed=seed)
    s = _sim(y)
    got = dsh_loss(b, s, margin=margin, quantization_weight=0.05)
    m = 2 * b.shape[1] if margin is None else margin
    assert float(got) == pytest.approx(naive_dsh(b, s, m, 0.05), rel=1e-12)


def test_dsh_loss_reads_upper_triangle_only():
    b, y = _data()
    s = _sim(y)
    s_lower_garbage = s.clone()
    il = torch.tril_indices(len(y), len(y), offset=-1)
    s_lower_garbage[il[0], il[1]] = 1 - s_lower_garbage[il[0], il[1]]
    assert float(dsh_loss(b, s)) == float(dsh_loss(b, s_lower_garbage))


def test_dsh_loss_single_sample_is_regulariser():
    b = torch.tensor([[0.5, -2.0]], dtype=torch.float64)
    got = dsh_loss(b, torch.ones(1, 1), quantization_weight=1.0)
    assert float(got) == pytest.approx(0.5 + 1.0)


def test_dsh_loss_gradcheck():
    b, y = _data(n=5, k=3)
    b.requires_grad_(True)
    s = _sim(y)
    assert torch.autograd.gradcheck(lambda x: dsh_loss(x, s), (b,))


# ---------------------------------------------------------------- DHN
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_dhn_loss_matches_naive(seed):
    z, y = _data(seed=seed)
    z = torch.tanh(z)
    s = _sim(y)
    got = dhn_loss(z, s, quantization_weight=0.3)
    assert float(got) == pytest.approx(naive_dhn(z, s, 0.3), rel=1e-12)


def test_dhn_loss_stable_for_large_outputs():
    # Unscaled inner products of 400 * 48 overflow exp(); softplus does not.
    z = torch.full((3, 48), 20.0, dtype=torch.float64)
    s = torch.eye(3, dtype=torch.float64)
    got = dhn_loss(z, s, quantization_weight=1.0)
    ip = 48 * 400.0
    expected = (3 * 0.0 + 6 * ip) / 9 + (19.0 - math.log(2.0))
    assert torch.isfinite(got)
    assert float(got) == pytest.approx(expected, rel=1e-12)


def test_dhn_loss_gradcheck():
    z, y = _data(n=5, k=3)
    z.requires_grad_(True)
    s = _sim(y)
    assert torch.autograd.gradcheck(lambda x: dhn_loss(x, s), (z,))


# ---------------------------------------------------------------- HashNet
@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("alpha", [None, 0.7])
def test_hashnet_loss_matches_naive(seed, alpha):
    h, y = _data(n=9, seed=seed)
    h = torch.tanh(h)
    ha, hb, ya, yb = h[:4], h[4:], y[:4], y[4:]
    s = label_similarity(ya, yb).to(torch.float64)
    got = hashnet_loss(ha, hb, s, alpha=alpha)
    a = 10 / h.shape[1] if alpha is None else alpha
    assert float(got) == pytest.approx(naive_hashnet(ha, hb, s, a), rel=1e-12)


def test_hashnet_loss_multilabel_continuous_similarity():
    g = torch.Generator().manual_seed(3)
    h = torch.tanh(torch.randn(8, 6, generator=g, dtype=torch.float64))
    Y = (torch.rand(8, 4, generator=g) < 0.5).to(torch.float64)
    Y[0] = 0
    Y[0, 1] = 1
    ya, yb = Y[:3], Y[3:]
    s = label_similarity(ya, yb).to(torch.float64)
    c = label_cosine_similarity(ya, yb).to(torch.float64)
    for i in range(3):
        for j in range(5):
            ni, nj = float(ya[i].norm()), float(yb[j].norm())
            cos = float(ya[i] @ yb[j]) / (ni * nj) if ni * nj else 0.0
            assert float(c[i, j]) == pytest.approx(cos)
    got = hashnet_loss(ha := h[:3], hb := h[3:], s, continuous_similarity=c)
    assert float(got) == pytest.approx(naive_hashnet(ha, hb, s, 10 / 6, c), rel=1e-12)


def test_hashnet_loss_all_dissimilar_weights_are_one():
    g = torch.Generator().manual_seed(0)
    h = torch.tanh(torch.randn(4, 3, generator=g, dtype=torch.float64))
    s = torch.zeros(2, 2, dtype=torch.float64)
    ip = (10 / 3) * (h[:2] @ h[2:].T)
    expected = torch.nn.functional.softplus(ip).mean()
    assert float(hashnet_loss(h[:2], h[2:], s)) == pytest.approx(float(expected))


def test_hashnet_loss_gradcheck():
    h, y = _data(n=6, k=3)
    s = label_similarity(y[:3], y[3:]).to(torch.float64)
    ha, hb = h[:3].clone().requires_grad_(True), h[3:].clone().requires_grad_(True)
    assert torch.autograd.gradcheck(lambda a, b: hashnet_loss(a, b, s), (ha, hb))


def test_hashnet_criterion_uses_pairs_between_halves():
    h, y = _data(n=8)
    crit = HashNetLoss()
    expected = hashnet_loss(h[:4], h[4:], label_similarity(y[:4], y[4:]))
    assert float(crit(h, y)) == pytest.approx(float(expected))


# ---------------------------------------------------------------- DNNH
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_dnnh_loss_matches_naive(seed):
    F, y = _data(n=8, seed=seed)
    F = torch.sigmoid(F)
    s = _sim(y)
    got = dnnh_loss(F, s, margin=0.8)
    assert float(got) == pytest.approx(naive_dnnh(F, s.tolist(), 0.8), rel=1e-12)


def test_dnnh_loss_no_triplet_is_zero():
    g = torch.Generator().manual_seed(0)
    F = torch.rand(4, 3, generator=g, dtype=torch.float64, requires_grad=True)
    s = torch.ones(4, 4, dtype=torch.float64)
    loss = dnnh_loss(F, s)
    assert loss.item() == 0.0
    loss.backward()  # still differentiable


def test_dnnh_loss_gradcheck():
    F, y = _data(n=6, k=3)
    F = torch.sigmoid(F).detach().requires_grad_(True)
    s = _sim(y)
    assert torch.autograd.gradcheck(lambda x: dnnh_loss(x, s), (F,))


# ---------------------------------------------------------------- wrappers
@pytest.mark.parametrize(
    "crit, fn",
    [
        (DSHLoss(margin=2.0), lambda r, s: dsh_loss(r, s, margin=2.0)),
        (DHNLoss(), dhn_loss),
        (DNNHLoss(), dnnh_loss),
    ],
)
def test_criterion_wrappers_build_in_batch_similarity(crit, fn):
    r, y = _data(n=6)
    assert float(crit(r, y)) == pytest.approx(float(fn(r, _sim(y))))


def test_label_similarity_multilabel_shares_a_label():
    Y = torch.tensor([[1, 0, 1], [0, 1, 0], [0, 0, 1]])
    expected = np.array([[1, 0, 1], [0, 1, 0], [1, 0, 1]])
    np.testing.assert_array_equal(label_similarity(Y).numpy(), expected)


def test_shape_mismatch_names_similarity():
    r = torch.zeros(3, 2)
    with pytest.raises(ValueError, match="similarity must have shape"):
        dsh_loss(r, torch.zeros(2, 2))
