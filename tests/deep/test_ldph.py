"""Tests of LDPH and of its loss."""

import pickle

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("skorch")

from skhash import ITQ, SpectralHashing  # noqa: E402
from skhash.deep import LDPH  # noqa: E402
from skhash.deep._ldph import _affine_fit, _BatchDataset  # noqa: E402
from skhash.deep.losses import ldph_loss, orthogonality_penalty  # noqa: E402

pytestmark = pytest.mark.torch

TINY = dict(max_epochs=2, n_rounds=1, epochs_per_round=1, batch_size=50)


def _naive_ldph(ha, hb, ua, ub, de, a, c, alpha, lam):
    P, L = ha.shape
    total = 0.0
    for p in range(P):
        ra, rb = np.round(ha[p]), np.round(hb[p])
        dh = sum(ra[k] != rb[k] for k in range(L))
        total += (
            alpha / 2 * (((ha[p] - ua[p]) ** 2).sum() + ((hb[p] - ub[p]) ** 2).sum())
        )
        total += lam / (2 * L) * (dh - a * de[p] - c) ** 2
    return total / (2 * P)


def test_ldph_loss_value_and_straight_through_gradient():
    g = torch.Generator().manual_seed(0)
    P, L = 6, 5
    ha = torch.rand(P, L, generator=g, dtype=torch.float64, requires_grad=True)
    hb = torch.rand(P, L, generator=g, dtype=torch.float64, requires_grad=True)
    ua = (torch.rand(P, L, generator=g) > 0.5).double()
    ub = (torch.rand(P, L, generator=g) > 0.5).double()
    de = torch.rand(P, generator=g, dtype=torch.float64) * 3
    a, c, alpha, lam = 0.4, 0.9, 0.3, 0.7
    loss = ldph_loss(
        ha,
        hb,
        ua,
        ub,
        de,
        slope=a,
        intercept=c,
        pseudo_label_weight=alpha,
        distance_weight=lam,
    )
    want = _naive_ldph(
        *(t.detach().numpy() for t in (ha, hb, ua, ub, de)), a, c, alpha, lam
    )
    assert float(loss.detach()) == pytest.approx(want, rel=1e-12)
    loss.backward()
    ra, rb = ha.detach().round(), hb.detach().round()
    dh = (ra != rb).double().sum(dim=1, keepdim=True)
    res = dh - a * de[:, None] - c
    # the authors' error signal, averaged over the 2 P rows of the batch
    want_a = (alpha * (ha.detach() - ua) + lam * res * (1 - 2 * rb) / L) / (2 * P)
    want_b = (alpha * (hb.detach() - ub) + lam * res * (1 - 2 * ra) / L) / (2 * P)
    np.testing.assert_allclose(ha.grad.numpy(), want_a.numpy(), atol=1e-12)
    np.testing.assert_allclose(hb.grad.numpy(), want_b.numpy(), atol=1e-12)


def test_orthogonality_penalty_gradient_is_the_authors_update():
    g = torch.Generator().manual_seed(1)
    W = torch.randn(3, 4, generator=g, dtype=torch.float64, requires_grad=True)
    orthogonality_penalty([W], 0.5).backward()
    Wd = W.detach()
    want = 0.5 * (Wd + (Wd @ Wd.T - torch.eye(3, dtype=torch.float64)) @ Wd)
    np.testing.assert_allclose(W.grad.numpy(), want.numpy(), atol=1e-12)
    assert torch.autograd.gradcheck(lambda w: orthogonality_penalty([w], 0.5), (W,))


def test_affine_fit_and_batch_dataset():
    d_e = np.linspace(0, 1, 20)
    a, c, r = _affine_fit(d_e, 0.3 * d_e + 0.1)
    assert (a, c, r) == pytest.approx((0.3, 0.1, 1.0))
    ds = _BatchDataset(10, 4, lambda idx: idx, seed=0)
    assert len(ds) == 3
    epoch = np.concatenate([ds[k] for k in range(3)])
    np.testing.assert_array_equal(np.sort(epoch), np.arange(10))


