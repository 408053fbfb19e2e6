"""Torch modules of the deep hashers: backbones, hash heads, the full network.

A hashing network is ``backbone -> flatten -> head``. The head owns the hash
layer and two views of its output:

* ``relaxed(x)``: what the loss sees during training (linear, tanh,
  ``tanh(beta z)``, or DNNH's thresholded sigmoid);
* ``decision(x)``: the real values whose signs are the bits (bit = 1 where
  ``>= 0``), what ``decision_function`` returns.
"""

import math

import numpy as np
import torch
from torch import nn

__all__ = ["MLP", "DSHConvNet", "HashHead", "DivideEncodeHead", "HashingNetwork"]


def linear_layers(module):
    """The ``nn.Linear`` layers of a module, in order."""
    return [m for m in module.modules() if isinstance(m, nn.Linear)]


def _caffe_xavier_(module):
    # Caffe's "xavier" filler: U(-a, a) with a = sqrt(3 / fan_in), bias 0.
    for m in module.modules():
        if isinstance(m, (nn.Conv2d, nn.Linear)):
            fan_in = m.weight[0].numel()
            bound = math.sqrt(3.0 / fan_in)
            nn.init.uniform_(m.weight, -bound, bound)
            if m.bias is not None:
                nn.init.zeros_(m.bias)


class MLP(nn.Module):
    """Multilayer perceptron on feature vectors (the default backbone).

    Parameters
    ----------
    in_features : int
        Input width.
    hidden_layer_sizes : sequence of int, default=(256,)
        Width of each hidden layer; each is ``Linear`` followed by ReLU. An
        empty sequence gives the identity (the hash layer is then linear on
        the input).

    Attributes
    ----------
    out_features : int
        Width of the output (the last hidden size, or ``in_features``).
    """

    def __init__(self, in_features, hidden_layer_sizes=(256,)):
        super().__init__()
        layers = []
        width = int(in_features)
        for size in hidden_layer_sizes:
            layers += [nn.Linear(width, int(size)), nn.ReLU()]
            width = int(size)
        self.layers = nn.Sequential(*layers)
        self.out_features = width

    def forward(self, x):
        return self.layers(x)


class _CrossChannelLRN(nn.Module):
    """Across-channel local response normalisation (Caffe's ``LRN`` layer).

    ``x / (k + alpha / size * sum_window x^2) ** beta`` with the window of
    ``size`` channels centred on each channel (zero padded), the formula of
    :class:`torch.nn.LocalResponseNorm`. It sums ``size`` shifted slices
    instead of calling ``avg_pool3d``, which is 2-3x cheaper on the CPU (and
    keeps a channels-last input channels-last); outputs agree with
    ``LocalResponseNorm`` to float32 rounding.
    """

    def __init__(self, size, alpha=1e-4, beta=0.75, k=1.0):
        super().__init__()
        self.size = int(size)
        self.alpha = float(alpha)
        self.beta = float(beta)
        self.k = float(k)

    def forward(self, x):
        sq = x * x
        c = x.shape[1]
        before, after = self.size // 2, (self.size - 1) // 2
        padded = nn.functional.pad(sq, (0, 0, 0, 0, before, after))
        window = padded[:, 0:c]
        for i in range(1, self.size):
            window = window + padded[:, i : i + c]
        return x * (window * (self.alpha / self.size) + self.k).pow(-self.beta)


class DSHConvNet(nn.Module):
    """The small CNN of DSH's CIFAR-10 configuration, without its code layer.

    conv 5x5 (32) - max pool 3x3/2 - ReLU - LRN - conv 5x5 (32) - ReLU - avg
    pool 3x3/2 - LRN - conv 5x5 (64) - ReLU - avg pool 3x3/2 - fc 500 - ReLU,
    with Caffe's Xavier initialisation and ceil-mode pooling. The hash layer
    (fc ``n_bits``) is added by the estimator.

    On the CPU the convolutions run in channels-last memory format (the input
    is converted in ``forward``): with the LRN written as a sum of channel
    slices this trains about 1.5x faster on one thread than contiguous NCHW
    (max pooling in particular is an order of magnitude cheaper).

    Parameters
    ----------
    in_channels : int, default=3
        Image channels.
    image_size : int or (int, int), default=32
        Input height and width (the fc layer's input width depends on it).

    Examples
    --------
    >>> import torch
    >>> from skhash.deep import DSHConvNet
    >>> DSHConvNet()(torch.zeros(2, 3, 32, 32)).shape
    torch.Size([2, 500])
    """

    def __init__(self, in_channels=3, image_size=32):
        super().__init__()
        h, w = (image_size, image_size) if np.isscalar(image_size) else image_size
        # Caffe's LRN: local_size 3, alpha 5e-5, beta 0.75 (cifar10_quick/full).
        self.features = nn.Sequential(
            nn.Conv2d(in_channels, 32, 5, padding=2),
            nn.MaxPool2d(3, 2, ceil_mode=True),
            nn.ReLU(),
            _CrossChannelLRN(3, alpha=5e-5, beta=0.75),
            nn.Conv2d(32, 32, 5, padding=2),
            nn.ReLU(),
            nn.AvgPool2d(3, 2, ceil_mode=True),
            _CrossChannelLRN(3, alpha=5e-5, beta=0.75),
            nn.Conv2d(32, 64, 5, padding=2),
            nn.ReLU(),
            nn.AvgPool2d(3, 2, ceil_mode=True),
        )
        with torch.no_grad():
            n_flat = self.features(torch.zeros(1, in_channels, h, w)).numel()
        self.fc = nn.Sequential(nn.Linear(n_flat, 500), nn.ReLU())
        self.out_features = 500
        _caffe_xavier_(self)

    def forward(self, x):
        if x.device.type == "cpu" and x.ndim == 4:
            x = x.contiguous(memory_format=torch.channels_last)
        # flatten reads NCHW order whatever the memory format, so the fc
        # layer's weights mean the same in both formats.
        return self.fc(torch.flatten(self.features(x), 1))


