"""Loss functions of the deep hashing papers, one function per paper.

Every loss is a pure function of torch tensors that returns a scalar tensor,
with the paper's equation, the map from paper symbols to arguments and the
reduction in its docstring:

==================================  ==========================================
paper                               loss
==================================  ==========================================
DSH (Liu et al., CVPR 2016)         :func:`dsh_loss`
DHN (Zhu et al., AAAI 2016)         :func:`dhn_loss`
HashNet (Cao et al., ICCV 2017)     :func:`hashnet_loss`
DNNH (Lai et al., CVPR 2015)        :func:`dnnh_loss`
DQN (Cao et al., AAAI 2016)         :func:`dqn_loss`
DH (Liong et al., CVPR 2015)        :func:`dh_loss`, :func:`dh_weight_penalty`
LDPH (Wang et al., MM 2016)         :func:`ldph_pretraining_loss`,
                                    :func:`ldph_loss`,
                                    :func:`orthogonality_penalty`
SuBiC (Jain et al., ICCV 2017)      :func:`subic_loss`
UH-BDNN, SH-BDNN (Do et al., 2016)  :func:`uhbdnn_loss`, :func:`shbdnn_loss`
==================================  ==========================================

``relaxed`` always names the real-valued network outputs before the sign
(``(n, n_bits)``); ``similarity`` the pairwise labels, 1 = similar,
0 = dissimilar (each docstring maps this to the paper's own coding). The
``nn.Module`` wrappers that serve skorch's ``criterion=`` live in
``skhash.deep._criteria``; the public ones (:class:`DSHLoss`,
:class:`DHNLoss`, :class:`HashNetLoss`, :class:`DNNHLoss`) are importable from
here. They take ``(relaxed, y)`` for a mini-batch and build the in-batch
similarity from the labels ``y`` with :func:`label_similarity`, so no
dataset-wide pairwise matrix is ever formed.
"""

import math

import torch
import torch.nn.functional as F

#: The criterion wrappers importable from this module (defined in
#: ``skhash.deep._criteria``, which imports the functions below).
_CRITERIA = ("DHNLoss", "DNNHLoss", "DSHLoss", "HashNetLoss")

__all__ = [
    "dh_loss",
    "dh_weight_penalty",
    "dhn_loss",
    "dnnh_loss",
    "dqn_loss",
    "dsh_loss",
    "hashnet_loss",
    "label_cosine_similarity",
    "label_similarity",
    "ldph_loss",
    "ldph_pretraining_loss",
    "orthogonality_penalty",
    "shbdnn_loss",
    "subic_loss",
    "uhbdnn_loss",
    *_CRITERIA,
]


def __getattr__(name):
    if name in _CRITERIA:
        from skhash.deep import _criteria

        return getattr(_criteria, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | set(_CRITERIA))


# ----------------------------------------------------------------------------
# Pairwise labels
# ----------------------------------------------------------------------------
def label_similarity(y_a, y_b=None):
    """Pairwise 0/1 similarity from class labels or multi-label indicators.

    Parameters
    ----------
    y_a : Tensor of shape (n_a,) or (n_a, n_classes)
        Integer class labels (1-D) or a 0/1 multi-label indicator matrix (2-D).
    y_b : Tensor of shape (n_b,) or (n_b, n_classes), default=None
        Second set; ``None`` means ``y_a`` (all pairs within one batch).

    Returns
    -------
    similarity : Tensor of shape (n_a, n_b)
        1 where the labels are equal (single-label) or share at least one
        label (multi-label), else 0; float dtype.
    """
    if y_b is None:
        y_b = y_a
    if y_a.ndim == 1:
        return (y_a[:, None] == y_b[None, :]).to(torch.get_default_dtype())
    y_a = y_a.to(torch.float64)
    y_b = y_b.to(torch.float64)
    return (y_a @ y_b.T > 0).to(torch.get_default_dtype())


def label_cosine_similarity(y_a, y_b=None):
    """Cosine similarity of label vectors (HashNet's continuous similarity).

    Single-label input gives the 0/1 :func:`label_similarity`. Rows with no
    label give 0.

    Parameters
    ----------
    y_a : Tensor of shape (n_a,) or (n_a, n_classes)
        Class labels or a 0/1 indicator matrix.
    y_b : Tensor of shape (n_b,) or (n_b, n_classes), default=None
        Second set; ``None`` means ``y_a``.

    Returns
    -------
    c : Tensor of shape (n_a, n_b)
        ``<y_i, y_j> / (||y_i|| ||y_j||)``, in [0, 1].
    """
    if y_b is None:
        y_b = y_a
    if y_a.ndim == 1:
        return label_similarity(y_a, y_b)
    y_a = y_a.to(torch.float64)
    y_b = y_b.to(torch.float64)
    na = y_a.norm(dim=1).clamp_min(1e-12)
    nb = y_b.norm(dim=1).clamp_min(1e-12)
    c = (y_a @ y_b.T) / (na[:, None] * nb[None, :])
    return c.to(torch.get_default_dtype())


