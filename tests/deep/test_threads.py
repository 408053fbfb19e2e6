"""Torch threads around small trainings: one thread inside, restored after."""

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("skorch")

from skorch.callbacks import Callback  # noqa: E402
from torch import nn  # noqa: E402

from skhash._blas import SMALL_PRODUCT  # noqa: E402
from skhash.deep import DSH, LDPH  # noqa: E402
from skhash.deep._bdnn import lbfgs  # noqa: E402
from skhash.deep._threads import limit_torch_threads, torch_threads  # noqa: E402

pytestmark = pytest.mark.torch


@pytest.fixture
def two_threads():
    before = torch.get_num_threads()
    torch.set_num_threads(2)
    yield 2
    torch.set_num_threads(before)


class _RecordThreads(Callback):
    def initialize(self):
        self.seen = []
        return self

    def on_batch_begin(self, net, **kwargs):
        self.seen.append(torch.get_num_threads())


def _data(n=60, d=8, seed=0):
    rng = np.random.default_rng(seed)
    return rng.normal(size=(n, d)), rng.integers(0, 3, n)


def test_torch_threads_restores_on_exit_and_on_error(two_threads):
    with torch_threads(1):
        assert torch.get_num_threads() == 1
    assert torch.get_num_threads() == 2
    with pytest.raises(RuntimeError), torch_threads(1):
        raise RuntimeError
    assert torch.get_num_threads() == 2


@pytest.mark.parametrize(
    "work, device, inside",
    [
        (SMALL_PRODUCT - 1, "cpu", 1),
        (SMALL_PRODUCT, "cpu", 2),
        (None, "cpu", 2),  # unknown cost (a convolutional backbone)
        (10, "cuda", 2),
    ],
)
def test_limit_torch_threads(two_threads, work, device, inside):
    with limit_torch_threads(work, device):
        assert torch.get_num_threads() == inside
    assert torch.get_num_threads() == 2


def test_small_mlp_trains_on_one_thread_a_user_backbone_on_all(two_threads):
    X, y = _data()
    small = DSH(
        n_bits=8,
        hidden_layer_sizes=(16,),
        max_epochs=1,
        callbacks=[_RecordThreads()],
        random_state=0,
    ).fit(X, y)
    assert set(dict(small.net_.callbacks_)["_RecordThreads"].seen) == {1}
    # A user backbone (its cost is not known from its weights) keeps the
    # threads.
    backbone = nn.Sequential(nn.Linear(8, 16), nn.ReLU())
    user = DSH(
        n_bits=8,
        backbone=backbone,
        max_epochs=1,
        callbacks=[_RecordThreads()],
        random_state=0,
    ).fit(X, y)
    assert set(dict(user.net_.callbacks_)["_RecordThreads"].seen) == {2}
    assert torch.get_num_threads() == 2


def test_ldph_trains_on_one_thread(two_threads):
    X, _ = _data(n=100)
    ldph = LDPH(
        n_bits=4,
        max_epochs=1,
        n_rounds=1,
        epochs_per_round=1,
        pairs_per_sample=2,
        batch_size=50,
        callbacks=[_RecordThreads()],
        random_state=0,
    ).fit(X)
    assert set(dict(ldph.net_.callbacks_)["_RecordThreads"].seen) == {1}
    assert torch.get_num_threads() == 2


def test_lbfgs_bookkeeping_on_one_thread_evaluations_on_the_callers(two_threads):
    w = torch.zeros(5, requires_grad=True)
    target = torch.arange(5.0)
    seen = []

    def loss():
        seen.append(torch.get_num_threads())
        return ((w - target) ** 2).sum()

    lbfgs(loss, [w], 20, "lbfgs-torch")
    assert set(seen) == {2} and torch.get_num_threads() == 2
    np.testing.assert_allclose(w.detach().numpy(), target.numpy(), atol=1e-5)