class HashHead(nn.Module):
    """Fully connected hash layer with the relaxation of a paper.

    Parameters
    ----------
    in_features : int
        Input width.
    n_bits : int
        Code length.
    activation : {"linear", "tanh", "scaled_tanh"}, default="linear"
        Relaxation seen by the loss: the linear output (DSH), ``tanh(z)``
        (DHN) or ``tanh(beta z)`` (HashNet, ``beta`` set by a callback).
    init : {"xavier", "normal"}, default="xavier"
        Caffe's Xavier filler (DSH) or N(0, 0.01^2) weights (HashNet); bias 0.

    Attributes
    ----------
    beta : float
        Continuation scale of ``"scaled_tanh"`` (1 at the start).
    """

    def __init__(self, in_features, n_bits, activation="linear", init="xavier"):
        super().__init__()
        self.fc = nn.Linear(in_features, n_bits)
        self.activation = activation
        self.beta = 1.0
        if init == "normal":
            nn.init.normal_(self.fc.weight, std=0.01)
            nn.init.zeros_(self.fc.bias)
        else:
            _caffe_xavier_(self.fc)

    def decision(self, features):
        return self.fc(features)

    def relaxed(self, features):
        z = self.fc(features)
        if self.activation == "tanh":
            return torch.tanh(z)
        if self.activation == "scaled_tanh":
            return torch.tanh(self.beta * z)
        return z


class _PiecewiseThreshold(torch.autograd.Function):
    """DNNH's piece-wise threshold, with a straight-through backward pass."""

    @staticmethod
    def forward(ctx, s, epsilon):
        out = s.clone()
        out[s < 0.5 - epsilon] = 0.0
        out[s > 0.5 + epsilon] = 1.0
        return out

    @staticmethod
    def backward(ctx, grad_output):
        return grad_output, None


class DivideEncodeHead(nn.Module):
    """DNNH's divide-and-encode module.

    The input feature is divided into ``n_bits`` contiguous slices of (nearly)
    equal width; slice ``t`` is fully connected to one unit only, followed by
    a sigmoid, so each bit sees its own part of the feature. During training
    the piece-wise threshold function ``g`` (0 below ``0.5 - epsilon``, 1 above
    ``0.5 + epsilon``, identity between) pushes the outputs to 0/1.

    Parameters
    ----------
    in_features : int
        Input width (at least ``n_bits``).
    n_bits : int
        Code length.
    threshold_epsilon : float, default=0.1
        Half-width of the band where ``g`` is the identity.

    Notes
    -----
    ``g`` is flat outside the band, so its exact derivative would stop
    training for saturated units; the backward pass treats ``g`` as the
    identity (straight-through). The paper does not say how it differentiates
    ``g``.
    """

    def __init__(self, in_features, n_bits, threshold_epsilon=0.1):
        super().__init__()
        if in_features < n_bits:
            raise ValueError(
                f"n_bits={n_bits} exceeds the backbone's output width "
                f"{in_features}: divide-and-encode needs one slice per bit."
            )
        self.fc = nn.Linear(in_features, n_bits)
        mask = torch.zeros(n_bits, in_features)
        for t, idx in enumerate(np.array_split(np.arange(in_features), n_bits)):
            mask[t, idx] = 1.0
        self.register_buffer("mask", mask)
        with torch.no_grad():
            # Initialise each unit as a dense layer over its slice only.
            widths = mask.sum(dim=1, keepdim=True)
            bound = torch.sqrt(1.0 / widths)
            self.fc.weight.uniform_(-1.0, 1.0).mul_(bound).mul_(mask)
            self.fc.bias.zero_()
        self.threshold_epsilon = threshold_epsilon

    def decision(self, features):
        # sigmoid(z) >= 0.5 exactly where z >= 0: the logit is the decision.
        return nn.functional.linear(features, self.fc.weight * self.mask, self.fc.bias)

    def relaxed(self, features):
        s = torch.sigmoid(self.decision(features))
        return _PiecewiseThreshold.apply(s, float(self.threshold_epsilon))


class HashingNetwork(nn.Module):
    """``backbone -> flatten -> head``, with an optional input reshape.

    Parameters
    ----------
    backbone : torch.nn.Module
        Feature extractor.
    head : torch.nn.Module
        A module with ``relaxed(features)`` and ``decision(features)``.
    input_shape : tuple of int, default=None
        If given, flat input rows are reshaped to ``(n, *input_shape)`` (e.g.
        ``(3, 32, 32)`` for images) before the backbone.

    ``forward`` returns the relaxed codes (what skorch hands to the loss);
    ``decision`` returns the values whose signs are the bits.
    """

    def __init__(self, backbone, head, input_shape=None):
        super().__init__()
        self.backbone = backbone
        self.head = head
        self.input_shape = None if input_shape is None else tuple(input_shape)

    def features(self, x):
        if self.input_shape is not None:
            x = x.reshape((x.shape[0], *self.input_shape))
        return torch.flatten(self.backbone(x), 1)

    def forward(self, x):
        return self.head.relaxed(self.features(x))

    def decision(self, x):
        return self.head.decision(self.features(x))