def _check_pairwise(relaxed_a, relaxed_b, similarity, name="similarity"):
    if relaxed_a.ndim != 2 or relaxed_b.ndim != 2:
        raise ValueError(
            "relaxed outputs must be 2-D (n_samples, n_bits), got shapes "
            f"{tuple(relaxed_a.shape)} and {tuple(relaxed_b.shape)}."
        )
    expected = (relaxed_a.shape[0], relaxed_b.shape[0])
    if tuple(similarity.shape) != expected:
        raise ValueError(
            f"{name} must have shape {expected} (one entry per pair), got "
            f"{tuple(similarity.shape)}."
        )


def _log_cosh(x):
    # log cosh(x) = |x| + log(1 + exp(-2|x|)) - log 2, which never overflows.
    a = x.abs()
    return a + F.softplus(-2.0 * a) - math.log(2.0)


# ----------------------------------------------------------------------------
# DSH
# ----------------------------------------------------------------------------
def dsh_loss(relaxed, similarity, *, margin=None, quantization_weight=0.01):
    r"""Deep Supervised Hashing (DSH) loss on all pairs of a mini-batch.

    For real-valued outputs :math:`b_i, b_j \in \mathbb{R}^k` and DSH's
    inverted pair label :math:`y_{ij} = 1 - s_{ij}` (0 = similar):

    .. math::

        \ell(b_i, b_j, y_{ij}) = \tfrac12 (1 - y_{ij}) \|b_i - b_j\|_2^2
            + \tfrac12 y_{ij} \max(m - \|b_i - b_j\|_2^2, 0)
            + \alpha \big(\| |b_i| - \mathbf 1 \|_1 + \| |b_j| - \mathbf 1 \|_1\big)

    and over a mini-batch of :math:`N` samples (the reduction of the authors'
    code):

    .. math::

        L = \frac{1}{N(N-1)/2} \sum_{i<j} \Big[\tfrac12 (1 - y_{ij}) d_{ij}
            + \tfrac12 y_{ij} \max(m - d_{ij}, 0)\Big]
            + \frac{\alpha}{N} \sum_{i=1}^N \sum_{t=1}^k \big| |b_{it}| - 1 \big|,
        \qquad d_{ij} = \|b_i - b_j\|_2^2 .

    Parameters
    ----------
    relaxed : Tensor of shape (N, k)
        Linear network outputs :math:`b` (no tanh: the code is their sign).
    similarity : Tensor of shape (N, N)
        :math:`s_{ij}`, 1 = similar, 0 = dissimilar (DSH's :math:`y = 1 - s`).
        Only the strict upper triangle is read.
    margin : float, default=None
        :math:`m`, on the squared Euclidean distance; ``None`` means
        :math:`2k` (a Hamming distance of :math:`k/2` between exact codes).
    quantization_weight : float, default=0.01
        :math:`\alpha`, weight of the L1 regulariser towards :math:`\pm 1`.

    Returns
    -------
    loss : scalar Tensor
        Mean of the pair term over the :math:`N(N-1)/2` unordered pairs plus
        the regulariser averaged over samples (summed over bits). With
        :math:`N = 1` the pair term is 0.

    Notes
    -----
    The paper writes the regulariser once per pair; its code, which defines
    the in-batch reduction, applies it once per sample and divides by
    :math:`N`, which is what is implemented (with :math:`\alpha = 0.01`, the
    code's value). The regulariser's subgradient is the one of the code
    (:math:`\operatorname{sign}(b)\operatorname{sign}(|b| - 1)`).

    References
    ----------
    H. Liu, R. Wang, S. Shan, X. Chen, "Deep Supervised Hashing for Fast Image
    Retrieval", CVPR 2016.

    Examples
    --------
    >>> import torch
    >>> from skhash.deep.losses import dsh_loss
    >>> b = torch.tensor([[1.0, -1.0], [1.0, -1.0], [-1.0, 1.0]])
    >>> s = torch.tensor([[1.0, 1, 0], [1, 1, 0], [0, 0, 1]])
    >>> float(dsh_loss(b, s))  # similar pair identical, dissimilar beyond 2k
    0.0
    """
    _check_pairwise(relaxed, relaxed, similarity)
    n, k = relaxed.shape
    m = 2.0 * k if margin is None else float(margin)
    regulariser = (relaxed.abs() - 1.0).abs().sum() / n
    if n < 2:
        return quantization_weight * regulariser
    sq = (relaxed * relaxed).sum(dim=1)
    dist = (sq[:, None] + sq[None, :] - 2.0 * relaxed @ relaxed.T).clamp_min(0.0)
    iu = torch.triu_indices(n, n, offset=1, device=relaxed.device)
    d = dist[iu[0], iu[1]]
    s = similarity[iu[0], iu[1]].to(relaxed.dtype)
    pair = 0.5 * s * d + 0.5 * (1.0 - s) * torch.clamp(m - d, min=0.0)
    return pair.mean() + quantization_weight * regulariser


