"""Tests of the device check shared by the deep estimators."""

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("skorch")

from skhash.deep import DSH, UHBDNN  # noqa: E402
from skhash.deep._device import check_device  # noqa: E402

pytestmark = pytest.mark.torch


def test_check_device():
    assert check_device(None) == torch.device("cpu")
    assert check_device("cpu") == torch.device("cpu")
    assert check_device(torch.device("cpu")) == torch.device("cpu")
    with pytest.raises(ValueError, match="device='nope' is not a torch device"):
        check_device("nope")
    if not torch.cuda.is_available():
        with pytest.raises(ValueError, match="device='cuda:1' but CUDA is not"):
            check_device("cuda:1")


@pytest.mark.parametrize(
    "est",
    [
        DSH(n_bits=4, hidden_layer_sizes=(4,), max_epochs=1),
        UHBDNN(n_bits=4, max_iter=1),
    ],
    ids=lambda e: type(e).__name__,
)
def test_skorch_and_bdnn_estimators_check_the_device_alike(est):
    X = np.random.default_rng(0).normal(size=(20, 6))
    y = np.arange(20) % 2
    with pytest.raises(ValueError, match="device='nope' is not a torch device"):
        est.set_params(device="nope").fit(X, y)
