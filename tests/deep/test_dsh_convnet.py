"""DSHConvNet's fast CPU path: sliced LRN and channels-last convolutions."""

import numpy as np
import pytest
import torch
from torch import nn

from skhash.deep import DSH, DSHConvNet
from skhash.deep._modules import _CrossChannelLRN


@pytest.mark.parametrize("size", [1, 2, 3, 4, 5])
def test_sliced_lrn_matches_torch_local_response_norm(size):
    g = torch.Generator().manual_seed(0)
    x = (
        30 * torch.randn(3, 7, 5, 4, generator=g, dtype=torch.float64)
    ).requires_grad_()
    ours = _CrossChannelLRN(size, alpha=5e-2, beta=0.75, k=2.0)
    ref = nn.LocalResponseNorm(size, alpha=5e-2, beta=0.75, k=2.0)
    out, expected = ours(x), ref(x)
    torch.testing.assert_close(out, expected, rtol=1e-12, atol=1e-12)
    w = torch.randn(x.shape, generator=g, dtype=torch.float64)
    (gx,) = torch.autograd.grad((out * w).sum(), x)
    (gref,) = torch.autograd.grad((ref(x) * w).sum(), x)
    torch.testing.assert_close(gx, gref, rtol=1e-10, atol=1e-12)


def _reference_forward(net, x):
    # The same layers, NCHW memory and torch's own LRN.
    h = x
    for layer in net.features:
        if isinstance(layer, _CrossChannelLRN):
            layer = nn.LocalResponseNorm(layer.size, layer.alpha, layer.beta, layer.k)
        h = layer(h)
    return net.fc(torch.flatten(h, 1))


def test_dsh_convnet_channels_last_matches_nchw_reference():
    torch.manual_seed(0)
    net = DSHConvNet()
    x = torch.randn(6, 3, 32, 32) * 50
    with torch.no_grad():
        out, ref = net(x), _reference_forward(net, x)
    assert out.shape == (6, 500)
    torch.testing.assert_close(out, ref, rtol=1e-4, atol=1e-4)
    # Gradients reach the first convolution and match the reference.
    net.zero_grad()
    net(x).sum().backward()
    g = net.features[0].weight.grad.clone()
    net.zero_grad()
    _reference_forward(net, x).sum().backward()
    torch.testing.assert_close(g, net.features[0].weight.grad, rtol=1e-3, atol=1e-3)


def test_dsh_cnn_training_is_deterministic():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(40, 3 * 16 * 16)).astype(np.float32)
    y = rng.integers(0, 3, 40)
    torch.manual_seed(0)
    backbone = DSHConvNet(image_size=16)  # deep-copied by fit: same start twice

    def fit():
        return DSH(
            n_bits=8,
            backbone=backbone,
            input_shape=(3, 16, 16),
            max_epochs=2,
            batch_size=10,
            random_state=0,
        ).fit(X, y)

    a, b = fit(), fit()
    np.testing.assert_array_equal(a.decision_function(X), b.decision_function(X))