# ----------------------------------------------------------------------------
# DHN
# ----------------------------------------------------------------------------
def dhn_loss(relaxed, similarity, *, quantization_weight=0.2):
    r"""Deep Hashing Network (DHN) loss: pairwise cross-entropy + log-cosh.

    .. math::

        C = \frac{1}{N^2} \sum_{i=1}^N \sum_{j=1}^N
            \Big(\log\big(1 + e^{\langle z_i, z_j\rangle}\big)
            - s_{ij} \langle z_i, z_j\rangle\Big)
          + \frac{\lambda}{N k} \sum_{i=1}^N \sum_{t=1}^k
            \log\cosh\big(|z_{it}| - 1\big)

    Parameters
    ----------
    relaxed : Tensor of shape (N, k)
        :math:`z`, the tanh outputs of the hash layer.
    similarity : Tensor of shape (N, N)
        :math:`s_{ij} \in \{0, 1\}` (1 = similar), the paper's coding.
    quantization_weight : float, default=0.2
        :math:`\lambda`, weight of the smooth quantisation penalty (0.2 in the
        authors' code, with this normalisation).

    Returns
    -------
    loss : scalar Tensor
        The pair term averaged over all :math:`N^2` ordered pairs (diagonal
        included), plus :math:`\lambda` times the quantisation term averaged
        over all :math:`N k` entries.

    Notes
    -----
    Stable forms: :math:`\log(1 + e^x)` is ``softplus(x)`` (the code cuts to
    the linear asymptote above 15; softplus is exact everywhere), and
    :math:`\log\cosh(x) = |x| + \operatorname{softplus}(-2|x|) - \log 2`.
    The paper sums the quantisation penalty over pairs; the code averages it
    over samples, which differs by a constant factor absorbed into
    :math:`\lambda`; the code's normalisation goes with its :math:`\lambda`.
    The inner product is not scaled (HashNet's :math:`\alpha` fixes that).

    References
    ----------
    H. Zhu, M. Long, J. Wang, Y. Cao, "Deep Hashing Network for Efficient
    Similarity Retrieval", AAAI 2016.

    Examples
    --------
    >>> import torch
    >>> from skhash.deep.losses import dhn_loss
    >>> z = torch.tanh(torch.randn(4, 8, generator=torch.Generator().manual_seed(0)))
    >>> s = torch.eye(4)
    >>> dhn_loss(z, s).shape
    torch.Size([])
    """
    _check_pairwise(relaxed, relaxed, similarity)
    ip = relaxed @ relaxed.T
    s = similarity.to(relaxed.dtype)
    pair = (F.softplus(ip) - s * ip).mean()
    quant = _log_cosh(relaxed.abs() - 1.0).mean()
    return pair + quantization_weight * quant


# ----------------------------------------------------------------------------
# HashNet
# ----------------------------------------------------------------------------
def hashnet_loss(
    relaxed_a,
    relaxed_b,
    similarity,
    *,
    alpha=None,
    continuous_similarity=None,
):
    r"""HashNet's weighted maximum-likelihood pairwise loss.

    All pairs between two mini-batches :math:`a` and :math:`b`:

    .. math::

        L = \frac{1}{|S|} \sum_{(i, j) \in S} w_{ij}
            \Big(\log\big(1 + e^{\alpha \langle h_i, h_j\rangle}\big)
            - \alpha s_{ij} \langle h_i, h_j\rangle\Big),
        \qquad
        w_{ij} = \begin{cases}
            c_{ij}\, |S| / |S_1| & s_{ij} = 1 \\
            |S| / |S_0| & s_{ij} = 0
        \end{cases}

    Parameters
    ----------
    relaxed_a : Tensor of shape (N_a, k)
        :math:`h_i = \tanh(\beta z_i)` of the first batch.
    relaxed_b : Tensor of shape (N_b, k)
        :math:`h_j` of the second batch.
    similarity : Tensor of shape (N_a, N_b)
        :math:`s_{ij} \in \{0, 1\}` (1 = similar), the paper's coding;
        :math:`S` is the set of all :math:`N_a N_b` pairs, :math:`S_1`,
        :math:`S_0` its similar and dissimilar pairs.
    alpha : float, default=None
        :math:`\alpha`, the adaptive-sigmoid scale; ``None`` means
        :math:`10 / k`, which keeps :math:`\alpha\langle h, h'\rangle` within
        :math:`[-10, 10]`.
    continuous_similarity : Tensor of shape (N_a, N_b), default=None
        :math:`c_{ij}` (read on similar pairs only); ``None`` means 1 (the
        single-label case). For multi-label data skhash passes the cosine of
        the label vectors (:func:`label_cosine_similarity`).

    Returns
    -------
    loss : scalar Tensor
        The weighted sum divided by the number of pairs :math:`|S|`. When a
        batch has no similar (or no dissimilar) pair, that group's weight is
        irrelevant and the other group's weight is 1.

    Notes
    -----
    :math:`\log(1 + e^x)` is computed as ``softplus(x)`` (the code switches to
    the linear asymptote above 15). The weights are the paper's per-batch
    ratios; the Caffe code instead fixes the similar-pair weight per dataset
    (``class_num``). The continuous similarity for multi-label data is the
    cosine of the label vectors as the paper describes it from memory [rec
    in the spec]; the Caffe code squares it.

    References
    ----------
    Z. Cao, M. Long, J. Wang, P. S. Yu, "HashNet: Deep Learning to Hash by
    Continuation", ICCV 2017.

    Examples
    --------
    >>> import torch
    >>> from skhash.deep.losses import hashnet_loss
    >>> g = torch.Generator().manual_seed(0)
    >>> ha = torch.tanh(torch.randn(3, 8, generator=g))
    >>> hb = torch.tanh(torch.randn(5, 8, generator=g))
    >>> s = (torch.arange(3)[:, None] == torch.arange(5)[None, :] % 3).float()
    >>> hashnet_loss(ha, hb, s).shape
    torch.Size([])
    """
    _check_pairwise(relaxed_a, relaxed_b, similarity)
    k = relaxed_a.shape[1]
    a = 10.0 / k if alpha is None else float(alpha)
    s = similarity.to(relaxed_a.dtype)
    n_pairs = s.numel()
    if n_pairs == 0:
        return relaxed_a.sum() * 0.0
    n_sim = s.sum()
    n_dis = n_pairs - n_sim
    w_sim = n_pairs / n_sim.clamp_min(1.0)
    w_dis = n_pairs / n_dis.clamp_min(1.0)
    if continuous_similarity is not None:
        _check_pairwise(
            relaxed_a, relaxed_b, continuous_similarity, "continuous_similarity"
        )
        w_sim = w_sim * continuous_similarity.to(relaxed_a.dtype)
    w = s * w_sim + (1.0 - s) * w_dis
    ip = a * (relaxed_a @ relaxed_b.T)
    return (w * (F.softplus(ip) - s * ip)).sum() / n_pairs


