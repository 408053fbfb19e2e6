"""HashNet (deep learning to hash by continuation)."""

from numbers import Real

import torch
from sklearn.utils._param_validation import Interval, StrOptions

from skhash._validation import IntInterval
from skhash.deep._base import BaseDeepHasher, fill_doc
from skhash.deep._callbacks import BetaContinuation
from skhash.deep._criteria import HashNetLoss

__all__ = ["HashNet"]


@fill_doc
class HashNet(BaseDeepHasher):
    """HashNet: deep learning to hash by continuation.

    A hash layer ``h = tanh(beta z)`` is trained with a weighted maximum
    likelihood on all pairs *between* two mini-batches (each skorch batch is
    split in halves): ``p(similar) = sigmoid(alpha <h_i, h_j>)`` with
    ``alpha = 10 / n_bits``, and similar/dissimilar pairs reweighted by the
    batch's imbalance ``|S| / |S_1|`` and ``|S| / |S_0|``; multi-label pairs
    are further weighted by the cosine of their label vectors
    (:func:`~skhash.deep.losses.hashnet_loss`). ``beta`` follows the authors'
    continuation schedule ``beta = (1 + gamma t)^power``, updated every
    ``continuation_step`` iterations ``t`` by a skorch callback
    (:class:`~skhash.deep.BetaContinuation`) that counts iterations across
    epochs. By default the schedule is defined over the fraction of training
    done: with ``T = max_epochs x`` mini-batches per epoch,
    ``beta_t = (1 + 50 t / T)^power``, updated every ``T / 50`` iterations, so
    ``beta`` ends near ``sqrt(50) ~ 7.1`` as in the authors' run (``gamma =
    0.005``, every 200 of 10,000 iterations), whatever the number of epochs
    and the size of the data. Bit = 1 where ``z >= 0`` (the limit ``sign(z)``
    of the relaxation).

    Parameters
    ----------
    n_bits : int, default=32
        Code length ``K``.
    {network_params}
    alpha : float, default=None
        Scale of the adaptive sigmoid; ``None`` means ``10 / n_bits``.
    continuation_step : int or "auto", default="auto"
        Iterations between updates of ``beta``. ``"auto"``:
        ``max(1, round(T / 50))`` for ``T`` training iterations (the authors'
        200 of 10,000).
    continuation_gamma : float or "auto", default="auto"
        ``gamma`` of the schedule, per iteration. ``"auto"``: ``50 / T`` (the
        authors' 0.005 over 10,000 iterations). Pass ``200`` and ``0.005`` to
        run the authors' schedule as it counts iterations.
    continuation_power : float, default=0.5
        ``power`` of the schedule.
    {training_params}

    Attributes
    ----------
    {attributes}
    beta_ : float
        ``beta`` at the end of training.
    n_iter_ : int
        Training iterations (mini-batches) run; the schedule's ``t``.

    See Also
    --------
    DHN : The same likelihood without scaling, weights or continuation.

    Notes
    -----
    ``batch_size`` is the total of the two halves (the code uses 2 x 256 with
    AlexNet, SGD, lr x0.5 every 2,000 of 10,000 iterations); skhash defaults
    to Adam. The authors' constants count iterations: with a few hundred
    iterations (small data, few epochs) ``beta`` would stay near 1 and the
    codes would be trained without continuation, hence the ``"auto"``
    schedule over the training length. A new ``fit`` restarts the schedule
    at ``t = 0``.

    References
    ----------
    Z. Cao, M. Long, J. Wang, P. S. Yu, "HashNet: Deep Learning to Hash by
    Continuation", ICCV 2017.

    Examples
    --------
    >>> import numpy as np
    >>> from skhash.deep import HashNet
    >>> rng = np.random.default_rng(0)
    >>> X, y = rng.normal(size=(60, 10)), rng.integers(0, 3, 60)
    >>> hn = HashNet(n_bits=12, hidden_layer_sizes=(16,), max_epochs=2,
    ...              continuation_step=1, random_state=0).fit(X, y)
    >>> hn.transform(X[:5]).shape, hn.n_iter_
    ((5, 2), 2)
    """

    _head_activation = "scaled_tanh"
    _head_init = "normal"

    _parameter_constraints: dict = {
        **BaseDeepHasher._parameter_constraints,
        "alpha": [None, Interval(Real, 0, None, closed="neither")],
        "continuation_step": [
            IntInterval(1, None, closed="left"),
            StrOptions({"auto"}),
        ],
        "continuation_gamma": [
            Interval(Real, 0, None, closed="left"),
            StrOptions({"auto"}),
        ],
        "continuation_power": [Interval(Real, 0, None, closed="left")],
    }

    def __init__(
        self,
        n_bits=32,
        *,
        backbone=None,
        hidden_layer_sizes=(256,),
        input_shape=None,
        alpha=None,
        continuation_step="auto",
        continuation_gamma="auto",
        continuation_power=0.5,
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
        self.alpha = alpha
        self.continuation_step = continuation_step
        self.continuation_gamma = continuation_gamma
        self.continuation_power = continuation_power
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
        return HashNetLoss(alpha=self.alpha)

    def _build_callbacks(self):
        return [
            (
                "beta_continuation",
                BetaContinuation(
                    step=self.continuation_step,
                    gamma=self.continuation_gamma,
                    power=self.continuation_power,
                ),
            )
        ]

    def _fit(self, X, y):
        super()._fit(X, y)
        schedule = dict(self.net_.callbacks_)["beta_continuation"]
        self.beta_ = schedule.beta_
        self.n_iter_ = schedule.iteration_
        return self
