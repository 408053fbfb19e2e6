"""skorch callbacks of the deep hashers: schedules and the divergence check."""

import math

from skorch.callbacks import Callback

__all__ = ["BetaContinuation", "DivergenceCheck"]


class BetaContinuation(Callback):
    """HashNet's continuation schedule for ``tanh(beta z)``.

    Every ``step`` training iterations (mini-batches), starting at iteration
    0, set ``beta = init_beta * (1 + gamma * t) ** power`` where ``t`` is the
    global iteration count, as the authors' Caffe ``ScaleTanH`` layer and
    PyTorch port do. The count lives in the callback and continues across
    epochs; it restarts at 0 when the net is (re)initialised by ``fit``.

    Parameters
    ----------
    step : int, default=200
        Iterations between updates of ``beta``.
    gamma : float, default=0.005
        Growth rate.
    power : float, default=0.5
        Exponent.
    init_beta : float, default=1.0
        ``beta`` at iteration 0.

    Attributes
    ----------
    iteration_ : int
        Training iterations seen so far.
    beta_ : float
        The current ``beta``.
    """

    def __init__(self, step=200, gamma=0.005, power=0.5, init_beta=1.0):
        self.step = step
        self.gamma = gamma
        self.power = power
        self.init_beta = init_beta

    def initialize(self):
        self.iteration_ = 0
        self.beta_ = float(self.init_beta)
        return self

    def on_batch_begin(self, net, batch=None, training=None, **kwargs):
        if not training:
            return
        t = self.iteration_
        if t % self.step == 0:
            self.beta_ = float(self.init_beta * (1.0 + self.gamma * t) ** self.power)
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