# ----------------------------------------------------------------------------
# DNNH
# ----------------------------------------------------------------------------
def dnnh_loss(relaxed, similarity, *, margin=1.0):
    r"""DNNH's triplet ranking hinge on all triplets of a mini-batch.

    For relaxed codes :math:`F \in [0, 1]^q`, every triplet (query
    :math:`i`, more similar :math:`j \ne i` with :math:`s_{ij} = 1`, less
    similar :math:`l` with :math:`s_{il} = 0`) of the batch:

    .. math::

        L = \frac{1}{|T|} \sum_{(i, j, l) \in T}
            \max\Big(0,\ m - \big(\|F_i - F_l\|_2^2 - \|F_i - F_j\|_2^2\big)\Big)

    Parameters
    ----------
    relaxed : Tensor of shape (N, q)
        :math:`F`, the divide-and-encode outputs in :math:`[0, 1]`.
    similarity : Tensor of shape (N, N)
        :math:`s_{ij} \in \{0, 1\}` (1 = similar): the paper's
        :math:`(I, I^+, I^-)` are the triplets with :math:`s_{ij} = 1`,
        :math:`s_{il} = 0`.
    margin : float, default=1.0
        :math:`m`, the hinge margin (1 in the paper).

    Returns
    -------
    loss : scalar Tensor
        Mean over the valid triplets :math:`T`; 0 when the batch holds none.

    Notes
    -----
    The paper samples triplets from labels; here every valid triplet of the
    mini-batch is used (an :math:`N^3` mask, cheap for batches of a few
    hundred), which removes the sampling noise and any random state.

    References
    ----------
    H. Lai, Y. Pan, Y. Liu, S. Yan, "Simultaneous Feature Learning and Hash
    Coding with Deep Neural Networks", CVPR 2015.

    Examples
    --------
    >>> import torch
    >>> from skhash.deep.losses import dnnh_loss
    >>> F = torch.tensor([[1.0, 0.0], [1.0, 0.0], [0.0, 1.0]])
    >>> s = torch.tensor([[1.0, 1, 0], [1, 1, 0], [0, 0, 1]])
    >>> float(dnnh_loss(F, s))  # every triplet ranked with distance gap 2 > 1
    0.0
    """
    _check_pairwise(relaxed, relaxed, similarity)
    n = relaxed.shape[0]
    sq = (relaxed * relaxed).sum(dim=1)
    dist = (sq[:, None] + sq[None, :] - 2.0 * relaxed @ relaxed.T).clamp_min(0.0)
    s = similarity.to(torch.bool)
    eye = torch.eye(n, dtype=torch.bool, device=relaxed.device)
    pos = s & ~eye
    neg = ~s & ~eye
    valid = pos[:, :, None] & neg[:, None, :]
    n_valid = int(valid.sum())
    if n_valid == 0:
        return relaxed.sum() * 0.0
    hinge = torch.clamp(margin - (dist[:, None, :] - dist[:, :, None]), min=0.0)
    return hinge[valid].sum() / n_valid