def _data(n=200, d=10, seed=0):
    rng = np.random.default_rng(seed)
    return rng.normal(size=(n, d)) @ rng.normal(size=(d, d))


def test_ldph_fit_improves_distance_fit_on_toy_data():
    X = _data(n=300)
    ldph = LDPH(
        n_bits=6,
        max_epochs=10,
        n_rounds=2,
        epochs_per_round=3,
        batch_size=100,
        random_state=0,
    ).fit(X)
    assert isinstance(ldph.reference_, ITQ) and ldph.reference_.n_bits == 6
    assert len(ldph.affine_fits_) == 3
    # Hamming distance grows with Euclidean distance, as a line
    assert ldph.slope_ > 0
    assert ldph.affine_fits_[-1][2] > 0.3
    assert np.all((ldph.bit_balance_ > 0) & (ldph.bit_balance_ < 1))
    # the decision values are the sigmoid's logits on the preprocessed input
    codes = ldph.transform(X)
    assert codes.shape == (300, 1) and codes.dtype == np.uint8


def test_ldph_reference_handling():
    X = _data(n=100)
    sh = SpectralHashing(n_bits=4).fit(X)
    ldph = LDPH(n_bits=4, reference=sh, random_state=0, **TINY).fit(X)
    assert ldph.reference_ is sh
    with pytest.raises(ValueError, match="reference has 4 bits"):
        LDPH(n_bits=6, reference=sh, **TINY).fit(X)
    # an unfitted reference is cloned, given n_bits and a seed
    ref = ITQ(n_bits=32)
    ldph = LDPH(n_bits=5, reference=ref, random_state=0, **TINY).fit(X)
    assert ldph.reference_ is not ref and ldph.reference_.n_bits == 5
    assert ldph.reference_.random_state is not None and not hasattr(ref, "rotation_")


def test_ldph_deterministic_pickle_global_rng_and_no_pca():
    X = _data(n=120)
    state = torch.random.get_rng_state()
    a = LDPH(n_bits=4, random_state=2, **TINY).fit(X)
    assert torch.equal(state, torch.random.get_rng_state())
    b = LDPH(n_bits=4, random_state=2, **TINY).fit(X)
    np.testing.assert_array_equal(a.transform(X), b.transform(X))
    c = pickle.loads(pickle.dumps(a))
    np.testing.assert_array_equal(a.transform(X), c.transform(X))
    d = LDPH(n_bits=8, pca=False, random_state=0, **TINY).fit(X)
    assert d.components_ is None
    assert d.net_.module_.head.fc.in_features == X.shape[1]


def test_ldph_bad_input(capsys):
    X = _data(n=60)
    with pytest.raises(ValueError, match="n_bits <= n_features"):
        LDPH(n_bits=11, **TINY).fit(X)
    with pytest.raises(ValueError, match="pairs_per_sample"):
        LDPH(pairs_per_sample=0).fit(X)
    with pytest.raises(ValueError, match="reference"):
        LDPH(reference="ITQ").fit(X)
    ldph = LDPH(n_bits=4, random_state=0, verbose=1, **TINY).fit(X)
    assert "LDPH round 1/1" in capsys.readouterr().out
    with pytest.raises(ValueError, match="features"):
        ldph.transform(X[:, :3])


def test_ldph_early_stopping_needs_the_training_loss():
    from skorch.callbacks import EarlyStopping

    X = np.random.default_rng(0).normal(size=(100, 8))
    with pytest.raises(ValueError, match=r"valid_loss.*train_loss"):
        LDPH(n_bits=4, callbacks=[EarlyStopping()], random_state=0, **TINY).fit(X)
    LDPH(
        n_bits=4,
        callbacks=[EarlyStopping(monitor="train_loss")],
        random_state=0,
        **TINY,
    ).fit(X)
