"""Tests of SuBiC and of its loss."""

import math
import pickle

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("skorch")

from skhash.deep import SuBiC  # noqa: E402
from skhash.deep.losses import subic_loss  # noqa: E402
from skhash.quantization import QuantizedNeighbors  # noqa: E402

pytestmark = pytest.mark.torch


def _naive_subic(z, c, y, M, gamma, mu):
    N, MK = z.shape
    K = MK // M
    C = c.shape[1]
    ce = 0.0
    for i in range(N):
        ce += -(c[i, y[i]] - math.log(sum(math.exp(v) for v in c[i]))) / N
    ce /= math.log(C)
    p = np.zeros((N, M, K))
    for i in range(N):
        for m in range(M):
            e = np.exp(z[i, m * K : (m + 1) * K])
            p[i, m] = e / e.sum()
    H_sample = (
        -sum(
            p[i, m, k] * math.log2(p[i, m, k])
            for i in range(N)
            for m in range(M)
            for k in range(K)
        )
        / N
    )
    pbar = p.mean(axis=0)
    H_batch = -sum(
        pbar[m, k] * math.log2(pbar[m, k]) for m in range(M) for k in range(K)
    )
    norm = M * math.log2(K)
    return ce + gamma * H_sample / norm - mu * H_batch / norm


def test_subic_loss_matches_the_equation_and_gradcheck():
    g = torch.Generator().manual_seed(0)
    z = torch.randn(6, 8, generator=g, dtype=torch.float64, requires_grad=True)
    c = torch.randn(6, 3, generator=g, dtype=torch.float64, requires_grad=True)
    y = torch.tensor([0, 1, 2, 2, 1, 0])
    got = subic_loss(z, c, y, n_blocks=2, entropy_weight=0.7, batch_entropy_weight=1.3)
    want = _naive_subic(z.detach().numpy(), c.detach().numpy(), y.numpy(), 2, 0.7, 1.3)
    assert float(got.detach()) == pytest.approx(want, rel=1e-10)
    assert torch.autograd.gradcheck(
        lambda a, b: subic_loss(a, b, y, n_blocks=2), (z, c)
    )
    # multi-label: binary cross-entropy on the classifier
    Y = torch.tensor([[1, 0, 1]] * 6)
    assert torch.isfinite(subic_loss(z, c, Y, n_blocks=2))


def test_subic_entropy_terms_behave():
    # one-hot, uniformly used blocks: both entropy terms at their optimum
    z = torch.full((4, 4), -50.0, dtype=torch.float64)
    for i in range(4):
        z[i, i] = 50.0
    c = torch.zeros(4, 2, dtype=torch.float64)
    y = torch.tensor([0, 1, 0, 1])
    loss = subic_loss(z, c, y, n_blocks=1)
    # CE of a uniform guess / ln 2 = 1; sample entropy 0; batch entropy 2 bits / 2
    assert float(loss) == pytest.approx(1.0 - 1.0, abs=1e-9)


def _blobs(n=300, d=12, n_classes=4, seed=0):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, n_classes, size=n)
    X = rng.normal(size=(n_classes, d))[y] * 2 + rng.normal(size=(n, d))
    return X.astype(np.float32), y


def test_subic_codes_tables_and_asymmetric_search():
    X, y = _blobs()
    s = SuBiC(
        n_bits=8,
        n_clusters=16,
        hidden_layer_sizes=(32,),
        max_epochs=20,
        lr=1e-3,
        random_state=0,
    ).fit(X, y)
    codes = s.transform(X)
    assert codes.shape == (300, 2) and codes.dtype == np.uint8
    assert s.n_subspaces_ == 2 and s.n_clusters_ == 16
    z = s.decision_function(X).reshape(300, 2, 16)
    np.testing.assert_array_equal(codes, z.argmax(axis=2))
    T = s.distance_tables(X[:5])
    np.testing.assert_allclose(T, -z[:5], rtol=1e-5, atol=1e-6)
    # inverse_transform gives one-hot blocks
    oh = s.inverse_transform(codes[:3]).reshape(3, 2, 16)
    assert np.all(oh.sum(axis=2) == 1) and np.all(oh.argmax(axis=2) == codes[:3])
    # asymmetric search: the score sum_m z_m[k_m] ranks same-class items first
    qn = QuantizedNeighbors(s, n_neighbors=5, algorithm="numpy").fit(X[50:], y[50:])
    dist, ind = qn.kneighbors(X[:50])
    # QuantizedNeighbors fits its own clone: score with the clone's tables
    T_full = -qn.quantizer_.distance_tables(X[:50])
    db_codes = qn.codes_
    scores = sum(T_full[:, m, db_codes[:, m]] for m in range(2))
    np.testing.assert_allclose(-dist, np.take_along_axis(scores, ind, 1), rtol=1e-5)
    # best scores first
    assert np.all(np.diff(-dist, axis=1) <= 1e-5)
    assert qn.score(X[:50], y[:50]) > 0.8