# ----------------------------------------------------------------------------
# DH (Liong et al.), LDPH (Wang et al.)
# ----------------------------------------------------------------------------
def dh_loss(
    relaxed,
    *,
    weights=(),
    biases=(),
    variance_weight=100.0,
    orthogonality_weight=1e-3,
    weight_decay=1e-3,
    center=True,
    n_samples=None,
):
    r"""Deep Hashing (DH, unsupervised) objective of Liong et al.

    .. math::

        J = \frac12 \|B - H\|_F^2 - \frac{\lambda_1}{2N} \operatorname{tr}(H H^T)
          + \frac{\lambda_2}{2} \sum_m \|W_m W_m^T - I\|_F^2
          + \frac{\lambda_3}{2} \sum_m \big(\|W_m\|_F^2 + \|c_m\|_2^2\big),
        \quad B = \operatorname{sign}(H)

    Parameters
    ----------
    relaxed : Tensor of shape (N, L)
        :math:`H` (samples as rows, the paper's :math:`(H^M)^T`), the tanh
        outputs of the last layer.
    weights : sequence of Tensor, default=()
        :math:`W_m`, the weight matrices of the layers (``(out, in)``, as
        ``nn.Linear`` stores them, so :math:`W_m W_m^T` is ``out x out``).
    biases : sequence of Tensor, default=()
        :math:`c_m`, the biases.
    variance_weight : float, default=100.0
        :math:`\lambda_1`, weight of the bit-variance (balance) term.
    orthogonality_weight : float, default=1e-3
        :math:`\lambda_2`, weight of the orthogonality term.
    weight_decay : float, default=1e-3
        :math:`\lambda_3`.
    center : bool, default=True
        Evaluate the variance term on the centred outputs,
        :math:`\operatorname{tr}(\bar H \bar H^T)` with :math:`\bar H = H - 1
        \mu^T` (:math:`\mu` the batch mean), i.e. the variance of the codes
        that the paper's term stands for; ``False``: the uncentred trace as
        written.
    n_samples : int, default=None
        The paper's :math:`N`, the number of training samples of the
        full-batch objective. ``None``: the batch size ``n``.

    Returns
    -------
    loss : scalar Tensor
        :math:`J / N` estimated on the batch: the mean quantisation loss of
        the ``n`` batch samples, minus :math:`\lambda_1 / (2N)` times their
        mean squared (centred) code norm, plus the weight terms divided by
        :math:`N`. With ``n_samples=None`` (:math:`N = n`) this is exactly the
        objective of the batch divided by ``n``.

    Notes
    -----
    :math:`B = \operatorname{sign}(H)` (bit = 1 where ``H >= 0``) is recomputed
    from the current outputs and treated as a constant, as in the paper's
    back-propagation. The paper's :math:`N` is the training-set size (its
    gradient descent is full batch): the quantisation term is a *sum* over
    the samples while the variance term is a *mean*, so the weight of the
    variance (and of the weight terms) relative to one sample's quantisation
    loss is :math:`\lambda / N`. Pass ``n_samples`` = the training-set size to
    keep that balance on mini-batches; ``None`` uses the batch size (a
    variance term :math:`N / n` times stronger). The paper writes the variance
    term as :math:`\operatorname{tr}(H H^T) / N` and calls it the variance of the
    codes, which it is only for zero-mean outputs. Uncentred, it is maximised
    by giving *every* sample the same saturated code, so the trained bits
    become constant (measured: 0.0066 mAP on MNIST, i.e. a useless ranking);
    ``center=True`` (default) is the variance proper, maximised by balanced
    bits (interpretation).

    References
    ----------
    V. E. Liong, J. Lu, G. Wang, P. Moulin, J. Zhou, "Deep Hashing for Compact
    Binary Codes Learning", CVPR 2015.

    Examples
    --------
    >>> import torch
    >>> from skhash.deep.losses import dh_loss
    >>> h = torch.tanh(torch.randn(6, 4, generator=torch.Generator().manual_seed(0)))
    >>> dh_loss(h, weights=[torch.eye(4)]).shape
    torch.Size([])
    """
    n = relaxed.shape[0]
    N = n if n_samples is None else n_samples
    B = torch.where(relaxed >= 0, 1.0, -1.0).to(relaxed.dtype).detach()
    quant = 0.5 * ((B - relaxed) ** 2).sum() / n
    centred = relaxed - relaxed.mean(dim=0, keepdim=True) if center else relaxed
    variance = (centred * centred).sum() / (2.0 * n)
    loss = quant - variance_weight / N * variance
    if len(weights) or len(biases):
        loss = (
            loss
            + dh_weight_penalty(
                weights,
                biases,
                orthogonality_weight=orthogonality_weight,
                weight_decay=weight_decay,
            )
            / N
        )
    return loss


def dh_weight_penalty(weights, biases, *, orthogonality_weight, weight_decay):
    r"""The weight terms of :func:`dh_loss` (not divided by :math:`N`).

    .. math:: \frac{\lambda_2}{2} \sum_m \|W_m W_m^T - I\|_F^2
              + \frac{\lambda_3}{2} \sum_m (\|W_m\|_F^2 + \|c_m\|_2^2)

    For a layer wider than its input (``out > in``), :math:`W_m W_m^T` has
    rank ``in < out`` and cannot equal :math:`I`; there the orthogonality term
    is :math:`\|W_m^T W_m - I\|_F^2` (orthonormal columns), the constraint
    the paper's term expresses for such a layer (interpretation).

    Examples
    --------
    >>> import torch
    >>> from skhash.deep.losses import dh_weight_penalty
    >>> float(dh_weight_penalty([2 * torch.eye(2)], [torch.ones(2)],
    ...                         orthogonality_weight=1.0, weight_decay=1.0))
    14.0
    """
    total = None
    for W in weights:
        gram = W @ W.T if W.shape[0] <= W.shape[1] else W.T @ W
        eye = torch.eye(gram.shape[0], dtype=W.dtype, device=W.device)
        term = 0.5 * orthogonality_weight * ((gram - eye) ** 2).sum()
        term = term + 0.5 * weight_decay * (W * W).sum()
        total = term if total is None else total + term
    for c in biases:
        term = 0.5 * weight_decay * (c * c).sum()
        total = term if total is None else total + term
    return torch.zeros(()) if total is None else total


