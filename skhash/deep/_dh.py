"""Deep Hashing (Liong et al., CVPR 2015), unsupervised."""

from numbers import Real

import numpy as np
import torch
from sklearn.utils._param_validation import Interval, StrOptions
from skorch import NeuralNet
from torch import nn

from skhash._kernels.pca import principal_directions
from skhash._validation import IntInterval, check_float32_range
from skhash.deep._base import BaseDeepHasher, fill_doc
from skhash.deep._criteria import DHLoss
from skhash.deep._modules import HashHead, linear_layers

__all__ = ["DH"]


class PenalizedNet(NeuralNet):
    """A skorch ``NeuralNet`` whose training loss adds a weight penalty.

    The criterion module may define ``penalty(module)``: a scalar tensor that
    depends on the network's weights (orthogonality, weight decay), added to
    the loss of every training batch.
    """

    def get_loss(self, y_pred, y_true, X=None, training=False):
        loss = super().get_loss(y_pred, y_true, X=X, training=training)
        penalty = getattr(self.criterion_, "penalty", None)
        if training and penalty is not None:
            loss = loss + penalty(self.module_)
        return loss


class TanhMLP(nn.Module):
    """Fully connected layers with tanh units (DH's network without its top).

    Parameters
    ----------
    in_features : int
        Input width.
    hidden_layer_sizes : sequence of int
        Width of each hidden layer (``Linear`` then ``tanh``).
    """

    def __init__(self, in_features, hidden_layer_sizes):
        super().__init__()
        layers = []
        width = int(in_features)
        for size in hidden_layer_sizes:
            layers += [nn.Linear(width, int(size)), nn.Tanh()]
            width = int(size)
        self.layers = nn.Sequential(*layers)
        self.out_features = width

    def forward(self, x):
        return self.layers(x)


def _random_orthonormal(n_rows, n_cols, generator):
    """Random orthonormal rows (``n_rows <= n_cols``) or columns (otherwise)."""
    tall = n_rows > n_cols
    shape = (n_rows, n_cols) if tall else (n_cols, n_rows)
    g = torch.randn(*shape, generator=generator, dtype=torch.float64)
    q, r = torch.linalg.qr(g)
    q = q * torch.sign(torch.diagonal(r))
    return (q if tall else q.T).float()


def _identity_start(n_out, n_in, generator):
    """The identity where it fits: ``[I 0]``, or ``[I; Q]`` for a wider layer.

    A layer wider than its input passes its input through its first
    ``n_in`` units and adds ``n_out - n_in`` units with random orthonormal
    rows (orthonormal columns when they outnumber the inputs).
    """
    if n_out <= n_in:
        return torch.eye(n_out, n_in)
    extra = _random_orthonormal(n_out - n_in, n_in, generator)
    return torch.cat([torch.eye(n_in), extra], dim=0)


def pca_init_(layers, directions, generator):
    """DH's initialisation of a stack of ``nn.Linear`` layers, in place.

    The first layer's rows are the top principal directions of the (centred)
    training data (``directions``: ``(n_features, k)`` orthonormal columns);
    every later layer is ``[I 0]`` (so the untrained network passes the top
    principal coordinates up, squashed by tanh, and its bits are PCAH's); all
    biases are zero. A layer wider than its input (or a first layer wider
    than ``k``) is ``[I; Q]``: the identity on its first units, so that those
    bits are still PCAH's, and random orthonormal rows ``Q`` for the others.
    """
    V = torch.as_tensor(np.ascontiguousarray(directions.T), dtype=torch.float32)
    with torch.no_grad():
        for i, lin in enumerate(layers):
            if i == 0:
                E = _identity_start(lin.out_features, V.shape[0], generator)
                lin.weight.copy_(E @ V)
            else:
                lin.weight.copy_(
                    _identity_start(lin.out_features, lin.in_features, generator)
                )
            if lin.bias is not None:
                lin.bias.zero_()


