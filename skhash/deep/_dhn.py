"""Deep Hashing Network."""

from numbers import Real

import torch
from sklearn.utils._param_validation import Interval

from skhash.deep._base import BaseDeepHasher, fill_doc
from skhash.deep._criteria import DHNLoss

__all__ = ["DHN"]


@fill_doc
class DHN(BaseDeepHasher):
    """Deep Hashing Network (DHN).

    A hash layer with tanh units is trained on all pairs of each mini-batch
    with a pairwise cross-entropy on the raw inner product of the outputs
    (the likelihood of "similar" is ``sigmoid(<z_i, z_j>)``) plus a smooth
    log-cosh quantisation penalty (:func:`~skhash.deep.losses.dhn_loss`).
    Bit = 1 where the hash layer's pre-activation is ``>= 0``.

    Parameters
    ----------
    n_bits : int, default=32
        Code length ``K``.
    {network_params}
    quantization_weight : float, default=0.2
        ``lambda``, weight of the log-cosh quantisation penalty (the authors'
        code value).
    {training_params}

    Attributes
    ----------
    {attributes}

    See Also
    --------
    HashNet : The same likelihood with a scaled inner product, imbalance
        weights and continuation.
    DSH : Contrastive loss on linear outputs.

    Notes
    -----
    The paper fine-tunes AlexNet with SGD (batch 64, lr 2e-5); skhash defaults
    to Adam on the chosen backbone.

    The unscaled inner products make DHN sensitive to the scale of its input.
    On pooled CNN features that are not centred (for example a pretrained
    backbone's, all non-negative), Adam at ``lr=1e-3`` unbalances the bits
    within the first epoch and the codes do not recover; standardise the
    features (``StandardScaler`` in a ``Pipeline``) or use ``lr=1e-4``, which
    is also the rate to fine-tune a named ``backbone`` with (measured on
    CIFAR-10: :doc:`/reproduction_pretrained`).

    References
    ----------
    H. Zhu, M. Long, J. Wang, Y. Cao, "Deep Hashing Network for Efficient
    Similarity Retrieval", AAAI 2016.

    Examples
    --------
    >>> import numpy as np
    >>> from skhash.deep import DHN
    >>> rng = np.random.default_rng(0)
    >>> X, y = rng.normal(size=(60, 10)), rng.integers(0, 3, 60)
    >>> dhn = DHN(n_bits=12, hidden_layer_sizes=(16,), max_epochs=2,
    ...           random_state=0).fit(X, y)
    >>> dhn.transform(X[:5]).shape
    (5, 2)
    """

    _head_activation = "tanh"
    _head_init = "normal"

    _parameter_constraints: dict = {
        **BaseDeepHasher._parameter_constraints,
        "quantization_weight": [Interval(Real, 0, None, closed="left")],
    }

    def __init__(
        self,
        n_bits=32,
        *,
        backbone=None,
        hidden_layer_sizes=(256,),
        input_shape=None,
        quantization_weight=0.2,
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
        return DHNLoss(quantization_weight=self.quantization_weight)