def _hamming_01(a, b):
    """Hamming distance (bit count) of 0/1 (or relaxed [0, 1]) rows."""
    return (a + b - 2.0 * a * b).sum(dim=1)


def ldph_loss(
    relaxed_a,
    relaxed_b,
    targets_a,
    targets_b,
    euclidean,
    *,
    slope,
    intercept,
    pseudo_label_weight=0.1,
    distance_weight=0.5,
):
    r"""Linear distance preserving hashing (LDPH) loss on a batch of pairs.

    .. math::

        C = \frac{1}{2P} \sum_{(i, j)} \Big[
            \frac{\alpha}{2} \big(\|h_i - u_i\|^2 + \|h_j - u_j\|^2\big)
          + \frac{\lambda}{2L} \big(d_H(\bar h_i, \bar h_j) - a\, d_E(x_i, x_j)
                                   - c\big)^2 \Big],
        \qquad \bar h = \operatorname{round}(h)

    with the Hamming distance (a bit count)
    :math:`d_H(p, q) = \sum_k (p_k + q_k - 2 p_k q_k)`.

    Parameters
    ----------
    relaxed_a, relaxed_b : Tensor of shape (P, L)
        :math:`h_i, h_j`, the sigmoid outputs of the two samples of each pair.
    targets_a, targets_b : Tensor of shape (P, L)
        :math:`u_i, u_j`, their current 0/1 target codes (the reference
        method's codes in the first round).
    euclidean : Tensor of shape (P,)
        :math:`d_E`, Euclidean distances of the pairs in the input space.
    slope, intercept : float
        :math:`a, c` of the affine map from Euclidean to Hamming distance
        (fitted by least squares between rounds, constants here).
    pseudo_label_weight : float, default=0.1
        :math:`\alpha`.
    distance_weight : float, default=0.5
        :math:`\lambda`.

    Returns
    -------
    loss : scalar Tensor
        Sum over the ``P`` pairs divided by ``2 P``, the number of samples in
        the batch (the authors' code averages its gradients over the rows of
        the batch, both samples of every pair).

    Notes
    -----
    :math:`d_H` of the rounded codes has zero gradient almost everywhere; as in
    the authors' code the rounding is passed straight through, so the
    gradient of the distance term with respect to :math:`h_i` is
    :math:`\frac{\lambda}{L}\,(d_H - a d_E - c)(1 - 2 \bar h_j)` per pair
    (and symmetrically for :math:`h_j`), the code's error signal. The
    forward value uses the rounded codes exactly. ``a`` and ``c`` are in bits
    per unit of Euclidean distance and in bits.

    References
    ----------
    M. Wang, W. Zhou, Q. Tian, Z. Zha, H. Li, "Linear Distance Preserving
    Pseudo-Supervised and Unsupervised Hashing", ACM MM 2016; M. Wang,
    W. Zhou, Q. Tian, H. Li, "A General Framework for Linear Distance
    Preserving Hashing", IEEE TIP 27(2), 2018.

    Examples
    --------
    >>> import torch
    >>> from skhash.deep.losses import ldph_loss
    >>> g = torch.Generator().manual_seed(0)
    >>> h, u = torch.rand(5, 8, generator=g), (torch.rand(5, 8, generator=g) > 0.5)
    >>> ldph_loss(h, h.flip(0), u.float(), u.flip(0).float(), torch.ones(5),
    ...           slope=0.1, intercept=0.3).shape
    torch.Size([])
    """
    ra = torch.round(relaxed_a).detach()
    rb = torch.round(relaxed_b).detach()
    d_round = _hamming_01(ra, rb)
    via_a = _hamming_01(relaxed_a, rb)
    via_b = _hamming_01(ra, relaxed_b)
    # Straight-through: the value of d_H(round h_i, round h_j), the gradient of
    # the relaxed distance to the other sample's rounded code.
    d_h = d_round + (via_a - via_a.detach()) + (via_b - via_b.detach())
    residual = d_h - slope * euclidean.to(d_h.dtype) - intercept
    pseudo = ((relaxed_a - targets_a) ** 2).sum(dim=1) + (
        (relaxed_b - targets_b) ** 2
    ).sum(dim=1)
    n_bits = relaxed_a.shape[1]
    per_pair = 0.5 * pseudo_label_weight * pseudo + (0.5 * distance_weight / n_bits) * (
        residual**2
    )
    return per_pair.sum() / (2.0 * per_pair.shape[0])


