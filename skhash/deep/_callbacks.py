"""skorch callbacks of the deep hashers: schedules and the divergence check."""

import math

from skorch.callbacks import Callback

__all__ = ["BetaContinuation", "DivergenceCheck"]

#: Updates of ``beta`` in the authors' run (every 200 of 10,000 iterations),
#: kept by the ``"auto"`` schedule whatever the length of training.
_PAPER_UPDATES = 50


class BetaContinuation(Callback):
    r"""HashNet's continuation schedule for ``tanh(beta z)``.

    Every ``step`` training iterations (mini-batches), starting at iteration
    0, set ``beta = init_beta * (1 + gamma * t) ** power`` where ``t`` is the
    global iteration count, as the authors' Caffe ``ScaleTanH`` layer and
    PyTorch port do (``step=200``, ``gamma=0.005``, ``power=0.5`` over 10,000
    iterations: ``beta`` ends at ``sqrt(50) ~ 7.1``). The count lives in the
    callback and continues across epochs; it restarts at 0 when the net is
    (re)initialised by ``fit``.

    ``"auto"`` defines the schedule over the fraction of training done: with
    ``T = max_epochs x`` (mini-batches per epoch, read at the first epoch),
    ``gamma = 50 / T`` and ``step = max(1, round(T / 50))``, so that

    .. math::

        \beta_t = \beta_0 \left(1 + 50 \frac{t}{T}\right)^{p},

    updated 50 times, reaches about ``sqrt(50)`` at the end of training, as the
    authors' constants do over their 10,000 iterations, whatever the number
    of epochs and the size of the data.

    Parameters
    ----------
    step : int or "auto", default=200
        Iterations between updates of ``beta``.
    gamma : float or "auto", default=0.005
        Growth rate per iteration.
    power : float, default=0.5
        Exponent ``p``.
    init_beta : float, default=1.0
        ``beta`` at iteration 0.

    Attributes
    ----------
    iteration_ : int
        Training iterations seen so far.
    beta_ : float
        The current ``beta``.
    step_ : int
        The step in use (``step`` resolved).
    gamma_ : float
        The growth rate in use (``gamma`` resolved).
    """

    def __init__(self, step=200, gamma=0.005, power=0.5, init_beta=1.0):
        self.step = step
        self.gamma = gamma
        self.power = power
        self.init_beta = init_beta

    def initialize(self):
        self.iteration_ = 0
        self.beta_ = float(self.init_beta)
        self.step_ = None if self.step == "auto" else int(self.step)
        self.gamma_ = None if self.gamma == "auto" else float(self.gamma)
        return self

    def on_epoch_begin(self, net, dataset_train=None, **kwargs):
        if self.step_ is not None and self.gamma_ is not None:
            return
        if dataset_train is None:
            return
        per_epoch = len(net.get_iterator(dataset_train, training=True))
        total = max(1, int(net.max_epochs) * per_epoch)
        if self.step_ is None:
            self.step_ = max(1, round(total / _PAPER_UPDATES))
        if self.gamma_ is None:
            self.gamma_ = _PAPER_UPDATES / total

    def on_batch_begin(self, net, batch=None, training=None, **kwargs):
        if not training:
            return
        if self.step_ is None or self.gamma_ is None:
            raise RuntimeError(
                "BetaContinuation with step='auto' or gamma='auto' needs the "
                "training length (max_epochs x mini-batches per epoch), read "
                "at the first epoch of a skorch fit; it saw none."
            )
        t = self.iteration_
        if t % self.step_ == 0:
            self.beta_ = float(self.init_beta * (1.0 + self.gamma_ * t) ** self.power)
        net.module_.head.beta = self.beta_

    def on_batch_end(self, net, batch=None, training=None, **kwargs):
        if training:
            self.iteration_ += 1


class DivergenceCheck(Callback):
    """Stop training with a clear error when the loss or the weights diverge.

    At the end of every epoch, raise a ``ValueError`` if the training loss is
    NaN or infinite, or if a parameter of the module is: a diverged network
    maps every input to NaN, which would become one constant code.

    Parameters
    ----------
    estimator_name : str, default="The network"
        Name used in the message.
    hint : str, default=""
        The likely causes, with the parameters to change (learning rate, loss
        weights), appended to the message.
    """

    def __init__(self, estimator_name="The network", hint=""):
        self.estimator_name = estimator_name
        self.hint = hint

    def on_epoch_end(self, net, **kwargs):
        import torch

        epoch = len(net.history)
        loss = net.history[-1].get("train_loss", 0.0) if epoch else 0.0
        what = None
        if not math.isfinite(float(loss)):
            what = f"the training loss is {loss}"
        else:
            for name, param in net.module_.named_parameters():
                if not bool(torch.isfinite(param).all()):
                    what = f"parameter {name!r} holds NaN or inf"
                    break
        if what is not None:
            raise ValueError(
                f"{self.estimator_name} training diverged at epoch {epoch}: "
                f"{what}. Likely causes: {self.hint}."
            )
