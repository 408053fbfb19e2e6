"""The losses of :mod:`skhash.deep.losses` as ``nn.Module`` criteria for skorch.

Each class is a thin wrapper: it takes what the estimator's network returns
for a mini-batch and its targets ``y``, builds what the pure loss function
needs (in-batch pairwise similarity from the labels, slices of the output) and
calls that function. A criterion may also define ``penalty(module)``, a term on
the network's weights that :class:`~skhash.deep._dh.PenalizedNet` adds to
the training loss. The public wrappers (:class:`DSHLoss`, :class:`DHNLoss`,
:class:`HashNetLoss`, :class:`DNNHLoss`) are importable from
:mod:`skhash.deep.losses`.
"""

from torch import nn

from skhash.deep._modules import linear_layers
from skhash.deep.losses import (
    dh_loss,
    dh_weight_penalty,
    dhn_loss,
    dnnh_loss,
    dqn_loss,
    dsh_loss,
    hashnet_loss,
    label_cosine_similarity,
    label_similarity,
    ldph_loss,
    ldph_pretraining_loss,
    orthogonality_penalty,
    subic_loss,
)

__all__ = [
    "DHLoss",
    "DHNLoss",
    "DNNHLoss",
    "DQNLoss",
    "DSHLoss",
    "HashNetLoss",
    "LDPHLoss",
    "SuBiCLoss",
]


class DSHLoss(nn.Module):
    """:func:`dsh_loss` as a skorch criterion taking ``(relaxed, y)``.

    Parameters
    ----------
    margin : float, default=None
        See :func:`dsh_loss`.
    quantization_weight : float, default=0.01
        See :func:`dsh_loss`.
    """

    def __init__(self, margin=None, quantization_weight=0.01):
        super().__init__()
        self.margin = margin
        self.quantization_weight = quantization_weight

    def forward(self, relaxed, y):
        return dsh_loss(
            relaxed,
            label_similarity(y),
            margin=self.margin,
            quantization_weight=self.quantization_weight,
        )


class DHNLoss(nn.Module):
    """:func:`dhn_loss` as a skorch criterion taking ``(relaxed, y)``.

    Parameters
    ----------
    quantization_weight : float, default=0.2
        See :func:`dhn_loss`.
    """

    def __init__(self, quantization_weight=0.2):
        super().__init__()
        self.quantization_weight = quantization_weight

    def forward(self, relaxed, y):
        return dhn_loss(
            relaxed,
            label_similarity(y),
            quantization_weight=self.quantization_weight,
        )


class HashNetLoss(nn.Module):
    """:func:`hashnet_loss` as a skorch criterion taking ``(relaxed, y)``.

    The mini-batch is split into two halves, and all pairs *between* them are
    used: the two mini-batches per iteration of the authors' code.

    Parameters
    ----------
    alpha : float, default=None
        See :func:`hashnet_loss`.
    """

    def __init__(self, alpha=None):
        super().__init__()
        self.alpha = alpha

    def forward(self, relaxed, y):
        half = relaxed.shape[0] // 2
        if half == 0:
            return relaxed.sum() * 0.0
        ha, hb = relaxed[:half], relaxed[half:]
        ya, yb = y[:half], y[half:]
        c = None if y.ndim == 1 else label_cosine_similarity(ya, yb)
        return hashnet_loss(
            ha, hb, label_similarity(ya, yb), alpha=self.alpha, continuous_similarity=c
        )


class DNNHLoss(nn.Module):
    """:func:`dnnh_loss` as a skorch criterion taking ``(relaxed, y)``.

    Parameters
    ----------
    margin : float, default=1.0
        See :func:`dnnh_loss`.
    """

    def __init__(self, margin=1.0):
        super().__init__()
        self.margin = margin

    def forward(self, relaxed, y):
        return dnnh_loss(relaxed, label_similarity(y), margin=self.margin)


class DQNLoss(nn.Module):
    """:func:`dqn_loss` as a skorch criterion taking ``((relaxed, idx), y)``.

    ``targets`` (a ``(n_train, R)`` buffer, ``C h_i`` per training sample) and
    ``quantization_weight`` (0 until the first codebook refresh) are set by
    the :class:`~skhash.deep.DQN` refresh callback.
    """

    def __init__(self):
        super().__init__()
        self.quantization_weight = 0.0
        self.targets = None

    def forward(self, output, y):
        z, idx = output
        rec = None
        if self.targets is not None and self.quantization_weight:
            rec = self.targets[idx.long().cpu()].to(z.device)
        return dqn_loss(
            z, label_similarity(y), rec, quantization_weight=self.quantization_weight
        )