def ldph_pretraining_loss(relaxed, targets):
    r"""LDPH's pre-training loss: regress the codes of a reference hasher.

    .. math::

        C_0 = \frac{1}{n} \sum_i \frac12 \|h_i - u_i\|^2

    :math:`h_i` = ``relaxed[i]``, the sigmoid outputs of the network;
    :math:`u_i` = ``targets[i]``, the 0/1 codes of the reference method (ITQ,
    SpectralHashing, ...). Reduction: sum over bits, mean over samples. The
    authors' code adds weight decay :math:`\frac{\beta}{2}\|W\|^2` to this
    phase; the estimator adds it as a separate penalty.

    References
    ----------
    M. Wang, W. Zhou, Q. Tian, Z. Zha, H. Li, "Linear Distance Preserving
    Pseudo-Supervised and Unsupervised Hashing", ACM MM 2016.

    Examples
    --------
    >>> import torch
    >>> from skhash.deep.losses import ldph_pretraining_loss
    >>> h = torch.tensor([[0.5, 1.0], [0.0, 0.0]])
    >>> u = torch.tensor([[1.0, 1.0], [0.0, 1.0]])
    >>> float(ldph_pretraining_loss(h, u))  # (0.5 * 0.25 + 0.5 * 1) / 2
    0.3125
    """
    return 0.5 * ((relaxed - targets) ** 2).sum(dim=1).mean()


def orthogonality_penalty(weights, strength):
    r"""LDPH's weight penalty, whose gradient is :math:`\beta (W + (W W^T - I) W)`.

    .. math:: \beta \sum_m \Big(\frac12 \|W_m\|_F^2
              + \frac14 \|W_m W_m^T - I\|_F^2\Big)

    ``weights`` are ``(out, in)`` matrices; ``strength`` is :math:`\beta`. The
    authors' code adds this gradient to every layer's update (weight decay plus
    a soft orthogonality of the weight rows); here it is a loss term.

    Examples
    --------
    >>> import torch
    >>> from skhash.deep.losses import orthogonality_penalty
    >>> float(orthogonality_penalty([torch.eye(3)], 1.0))
    1.5
    """
    total = None
    for W in weights:
        eye = torch.eye(W.shape[0], dtype=W.dtype, device=W.device)
        term = 0.5 * (W * W).sum() + 0.25 * ((W @ W.T - eye) ** 2).sum()
        total = term if total is None else total + term
    if total is None:
        return torch.zeros(())
    return strength * total


# ----------------------------------------------------------------------------
# SuBiC (Jain et al.)
# ----------------------------------------------------------------------------
def subic_loss(
    block_logits,
    class_logits,
    y,
    *,
    n_blocks,
    entropy_weight=1.0,
    batch_entropy_weight=1.0,
):
    r"""Supervised structured binary code (SuBiC) loss.

    With :math:`p_{im} = \operatorname{softmax}(z_{im})` the block-softmax
    output of sample :math:`i` in block :math:`m` (:math:`M` blocks of
    :math:`K` units) and :math:`\bar p_m = \frac1N \sum_i p_{im}`,

    .. math::

        C = \frac{1}{N \ln C_y} \sum_i \ell_{CE}\big(W p_i + b, y_i\big)
          + \frac{\gamma}{N M \log_2 K} \sum_i \sum_m H(p_{im})
          - \frac{\mu}{M \log_2 K} \sum_m H(\bar p_m),
        \qquad H(p) = -\sum_k p_k \log_2 p_k

    The first entropy makes each block nearly one-hot (a codeword index),
    the second makes the codewords of each block used uniformly.

    Parameters
    ----------
    block_logits : Tensor of shape (N, M * K)
        :math:`z`, the encoder's pre-softmax block activations.
    class_logits : Tensor of shape (N, C_y)
        The linear classifier's outputs on the block-softmax codes.
    y : Tensor of shape (N,) or (N, C_y)
        Class indices (cross-entropy) or a 0/1 multi-label indicator (binary
        cross-entropy averaged over labels, see Notes).
    n_blocks : int
        :math:`M`.
    entropy_weight : float, default=1.0
        :math:`\gamma`.
    batch_entropy_weight : float, default=1.0
        :math:`\mu`.

    Returns
    -------
    loss : scalar Tensor

    Notes
    -----
    The classification term is divided by :math:`\ln C_y` (the entropy of a
    uniform guess, as the authors' code) so that all three terms are in
    [0, 1] at the start. The multi-label form (binary cross-entropy with
    logits, averaged over the :math:`C_y` labels, divided by :math:`\ln 2`)
    is skhash's extension; the paper is single-label.

    References
    ----------
    H. Jain, J. Zepeda, P. Pérez, R. Gribonval, "SuBiC: A supervised,
    structured binary code for image search", ICCV 2017.

    Examples
    --------
    >>> import torch
    >>> from skhash.deep.losses import subic_loss
    >>> g = torch.Generator().manual_seed(0)
    >>> z, c = torch.randn(5, 8, generator=g), torch.randn(5, 3, generator=g)
    >>> subic_loss(z, c, torch.tensor([0, 1, 2, 0, 1]), n_blocks=2).shape
    torch.Size([])
    """
    n, mk = block_logits.shape
    K = mk // n_blocks
    logp = F.log_softmax(block_logits.reshape(n, n_blocks, K), dim=2)
    p = logp.exp()
    norm = n_blocks * math.log2(K) if K > 1 else 1.0
    sample_entropy = -(p * logp).sum(dim=2).sum(dim=1).mean() / math.log(2.0)
    mean_p = p.mean(dim=0)
    batch_entropy = -(mean_p * torch.log(mean_p.clamp_min(1e-30))).sum()
    batch_entropy = batch_entropy / math.log(2.0)
    n_classes = class_logits.shape[1]
    if y.ndim == 1:
        ce = F.cross_entropy(class_logits, y.long()) / math.log(max(n_classes, 2))
    else:
        ce = F.binary_cross_entropy_with_logits(
            class_logits, y.to(class_logits.dtype)
        ) / math.log(2.0)
    return (
        ce
        + entropy_weight * sample_entropy / norm
        - batch_entropy_weight * batch_entropy / norm
    )


