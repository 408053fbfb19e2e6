"""Tests of DQN: its loss, the alternating schedule, the quantizer API.

The default run keeps the loss equation, the estimator/quantizer API, the
schedule, determinism, pickling, search and errors; the autograd gradcheck is
marked ``slow`` (``pytest -m slow``). scikit-learn's common checks on DQN run
in ``tests/test_common.py``.
"""

import pickle

import numpy as np
import pytest

pytest.importorskip("torch")
pytest.importorskip("skorch")

import torch  # noqa: E402

from skhash.base import QuantizerCodes  # noqa: E402
from skhash.deep import DQN  # noqa: E402
from skhash.deep.losses import dqn_loss  # noqa: E402
from skhash.quantization import QuantizedNeighbors  # noqa: E402

pytestmark = pytest.mark.torch


@pytest.fixture(autouse=True, scope="module")
def _one_torch_thread():
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)


TINY = dict(
    n_bits=4,
    n_clusters=4,
    bottleneck=4,
    hidden_layer_sizes=(8,),
    max_epochs=3,
    kmeans_iter=2,
    random_state=0,
)


@pytest.fixture
def data():
    rng = np.random.RandomState(0)
    y = rng.randint(0, 3, size=150)
    X = rng.normal(size=(150, 6)) + 2.5 * np.eye(3)[y] @ rng.normal(size=(3, 6))
    return X.astype(np.float32), y


# ------------------------------------------------------------------- loss
def _naive_loss(z, sim, rec, lam):
    B = len(z)
    total = 0.0
    for i in range(B):
        for j in range(B):
            s = 1.0 if sim[i, j] else -1.0
            cos = float(z[i] @ z[j]) / float(
                np.linalg.norm(z[i]) * np.linalg.norm(z[j])
            )
            total += (s - cos) ** 2
    q = sum(float(((z[i] - rec[i]) ** 2).sum()) for i in range(B))
    return total / B**2 + lam * q / B


def test_dqn_loss_matches_equation():
    rng = np.random.RandomState(0)
    z = np.tanh(rng.normal(size=(5, 6)))
    rec = rng.normal(size=(5, 6))
    y = np.array([0, 1, 0, 2, 1])
    sim = y[:, None] == y[None, :]
    got = dqn_loss(
        torch.tensor(z),
        torch.tensor(sim, dtype=torch.float64),
        torch.tensor(rec),
        quantization_weight=0.3,
    )
    assert float(got) == pytest.approx(_naive_loss(z, sim, rec, 0.3), rel=1e-12)
    no_q = dqn_loss(torch.tensor(z), torch.tensor(sim, dtype=torch.float64))
    assert float(no_q) == pytest.approx(_naive_loss(z, sim, rec, 0.0), rel=1e-12)


@pytest.mark.slow
def test_dqn_loss_gradcheck():
    rng = np.random.RandomState(1)
    z = torch.tensor(rng.normal(size=(4, 3)), requires_grad=True)
    sim = torch.tensor(np.eye(4) + np.eye(4)[::-1])
    rec = torch.tensor(rng.normal(size=(4, 3)))
    assert torch.autograd.gradcheck(
        lambda t: dqn_loss(t, sim, rec, quantization_weight=0.5), (z,)
    )


# -------------------------------------------------------------- estimator
def test_fit_transform_tables(data):
    X, y = data
    dqn = DQN(**{**TINY, "n_bits": 8, "bottleneck": 6}).fit(X, y)
    assert dqn.n_subspaces_ == 4 and dqn.subspace_bounds_.tolist() == [0, 2, 4, 5, 6]
    codes = dqn.transform(X)
    assert isinstance(codes, QuantizerCodes) and codes.shape == (150, 4)
    assert codes.dtype == np.uint8 and codes.max() < 4
    Z = dqn._project(X)
    assert Z.shape == (150, 6) and np.abs(Z).max() <= 1  # tanh bottleneck
    T = dqn.distance_tables(X[:5])
    rec = dqn.inverse_transform(codes)
    np.testing.assert_allclose(
        T[:, np.arange(4), codes[:10]].sum(-1),
        ((Z[:5, None, :] - rec[None, :10]) ** 2).sum(-1),
        rtol=1e-4,
        atol=1e-6,
    )
    np.testing.assert_allclose(((Z - rec) ** 2).sum(), dqn.inertia_, rtol=1e-4)
    assert not hasattr(dqn, "decision_function")
    assert dqn.get_feature_names_out().tolist() == ["dqn0", "dqn1", "dqn2", "dqn3"]


def test_dqn_is_a_plain_deep_quantizer():
    """Check that DQN inherits the quantizer API instead of copying it."""
    from skhash.base import BaseHasher, BaseQuantizer
    from skhash.deep import BaseDeepQuantizer, SkorchNetMixin

    assert issubclass(DQN, BaseDeepQuantizer)
    assert issubclass(DQN, BaseQuantizer) and issubclass(DQN, SkorchNetMixin)
    assert not issubclass(DQN, BaseHasher)
    for name in ("fit", "transform", "distance_tables", "inverse_transform"):
        assert name not in vars(DQN), name
    assert DQN.transform is BaseQuantizer.transform
    assert not hasattr(DQN, "decision_function")


def test_schedule_lambda_after_first_refresh(data):
    X, y = data
    two = DQN(**{**TINY, "max_epochs": 2}).fit(X, y)
    assert two.net_.criterion_.quantization_weight == 0  # no refresh inside training
    three = DQN(**TINY).fit(X, y)
    assert three.net_.criterion_.quantization_weight == pytest.approx(1e-4)


def test_deterministic_and_pickle(data):
    X, y = data
    a = DQN(**TINY).fit(X, y)
    b = DQN(**TINY).fit(X, y)
    np.testing.assert_array_equal(a.transform(X), b.transform(X))
    c = pickle.loads(pickle.dumps(a))
    np.testing.assert_array_equal(a.transform(X), c.transform(X))


def test_quantized_neighbors_search(data):
    X, y = data
    nn = QuantizedNeighbors(
        DQN(
            **{**TINY, "n_bits": 8, "n_clusters": 16, "bottleneck": 8, "max_epochs": 8}
        ),
        n_neighbors=5,
    ).fit(X[:100], y[:100])
    assert nn.score(X[100:], y[100:]) > 0.6  # chance is about 1/3
    assert nn.predict(X[100:]).shape == (50,)


def test_errors(data):
    X, y = data
    with pytest.raises(ValueError, match="requires y"):
        DQN(**TINY).fit(X)
    with pytest.raises(ValueError, match="n_bits=6 must be a multiple"):
        DQN(**{**TINY, "n_bits": 6, "n_clusters": 16}).fit(X, y)
    with pytest.raises(ValueError, match="bottleneck"):
        DQN(**{**TINY, "n_bits": 10}).fit(X, y)


def test_validation_split_learns_codebooks_on_the_training_rows(data):
    from skorch.callbacks import EarlyStopping

    X, y = data
    dqn = DQN(
        **{**TINY, "max_epochs": 6, "refresh_every": 1},
        train_split=0.25,
        callbacks=[EarlyStopping(patience=10)],
    ).fit(X, y)
    assert np.isfinite(dqn.net_.history[-1]["valid_loss"])
    # every sample, validation included, has a target codeword
    assert dqn.net_.criterion_.targets is None  # released after fit
    assert dqn.transform(X).shape == (len(X), dqn.n_subspaces_)