@fill_doc
class DH(BaseDeepHasher):
    """Deep Hashing (DH), the unsupervised deep hasher of Liong et al.

    A stack of fully connected layers with tanh units maps a sample to
    ``h = tanh(W_M ... tanh(W_1 x + c_1) ... + c_M)``; the bits are
    ``sign(h)``. Training minimises, by back-propagation with ``B = sign(H)``
    recomputed at every step,

    .. math::

        \\frac12 \\|B - H\\|_F^2 - \\frac{\\lambda_1}{2N}
        \\operatorname{tr}(H H^T)
        + \\frac{\\lambda_2}{2} \\sum_m \\|W_m W_m^T - I\\|_F^2
        + \\frac{\\lambda_3}{2} \\sum_m (\\|W_m\\|_F^2 + \\|c_m\\|_2^2),

    i.e. small quantisation loss, large bit variance (balanced, informative
    bits), nearly orthogonal projections (independent bits) and weight decay
    (:func:`~skhash.deep.losses.dh_loss`). ``y`` is ignored.

    Parameters
    ----------
    n_bits : int, default=32
        Code length ``L`` (width of the last layer).
    hidden_layer_sizes : array-like of int, default=(60, 30)
        Widths of the tanh hidden layers (the paper's three-layer network is
        ``[60, 30, L]`` on GIST: recalled, not verified). With ``n_bits``
        above the last width the hash layer is wider than its input; its
        extra bits lose most of their start's information in training on
        MNIST (see Notes): prefer widths of at least ``n_bits``, e.g.
        ``(2 * n_bits, n_bits)``.
    init : {"pca", "random"}, default="pca"
        ``"pca"``: the paper's start (as reported by a third-party
        re-implementation, not verified against the paper): the first
        layer's rows are the top principal directions of the centred
        training data, every later layer is ``[I 0]``, biases are 0, so the
        untrained network's bits are PCAH's (a layer wider than its input
        is ``[I; Q]``, ``Q`` random orthonormal rows for its extra units).
        ``"random"``: torch's default
        initialisation (Caffe Xavier for the last layer). Only used when
        ``backbone`` is None.
    variance_weight : float, default=100.0
        ``lambda_1``.
    orthogonality_weight : float, default=1e-3
        ``lambda_2``. Relative to one sample's quantisation loss it weighs
        ``lambda_2 / N`` (see Notes).
    weight_decay : float, default=1e-3
        ``lambda_3``.
    backbone : torch.nn.Module, default=None
        Feature extractor below the last (hash) layer, deep-copied in ``fit``.
        ``None``: tanh layers of widths ``hidden_layer_sizes``. The penalties
        apply to every ``nn.Linear`` of the network.
    input_shape : tuple of int, default=None
        Shape of one sample for the backbone (flat rows are reshaped).
    max_epochs : int, default=100
        Passes over the training data; with the default full batch, the
        number of gradient-descent iterations.
    lr : float, default=1.0
        Learning rate of the objective's per-sample scale ``J / N`` (see
        Notes), i.e. ``eta = lr / N`` on the paper's summed ``J``.
    batch_size : int or None, default=None
        ``None``: every training sample in one batch, the paper's full-batch
        objective and gradient. An int: mini-batches of that size.
    optimizer : torch optimizer class, default=torch.optim.SGD
        Plain gradient descent (no momentum), the paper's update
        ``W <- W - eta dJ/dW``. ``torch.optim.Adam`` (with mini-batches)
        makes every bit a copy of one bit on MNIST from 32 bits on (see
        Notes).
    {device_and_later_params}

    Attributes
    ----------
    mean_ : ndarray of shape (n_features,)
        Mean of the training samples, subtracted from every input.
    bit_balance_ : ndarray of shape (n_bits,)
        Fraction of training samples whose bit is 1, per bit.
    {attributes}

    See Also
    --------
    skhash.ITQ : The linear quantisation-loss baseline DH is compared with.
    skhash.deep.UHBDNN : Unsupervised binary deep network with hard constraints.

    Notes
    -----
    **Objective scale.** The paper trains full batch on its ``N`` training
    samples: the quantisation term is a *sum* over them and the variance term
    a *mean*, so relative to one sample's quantisation loss the variance
    weighs ``lambda_1 / N`` and the weight terms ``lambda_2 / N``,
    ``lambda_3 / N``. Here each mini-batch estimates that ``J / N`` with
    ``N`` the training-set size (``dh_loss(n_samples=N)``), not the batch
    size, which would make the variance term ``N / batch_size`` times too
    strong. The default training is gradient descent on the full-batch
    objective, the paper's algorithm as recalled (the paper could not be
    re-read; a public Keras re-implementation also steps on the whole
    training set); its learning rate and number of iterations are not known
    here (``lr=1`` on ``J / N`` for 100 iterations reaches
    saturated outputs on MNIST pixels; the mAP changes little between 30
    and 300 iterations).

    **Optimiser.** Adam on mini-batches (lr 1e-3, batch 128) is not a
    faster route to the same codes. It
    rescales every weight's step to about ``lr`` whatever its gradient, so
    the first layer's PCA rows (entries about 0.04 on MNIST) are rewritten
    within a few epochs, and the bits drift towards one direction: on MNIST
    (2,000 training images, 50 Euclidean neighbours as ground truth, the
    protocol of ``doc/reproduction_ldph_dh_ksh_subic.rst``) Adam's 32- and
    64-bit codes reach mAP 0.168 / 0.070, full-batch gradient descent's
    0.307 / 0.276 (PCAH 0.349 / 0.398, ITQ 0.419 / 0.576).

    **What is confirmed.** ``lambda_1 = 100``, ``lambda_2 = lambda_3 =
    1e-3`` are the values recalled from the paper and those of the
    docstring of one public TensorFlow re-implementation (whose code then
    uses 0.1 for the last two); the PCA / identity start is described in the
    comments of another public re-implementation (which also starts the
    biases at 1; here 0, so the untrained bits are balanced PCAH bits). The
    ``[60, 30, L]`` network is recalled. The supervised variant of the same
    paper (a Fisher-like term) is not implemented. Inputs should be on a unit
    scale or larger (e.g. pixels in [0, 1] or
    :class:`~sklearn.preprocessing.StandardScaler`): with small inputs and
    nearly orthonormal weights the tanh outputs stay small, and the cheapest
    way to lower the quantisation loss is then through the biases, which
    gives constant bits.

    **Interpretation (centring).** The paper's variance term
    :math:`\\operatorname{tr}(H H^T)/N` is the variance of the codes only for
    zero-mean outputs. Taken literally on uncentred data it is maximised by
    giving every sample the same saturated code (every bit constant on MNIST
    pixels, mAP 0.0066, a random ranking). Here the inputs are centred
    (``mean_``, fitted in ``fit`` and subtracted in ``transform``) and the
    variance term is taken on the batch-centred outputs
    (``dh_loss(center=True)``); for a layer
    wider than its input the orthogonality term constrains
    :math:`W^T W` (see :func:`~skhash.deep.losses.dh_weight_penalty`).

    **What training does to the codes.** No term of the objective refers
    to distances between samples: the quantisation term rewards saturated
    outputs, the variance term balanced ones. The quantisation gradient of a
    tanh unit, :math:`(b - h)(1 - h^2) x^T` with
    :math:`b = \\operatorname{sign}(h)`, is a Hebbian update that pulls every
    unit towards the dominant direction of its input, which the weak
    orthogonality term (``lambda_2 / N`` per sample) hardly resists. Started
    at random, the network on MNIST ends with copies of one balanced bit
    (mAP 0.011 with Adam). From the PCA start, gradient descent keeps the
    bits decorrelated but moves them away from the principal directions:
    on MNIST the trained codes are below their own start (PCAH) at every
    length measured. See ``doc/reproduction_ldph_dh_ksh_subic.rst``.

    References
    ----------
    V. E. Liong, J. Lu, G. Wang, P. Moulin, J. Zhou, "Deep Hashing for Compact
    Binary Codes Learning", CVPR 2015.

    Examples
    --------
    >>> import numpy as np
    >>> from skhash.deep import DH
    >>> X = np.random.default_rng(0).normal(size=(64, 10))
    >>> dh = DH(n_bits=8, hidden_layer_sizes=(16,), max_epochs=2,
    ...         random_state=0).fit(X)
    >>> codes = dh.transform(X[:5])
    >>> codes.shape, codes.dtype
    ((5, 1), dtype('uint8'))
    """

    _requires_y = False
    _net_class = PenalizedNet
    _head_activation = "tanh"
    _head_init = "xavier"

    _parameter_constraints: dict = {
        **BaseDeepHasher._parameter_constraints,
        "init": [StrOptions({"pca", "random"})],
        "variance_weight": [Interval(Real, 0, None, closed="left")],
        "orthogonality_weight": [Interval(Real, 0, None, closed="left")],
        "weight_decay": [Interval(Real, 0, None, closed="left")],
        "batch_size": [None, IntInterval(1, None, closed="left")],
    }

    def __init__(
        self,
        n_bits=32,
        *,
        hidden_layer_sizes=(60, 30),
        init="pca",
        variance_weight=100.0,
        orthogonality_weight=1e-3,
        weight_decay=1e-3,
        backbone=None,
        input_shape=None,
        max_epochs=100,
        lr=1.0,
        batch_size=None,
        optimizer=torch.optim.SGD,
        device="cpu",
        callbacks=None,
        train_split=None,
        net_params=None,
        warm_start=False,
        random_state=None,
        verbose=0,
    ):
        self.n_bits = n_bits
        self.hidden_layer_sizes = hidden_layer_sizes
        self.init = init
        self.variance_weight = variance_weight
        self.orthogonality_weight = orthogonality_weight
        self.weight_decay = weight_decay
        self.backbone = backbone
        self.input_shape = input_shape
        self.max_epochs = max_epochs
        self.lr = lr
        self.batch_size = batch_size
        self.optimizer = optimizer
        self.device = device
        self.callbacks = callbacks
        self.train_split = train_split
        self.net_params = net_params
        self.warm_start = warm_start
        self.random_state = random_state
        self.verbose = verbose

    def _build_backbone(self, n_features):
        if self.backbone is None:
            sizes = [int(s) for s in np.asarray(self.hidden_layer_sizes).ravel()]
            return TanhMLP(n_features, sizes)
        return super()._build_backbone(n_features)

    def _build_head(self, in_features):
        return HashHead(in_features, self.n_bits, activation="tanh", init="xavier")

    def _build_module(self, n_features):
        module = super()._build_module(n_features)
        if self.init == "pca" and self.backbone is None:
            # runs inside _fit's forked, seeded RNG: deterministic
            gen = torch.Generator().manual_seed(int(torch.randint(2**31 - 1, ())))
            pca_init_(linear_layers(module), self._directions, gen)
        return module

    def _build_criterion(self):
        return DHLoss(
            variance_weight=self.variance_weight,
            orthogonality_weight=self.orthogonality_weight,
            weight_decay=self.weight_decay,
            n_samples=self._n_train,
        )

    def _fit(self, X, y):
        check_float32_range(self, X)
        X = np.asarray(X, dtype=np.float32)
        if self._warm_net(X.shape[1]) is None:
            self.mean_ = X.mean(axis=0)
        # else: the network of the previous fit was trained on inputs centred
        # by its mean, which a warm start keeps.
        Xc = X - self.mean_
        self._n_train = X.shape[0]
        self._directions = None
        if self.init == "pca" and self.backbone is None:
            sizes = np.asarray(self.hidden_layer_sizes).ravel()
            width = int(sizes[0]) if sizes.size else int(self.n_bits)
            k = min(width, *Xc.shape)
            self._directions, _ = principal_directions(Xc.astype(np.float64), k)
        try:
            super()._fit(Xc, None)
        finally:
            del self._directions, self._n_train
        self.bit_balance_ = (self._project(X) >= 0).mean(axis=0)
        return self

    def _project(self, X):
        check_float32_range(self, X)
        return super()._project(np.asarray(X, dtype=np.float32) - self.mean_)