# ----------------------------------------------------------------------------
# DQN (Cao et al.)
# ----------------------------------------------------------------------------
def dqn_loss(relaxed, similarity, reconstruction=None, *, quantization_weight=1e-4):
    r"""DQN's loss: pairwise cosine loss plus the product-quantization loss.

    .. math::

        L = \frac{1}{B^2} \sum_{i,j} \Big(s_{ij} - \frac{\langle z_i, z_j\rangle}
            {\|z_i\| \|z_j\|}\Big)^2
            + \lambda \frac{1}{B} \sum_i \|z_i - C h_i\|^2

    Paper symbols: :math:`z_i` = ``relaxed[i]`` (the tanh bottleneck output);
    :math:`s_{ij} \in \{-1, +1\}` = ``2 * similarity - 1`` (``similarity`` is
    the 0/1 pairwise label similarity; the authors' code uses +-1);
    :math:`C h_i` = ``reconstruction[i]`` (the block-diagonal codebook times
    the one-hot codes, i.e. each sub-vector's assigned codeword, held fixed in
    the network step); :math:`\lambda` = ``quantization_weight``.

    Reduction: mean over all ``B x B`` in-batch pairs (the diagonal adds 0
    since :math:`s_{ii} = 1 = \cos(z_i, z_i)`), mean over the batch of the
    squared quantization residual. ``reconstruction=None`` drops the second
    term (the first two epochs, before any codebook exists).

    Examples
    --------
    >>> import torch
    >>> from skhash.deep.losses import dqn_loss
    >>> z = torch.tensor([[1.0, 0.0], [0.0, 1.0]])
    >>> float(dqn_loss(z, torch.eye(2)))  # orthogonal dissimilar pair: (−1 − 0)^2
    0.5
    """
    z = relaxed
    s = 2 * similarity.to(z.dtype) - 1
    zn = z / z.norm(dim=1, keepdim=True).clamp_min(1e-12)
    loss = ((s - zn @ zn.T) ** 2).mean()
    if reconstruction is not None and quantization_weight:
        loss = loss + quantization_weight * ((z - reconstruction) ** 2).sum(1).mean()
    return loss


# ----------------------------------------------------------------------------
# UH-BDNN and SH-BDNN (Do, Doan and Cheung)
# ----------------------------------------------------------------------------
# Samples are rows here (the paper writes them as columns): ``H`` is the
# ``(m, L)`` real output of the code layer (``relaxed``), ``B`` the ``(m, L)``
# -1/+1 codes (``signs``), ``m`` the number of training samples and ``L`` the
# code length. Each term is a pure function; the two paper objectives are
# their weighted sums, differentiable with autograd (the multi-label
# similarity term through its own backward pass).
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

    References
    ----------
    T.-T. Do, A.-D. Doan, N.-M. Cheung, "Learning to Hash with Binary Deep
    Neural Network", ECCV 2016.

    Examples
    --------
    >>> import torch
    >>> from skhash.deep.losses import uhbdnn_loss
    >>> g = torch.Generator().manual_seed(0)
    >>> X = torch.rand(6, 5, generator=g, dtype=torch.float64)
    >>> H = torch.randn(6, 2, generator=g, dtype=torch.float64)
    >>> B = torch.where(H >= 0, 1.0, -1.0).double()
    >>> W4, c4 = torch.zeros(5, 2, dtype=torch.float64), X.mean(0)
    >>> J = uhbdnn_loss(H, B, X, W4, c4, [W4])
    >>> J.shape, J.dtype
    (torch.Size([]), torch.float64)
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

    References
    ----------
    T.-T. Do, A.-D. Doan, N.-M. Cheung, "Learning to Hash with Binary Deep
    Neural Network", ECCV 2016.

    Examples
    --------
    >>> import torch
    >>> from skhash.deep.losses import shbdnn_loss
    >>> H = torch.tensor([[1.0, 1.0], [1.0, 1.0], [-1.0, -1.0]], dtype=torch.float64)
    >>> labels = torch.tensor([0, 0, 1])
    >>> J = shbdnn_loss(H, H.sign(), labels, [], weight_decay=0.0,
    ...                 equality_weight=0.0, independence_weight=0.0,
    ...                 balance_weight=0.0, similarity_weight=1.0)
    >>> float(J)  # (1/L) H H^T equals S exactly
    0.0
    """
    return (
        weight_decay * weight_decay_term(weights)
        + equality_weight * equality_term(relaxed, signs)
        + independence_weight * independence_term(relaxed)
        + balance_weight * balance_term(relaxed)
        + similarity_weight * similarity_term(relaxed, labels, block_size=block_size)
    )