def test_subic_deterministic_pickle_and_bad_input():
    X, y = _blobs(n=80)
    kw = dict(n_bits=4, n_clusters=4, hidden_layer_sizes=(8,), max_epochs=2)
    a = SuBiC(random_state=1, **kw).fit(X, y)
    b = SuBiC(random_state=1, **kw).fit(X, y)
    np.testing.assert_array_equal(a.transform(X), b.transform(X))
    c = pickle.loads(pickle.dumps(a))
    np.testing.assert_array_equal(a.transform(X), c.transform(X))
    with pytest.raises(ValueError, match="multiple of log2"):
        SuBiC(n_bits=6, n_clusters=16, max_epochs=1).fit(X, y)
    with pytest.raises(ValueError, match="n_clusters"):
        SuBiC(n_clusters=3).fit(X, y)
    with pytest.raises(ValueError, match="requires y"):
        SuBiC(**kw).fit(X)
    with pytest.raises(ValueError, match="n_subspaces"):
        a.inverse_transform(np.zeros((2, 3), dtype=np.uint8))
    with pytest.raises(ValueError, match="features"):
        a.transform(X[:, :3])


def test_subic_encoder_applies_relu_before_the_block_softmax():
    # The paper's encoder: linear layer + ReLU to the M * K units, then the
    # block softmax; queries are scored with the same (ReLU) activations.
    from skhash.deep._subic import BlockSoftmaxHead

    with torch.random.fork_rng():
        torch.manual_seed(0)
        head = BlockSoftmaxHead(5, n_blocks=2, block_size=4, n_classes=3)
        x = torch.randn(7, 5)
    z = torch.relu(head.fc(x))
    torch.testing.assert_close(head.decision(x), z)
    out = head.relaxed(x)
    torch.testing.assert_close(out[:, :8], z)
    torch.testing.assert_close(out[:, 8:], head.classifier(head.block_softmax(z)))

    X, y = _blobs(n=80)
    s = SuBiC(
        n_bits=4, n_clusters=4, hidden_layer_sizes=(8,), max_epochs=1, random_state=0
    ).fit(X, y)
    z = s.decision_function(X)
    assert z.min() >= 0 and z.max() > 0
    assert s.distance_tables(X).max() <= 0


def test_subic_is_a_plain_deep_quantizer():
    """Check that SuBiC sits in the quantizer hierarchy and reuses its checks."""
    from skhash.base import BaseHasher, BaseQuantizer
    from skhash.deep import BaseDeepQuantizer, SkorchNetMixin
    from skhash.utils import all_estimators

    assert issubclass(SuBiC, BaseDeepQuantizer)
    assert issubclass(SuBiC, BaseQuantizer) and issubclass(SuBiC, SkorchNetMixin)
    assert not issubclass(SuBiC, BaseHasher)
    # validation, the fit template and the code checks are inherited
    for name in ("fit", "_validate_query", "_check_codes", "_set_code_shape"):
        assert name not in vars(SuBiC), name
    assert "SuBiC" in dict(all_estimators("quantizer"))
    assert "SuBiC" not in dict(all_estimators("hasher"))

    X, y = _blobs(n=12)
    # no codebooks to learn by clustering: fewer samples than n_clusters is fine
    s = SuBiC(
        n_bits=8, n_clusters=16, hidden_layer_sizes=(8,), max_epochs=1, random_state=0
    ).fit(X, y)
    assert (s.n_bits_, s.n_subspaces_, s.n_clusters_) == (8, 2, 16)
    assert s.get_feature_names_out().tolist() == ["subic0", "subic1"]
    assert not hasattr(s, "symmetric_distance_tables")
    assert not hasattr(s, "codebooks_")
    # the quantizer's code checks: width, range and integer dtype
    with pytest.raises(ValueError, match="n_subspaces=2"):
        s.inverse_transform(np.zeros((2, 3), dtype=np.uint8))
    with pytest.raises(ValueError, match="n_clusters=16"):
        s.inverse_transform(np.full((2, 2), 16))
    with pytest.raises(ValueError, match="integer codeword indices"):
        s.inverse_transform(np.full((2, 2), 0.5))
    with pytest.raises(ValueError, match="multiple of log2"):
        SuBiC(n_bits=6, n_clusters=16, max_epochs=1).fit(X, y)
