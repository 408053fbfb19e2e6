"""The objectives of UH-BDNN and SH-BDNN (Do, Doan, Cheung, ECCV 2016).

Samples are rows here (the paper writes them as columns): ``H`` is the
``(m, L)`` real output of the code layer (``relaxed``), ``B`` the ``(m, L)``
-1/+1 codes (``signs``), ``m`` the number of training samples and ``L`` the
code length. Each term is a pure function of torch tensors; the two paper
objectives are their weighted sums. Everything is differentiable with
autograd (the multi-label similarity term through its own backward pass).
"""

import torch

__all__ = [
    "balance_term",
    "equality_term",
    "independence_term",
    "reconstruction_term",
    "shbdnn_loss",
    "similarity_term",
    "uhbdnn_loss",
    "weight_decay_term",
]


def reconstruction_term(X, signs, reconstruction_weight, reconstruction_bias):
    """``1/(2m) ||X - B W4^T - c4||_F^2``: reconstruction of X from the codes.

    ``reconstruction_weight`` is ``W4``, ``(n_features, L)``;
    ``reconstruction_bias`` is ``c4``, ``(n_features,)``.
    """
    R = X - signs @ reconstruction_weight.T - reconstruction_bias
    return (R * R).sum() / (2 * X.shape[0])


def weight_decay_term(weights):
    """``1/2 sum_l ||W_l||_F^2`` over the weight matrices (biases excluded)."""
    return sum((W * W).sum() for W in weights) / 2


def equality_term(relaxed, signs):
    """``1/(2m) ||H - B||_F^2``: the relaxed constraint H = B."""
    D = relaxed - signs
    return (D * D).sum() / (2 * relaxed.shape[0])


def independence_term(relaxed):
    """``1/2 ||(1/m) H^T H - I||_F^2``: decorrelated bits."""
    m, L = relaxed.shape
    C = relaxed.T @ relaxed / m - torch.eye(
        L, dtype=relaxed.dtype, device=relaxed.device
    )
    return (C * C).sum() / 2


def balance_term(relaxed):
    """``1/(2m) ||H^T 1||^2``: each bit half on, half off."""
    s = relaxed.sum(dim=0)
    return (s * s).sum() / (2 * relaxed.shape[0])


class _BlockSimilarity(torch.autograd.Function):
    """``||(1/L) H H^T - S||_F^2`` for a multi-label S, in row blocks.

    ``S_ij = +1`` when rows i and j share a label, else -1. Neither S nor
    ``H H^T`` is ever held whole: forward and backward loop over row blocks of
    ``block_size`` rows (memory ``O(block_size * m)``). Gradient:
    ``(4/L) (A - S) H`` with ``A = (1/L) H H^T``.
    """

    @staticmethod
    def forward(ctx, H, Y, block_size):
        ctx.save_for_backward(H, Y)
        ctx.block_size = block_size
        L = H.shape[1]
        total = H.new_zeros(())
        for start in range(0, H.shape[0], block_size):
            D = _block_residual(H, Y, start, block_size, L)
            total = total + (D * D).sum()
        return total

    @staticmethod
    def backward(ctx, grad_out):
        H, Y = ctx.saved_tensors
        L = H.shape[1]
        grad = torch.empty_like(H)
        for start in range(0, H.shape[0], ctx.block_size):
            D = _block_residual(H, Y, start, ctx.block_size, L)
            grad[start : start + ctx.block_size] = (4.0 / L) * (D @ H)
        return grad * grad_out, None, None


def _block_residual(H, Y, start, block_size, L):
    rows = slice(start, start + block_size)
    A = H[rows] @ H.T / L
    S = torch.where(Y[rows] @ Y.T > 0.5, 1.0, -1.0).to(H.dtype)
    return A - S


