"""skorch callbacks of the deep hashers (schedules that set module attributes)."""

from skorch.callbacks import Callback

__all__ = ["BetaContinuation"]


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
