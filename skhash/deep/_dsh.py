"""Deep Supervised Hashing."""

from numbers import Real

import torch
from sklearn.utils._param_validation import Interval

from skhash.deep._base import BaseDeepHasher, fill_doc
from skhash.deep._criteria import DSHLoss

__all__ = ["DSH"]


@fill_doc
class DSH(BaseDeepHasher):
    """Deep Supervised Hashing (DSH).

    A network with a *linear* code layer is trained on all pairs of each
    mini-batch with a contrastive loss on the squared Euclidean distance of
    the real outputs (similar pairs pulled together, dissimilar ones pushed
    beyond the margin ``m = 2 n_bits``) plus an L1 regulariser pulling every
    output towards +-1 (:func:`~skhash.deep.losses.dsh_loss`). Bit = 1 where
    the output is ``>= 0``.

    Parameters
    ----------
    n_bits : int, default=32
        Code length ``k``.
    {network_params}
    margin : float, default=None
        ``m``, on squared distances; ``None`` means ``2 * n_bits``.
    quantization_weight : float, default=0.01
        ``alpha``, weight of the regulariser ``|| |b| - 1 ||_1``.
    {training_params}

    Attributes
    ----------
    {attributes}

    See Also
    --------
    DHN, HashNet : Pairwise likelihood losses on tanh outputs.

    Notes
    -----
    The paper trains its small CNN (:class:`~skhash.deep.DSHConvNet`) with SGD
    (batch 200, lr 1e-3, momentum 0.9, weight decay 0.004, 70k iterations).
    skhash defaults to Adam, which trains small networks on feature vectors
    from scratch without a tuned schedule; pass ``optimizer=torch.optim.SGD``
    and ``net_params`` for the paper's setting. Mean subtraction and random
    mirroring of images are left to the caller.

    References
    ----------
    H. Liu, R. Wang, S. Shan, X. Chen, "Deep Supervised Hashing for Fast Image
    Retrieval", CVPR 2016.

    Examples
    --------
    >>> import numpy as np
    >>> from skhash.deep import DSH
    >>> rng = np.random.default_rng(0)
    >>> X, y = rng.normal(size=(60, 10)), rng.integers(0, 3, 60)
    >>> dsh = DSH(n_bits=12, hidden_layer_sizes=(16,), max_epochs=2,
    ...           random_state=0).fit(X, y)
    >>> codes = dsh.transform(X[:5])
    >>> codes.shape, codes.dtype
    ((5, 2), dtype('uint8'))
    """

    _head_activation = "linear"
    _head_init = "xavier"

    _parameter_constraints: dict = {
        **BaseDeepHasher._parameter_constraints,
        "margin": [None, Interval(Real, 0, None, closed="neither")],
        "quantization_weight": [Interval(Real, 0, None, closed="left")],
    }

    def __init__(
        self,
        n_bits=32,
        *,
        backbone=None,
        hidden_layer_sizes=(256,),
        input_shape=None,
        margin=None,
        quantization_weight=0.01,
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
        self.quantization_weight = quantization_weight
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

    def _build_criterion(self):
        return DSHLoss(margin=self.margin, quantization_weight=self.quantization_weight)