def similarity_term(relaxed, labels, *, block_size=None):
    """``1/(2m) ||(1/L) H H^T - S||_F^2``: code inner products match labels.

    ``S`` is the ``(m, m)`` pairwise label matrix, +1 for a similar pair and
    -1 otherwise, and it is never formed:

    * ``labels`` 1-D (integer class ids, single-label): ``S = 2 Y Y^T - 1 1^T``
      with ``Y`` one-hot, so (exactly)
      ``||A - S||^2 = ||H^T H||^2 / L^2 - (2/L)(2 ||Y^T H||^2 - ||H^T 1||^2)
      + m^2``, in ``O(m L^2 + m L C)``; autograd gives the exact gradient.
    * ``labels`` 2-D (0/1 multi-label indicator, similar = at least one shared
      label): S is not low rank; the sum runs over row blocks of
      ``block_size`` rows (default: about 4 M entries per block) in forward and
      backward.

    Compute it in float64: the single-label value is a difference of terms of
    size ``m^2``.
    """
    m, L = relaxed.shape
    if labels.ndim == 1:
        n_classes = int(labels.max().item()) + 1 if m else 0
        Y = torch.nn.functional.one_hot(labels.long(), n_classes).to(relaxed.dtype)
        HtH = relaxed.T @ relaxed
        YtH = Y.T @ relaxed
        s = relaxed.sum(dim=0)
        value = (
            (HtH * HtH).sum() / L**2
            - (2.0 / L) * (2.0 * (YtH * YtH).sum() - (s * s).sum())
            + float(m) ** 2
        )
    else:
        if block_size is None:
            block_size = max(1, (1 << 22) // max(m, 1))
        value = _BlockSimilarity.apply(
            relaxed, labels.to(relaxed.dtype), int(block_size)
        )
    return value / (2 * m)


def uhbdnn_loss(
    relaxed,
    signs,
    X,
    reconstruction_weight,
    reconstruction_bias,
    weights,
    *,
    weight_decay=1e-5,
    equality_weight=5e-2,
    independence_weight=1e-2,
    balance_weight=5e-7,
):
    """Relaxed UH-BDNN objective (unsupervised binary deep neural network).

    .. math::

        J = \\frac{1}{2m}\\|X - B W_4^T - 1 c_4^T\\|_F^2
          + \\frac{\\lambda_1}{2}\\sum_{l=1}^{4}\\|W_l\\|_F^2
          + \\frac{\\lambda_2}{2m}\\|H - B\\|_F^2
          + \\frac{\\lambda_3}{2}\\left\\|\\frac{1}{m} H^T H - I\\right\\|_F^2
          + \\frac{\\lambda_4}{2m}\\|H^T 1\\|^2

    Paper symbols to arguments: ``H`` = ``relaxed`` (code-layer output,
    ``(m, L)``), ``B`` = ``signs`` (``(m, L)``, -1/+1), ``X`` = ``X`` (the
    ``[0, 1]``-rescaled inputs, ``(m, D)``), ``W_4, c_4`` =
    ``reconstruction_weight`` (``(D, L)``), ``reconstruction_bias``
    (``(D,)``), ``W_1..W_4`` = ``weights`` (every weight matrix, biases
    excluded), ``lambda_1..lambda_4`` = ``weight_decay``, ``equality_weight``,
    ``independence_weight``, ``balance_weight``.

    Returns a scalar tensor (sums, each divided as written above).

    Notes
    -----
    The reconstruction is computed from ``B``, not from ``H``: its gradient
    reaches ``W_4, c_4`` only, and the encoder is driven by the other terms.
    ``balance_weight`` defaults to the official code's 5e-7; the paper's value
    (recalled as 1e-6) could not be checked.
    """
    return (
        reconstruction_term(X, signs, reconstruction_weight, reconstruction_bias)
        + weight_decay * weight_decay_term(weights)
        + equality_weight * equality_term(relaxed, signs)
        + independence_weight * independence_term(relaxed)
        + balance_weight * balance_term(relaxed)
    )


def shbdnn_loss(
    relaxed,
    signs,
    labels,
    weights,
    *,
    weight_decay=1e-5,
    equality_weight=5e-2,
    independence_weight=1e-2,
    balance_weight=5e-7,
    similarity_weight=1e-2,
    block_size=None,
):
    """Relaxed SH-BDNN objective (supervised binary deep neural network).

    .. math::

        J = \\frac{\\lambda_1}{2}\\sum_{l=1}^{3}\\|W_l\\|_F^2
          + \\frac{\\lambda_2}{2m}\\|H - B\\|_F^2
          + \\frac{\\lambda_3}{2}\\left\\|\\frac{1}{m} H^T H - I\\right\\|_F^2
          + \\frac{\\lambda_4}{2m}\\|H^T 1\\|^2
          + \\frac{\\lambda_5}{2m}\\left\\|\\frac{1}{L} H H^T - S\\right\\|_F^2

    Paper symbols to arguments: ``H`` = ``relaxed`` (``(m, L)``), ``B`` =
    ``signs`` (-1/+1), ``S`` = the pairwise label matrix (+1 similar, -1
    dissimilar) given implicitly by ``labels`` (1-D class ids or a 2-D 0/1
    indicator; see :func:`similarity_term`, which never forms S),
    ``W_1..W_3`` = ``weights``, ``lambda_1..lambda_5`` = ``weight_decay``,
    ``equality_weight``, ``independence_weight``, ``balance_weight``,
    ``similarity_weight``.

    Returns a scalar tensor.

    Notes
    -----
    ``similarity_weight`` (lambda_5) follows the official code, which weights
    the similarity term; whether the paper writes that factor could not be
    checked.
    """
    return (
        weight_decay * weight_decay_term(weights)
        + equality_weight * equality_term(relaxed, signs)
        + independence_weight * independence_term(relaxed)
        + balance_weight * balance_term(relaxed)
        + similarity_weight * similarity_term(relaxed, labels, block_size=block_size)
    )