class DHLoss(nn.Module):
    """:func:`dh_loss` as a skorch criterion.

    The data terms come from ``forward(relaxed, y)`` (``y`` is ignored: DH is
    unsupervised); the weight terms from ``penalty(module)``, which
    :class:`PenalizedNet` adds to the training loss. Both are divided by
    ``N``, as in :func:`dh_loss`: ``n_samples`` (the training-set size, the
    paper's full-batch objective) or, when ``None``, the batch size, which
    ``forward`` records for ``penalty``.
    """

    def __init__(
        self,
        variance_weight=100.0,
        orthogonality_weight=1e-3,
        weight_decay=1e-3,
        n_samples=None,
    ):
        super().__init__()
        self.variance_weight = variance_weight
        self.orthogonality_weight = orthogonality_weight
        self.weight_decay = weight_decay
        self.n_samples = n_samples
        self._n = 1

    def forward(self, relaxed, y=None):
        self._n = relaxed.shape[0] if self.n_samples is None else self.n_samples
        return dh_loss(
            relaxed,
            variance_weight=self.variance_weight,
            orthogonality_weight=0.0,
            weight_decay=0.0,
            n_samples=self.n_samples,
        )

    def penalty(self, module):
        layers = linear_layers(module)
        weights = [m.weight for m in layers]
        biases = [m.bias for m in layers if m.bias is not None]
        total = dh_weight_penalty(
            weights,
            biases,
            orthogonality_weight=self.orthogonality_weight,
            weight_decay=self.weight_decay,
        )
        return total / self._n


class LDPHLoss(nn.Module):
    """Criterion of LDPH's two phases, for :class:`PenalizedNet`.

    Pre-training (``y`` holds ``L`` columns, the reference codes): the
    squared error ``1/2 ||h - u||^2`` averaged over samples, with L2 weight
    decay ``beta/2 ||W||^2`` (:func:`ldph_pretraining_loss`).
    LDPH rounds (``y`` holds ``2 L + 1`` columns:
    both targets and the Euclidean distance): :func:`ldph_loss`, with the
    weight penalty :func:`orthogonality_penalty`.
    """

    def __init__(
        self,
        n_bits,
        pseudo_label_weight=0.1,
        distance_weight=0.5,
        weight_penalty=1e-4,
    ):
        super().__init__()
        self.n_bits = n_bits
        self.pseudo_label_weight = pseudo_label_weight
        self.distance_weight = distance_weight
        self.weight_penalty = weight_penalty
        self.slope = 0.0
        self.intercept = 0.0
        self.orthogonality = False

    def forward(self, relaxed, y):
        L = self.n_bits
        y = y.to(relaxed.dtype)
        if relaxed.shape[1] == L:
            return ldph_pretraining_loss(relaxed, y)
        return ldph_loss(
            relaxed[:, :L],
            relaxed[:, L:],
            y[:, :L],
            y[:, L : 2 * L],
            y[:, 2 * L],
            slope=self.slope,
            intercept=self.intercept,
            pseudo_label_weight=self.pseudo_label_weight,
            distance_weight=self.distance_weight,
        )

    def penalty(self, module):
        weights = [m.weight for m in linear_layers(module)]
        if self.orthogonality:
            return orthogonality_penalty(weights, self.weight_penalty)
        return 0.5 * self.weight_penalty * sum((W * W).sum() for W in weights)


class SuBiCLoss(nn.Module):
    """:func:`subic_loss` as a skorch criterion."""

    def __init__(
        self, n_blocks, block_size, entropy_weight=1.0, batch_entropy_weight=1.0
    ):
        super().__init__()
        self.n_blocks = n_blocks
        self.block_size = block_size
        self.entropy_weight = entropy_weight
        self.batch_entropy_weight = batch_entropy_weight

    def forward(self, output, y):
        mk = self.n_blocks * self.block_size
        return subic_loss(
            output[:, :mk],
            output[:, mk:],
            y,
            n_blocks=self.n_blocks,
            entropy_weight=self.entropy_weight,
            batch_entropy_weight=self.batch_entropy_weight,
        )
