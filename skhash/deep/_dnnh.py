"""Deep Neural Network Hashing (divide-and-encode, triplet loss)."""

from numbers import Real

import torch
from sklearn.utils._param_validation import Interval

from skhash.deep._base import BaseDeepHasher, fill_doc
from skhash.deep._criteria import DNNHLoss
from skhash.deep._modules import DivideEncodeHead

__all__ = ["DNNH"]


@fill_doc
class DNNH(BaseDeepHasher):
    """Deep Neural Network Hashing (DNNH) with divide-and-encode.

    The backbone's output is divided into ``n_bits`` slices, each fully
    connected to one sigmoid unit (the divide-and-encode module,
    :class:`~skhash.deep.DivideEncodeHead`), whose outputs are pushed to 0/1
    by a piece-wise threshold during training. The network is trained with a
    triplet ranking hinge on all triplets of each mini-batch (a query, a
    same-label sample and a different-label sample;
    :func:`~skhash.deep.losses.dnnh_loss`). Bit = 1 where the unit's output is
    ``>= 0.5``, i.e. where its logit (``decision_function``) is ``>= 0``.

    Parameters
    ----------
    n_bits : int, default=32
        Code length ``q``; at most the backbone's output width.
    {network_params}
    margin : float, default=1.0
        Hinge margin of the triplet loss.
    threshold_epsilon : float, default=0.1
        Half-width of the band around 0.5 where the piece-wise threshold is
        the identity (the paper's small ``epsilon``; its value is not
        recorded in our spec).
    {training_params}

    Attributes
    ----------
    {attributes}

    Notes
    -----
    The paper uses a Network-in-Network backbone whose last layer has
    ``50 q`` units; with skhash's MLP the last hidden layer is divided into
    ``n_bits`` nearly equal slices (``hidden_layer_sizes[-1] >= n_bits``).
    Triplets: the paper samples them from labels; here every valid in-batch
    triplet is used. Multi-label: "similar" is sharing a label.

    References
    ----------
    H. Lai, Y. Pan, Y. Liu, S. Yan, "Simultaneous Feature Learning and Hash
    Coding with Deep Neural Networks", CVPR 2015.

    Examples
    --------
    >>> import numpy as np
    >>> from skhash.deep import DNNH
    >>> rng = np.random.default_rng(0)
    >>> X, y = rng.normal(size=(60, 10)), rng.integers(0, 3, 60)
    >>> dnnh = DNNH(n_bits=12, hidden_layer_sizes=(24,), max_epochs=2,
    ...             random_state=0).fit(X, y)
    >>> dnnh.transform(X[:5]).shape
    (5, 2)
    """

    _parameter_constraints: dict = {
        **BaseDeepHasher._parameter_constraints,
        "margin": [Interval(Real, 0, None, closed="neither")],
        "threshold_epsilon": [Interval(Real, 0, 0.5, closed="left")],
    }

    def __init__(
        self,
        n_bits=32,
        *,
        backbone=None,
        hidden_layer_sizes=(256,),
        input_shape=None,
        margin=1.0,
        threshold_epsilon=0.1,
        max_epochs=20,
        lr=1e-3,
        batch_size=128,
        optimizer=torch.optim.Adam,
        device="cpu",
        callbacks=None,
        train_split=None,
        net_params=None,
        warm_start=False,
        random_state=None,
        verbose=0,
    ):
        self.n_bits = n_bits
        self.backbone = backbone
        self.hidden_layer_sizes = hidden_layer_sizes
        self.input_shape = input_shape
        self.margin = margin
        self.threshold_epsilon = threshold_epsilon
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

    def _build_head(self, in_features):
        return DivideEncodeHead(
            in_features, self.n_bits, threshold_epsilon=self.threshold_epsilon
        )

    def _build_criterion(self):
        return DNNHLoss(margin=self.margin)
