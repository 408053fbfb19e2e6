"""Linear distance preserving pseudo-supervised hashing (LDPH / LDPSH)."""

import contextlib
import copy
import math
from numbers import Real

import numpy as np
import torch
from sklearn.base import clone
from sklearn.exceptions import NotFittedError
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import HasMethods, Interval
from sklearn.utils.validation import check_is_fitted
from torch import nn

from skhash._kernels import bits as _bits
from skhash._kernels.pca import principal_directions
from skhash._validation import IntInterval, check_memory
from skhash.deep._base import BaseDeepHasher
from skhash.deep._criteria import LDPHLoss
from skhash.deep._dh import PenalizedNet
from skhash.deep._modules import HashingNetwork, linear_layers
from skhash.deep._threads import limit_torch_threads

__all__ = ["LDPH"]


class ScaledTanh(nn.Module):
    """LeCun's scaled tanh, ``1.7159 tanh(2 x / 3)`` (DeepLearnToolbox's tanh_opt)."""

    def forward(self, x):
        return 1.7159 * torch.tanh(x * (2.0 / 3.0))


class SigmoidHead(nn.Module):
    """Linear hash layer with sigmoid outputs; the bit is ``sigmoid >= 0.5``.

    ``relaxed`` is the sigmoid output (in [0, 1]); ``decision`` the logit,
    which is ``>= 0`` exactly where the sigmoid is ``>= 0.5``.
    """

    def __init__(self, in_features, n_bits):
        super().__init__()
        self.fc = nn.Linear(in_features, n_bits)

    def decision(self, features):
        return self.fc(features)

    def relaxed(self, features):
        return torch.sigmoid(self.fc(features))


class LDPHNetwork(HashingNetwork):
    """``HashingNetwork`` that also takes the second sample of a pair.

    ``forward(x)`` returns the sigmoid codes of ``x``; ``forward(x, x_pair)``
    returns those of both samples side by side, ``(n, 2 n_bits)``.
    """

    def forward(self, x, x_pair=None):
        h = super().forward(x)
        if x_pair is None:
            return h
        return torch.cat([h, super().forward(x_pair)], dim=1)


def _toolbox_init_(module):
    # DeepLearnToolbox: U(-r, r), r = 4 sqrt(6 / (fan_in + fan_out)), biases too.
    for m in linear_layers(module):
        fan_out, fan_in = m.weight.shape
        r = 4.0 * math.sqrt(6.0 / (fan_in + fan_out))
        nn.init.uniform_(m.weight, -r, r)
        if m.bias is not None:
            nn.init.uniform_(m.bias, -r, r)


class _BatchDataset(torch.utils.data.Dataset):
    """Whole mini-batches as items: one fancy-indexing per batch, not per row.

    Item ``k`` of an epoch is the ``k``-th slice of a permutation drawn from
    the dataset's own generator at the start of each epoch (items are read in
    order by a ``DataLoader`` without auto-batching), so training is
    reproducible and the global RNG is never used.
    """

    def __init__(self, n_items, batch_size, make_batch, seed):
        self.n_items = int(n_items)
        self.batch_size = int(batch_size)
        self.make_batch = make_batch
        self.rng = np.random.default_rng(seed)
        self.n_batches = max(1, -(-self.n_items // self.batch_size))
        self._calls = 0
        self._perm = None

    def __len__(self):
        return self.n_batches

    def __getitem__(self, k):
        if self._calls % self.n_batches == 0:
            self._perm = self.rng.permutation(self.n_items)
        self._calls += 1
        idx = self._perm[k * self.batch_size : (k + 1) * self.batch_size]
        return self.make_batch(np.sort(idx))


class LDPH(BaseDeepHasher):
    """Linear Distance Preserving pseudo-supervised Hashing (LDPH, LDPSH).

    Take the codes of an existing hashing method (the ``reference``, ITQ by
    default) as pseudo-labels, and train a network whose codes stay close to
    the (evolving) pseudo-labels while their Hamming distances become an
    affine function of the Euclidean distances,
    ``d_H(b_i, b_j) ~ a d_E(x_i, x_j) + c``, with ``(a, c)`` fitted, not fixed.

    After pre-training the network to regress the reference codes, LDPH
    repeats ``n_rounds`` times: (a) fit ``(a, c)`` by least squares of the
    current codes' Hamming distances on the Euclidean distances over
    ``pairs_per_sample * n`` random pairs; (b) train ``epochs_per_round``
    epochs on mini-batches of those pairs with the loss
    (:func:`~skhash.deep.losses.ldph_loss`)

    .. math::

        \\frac{\\alpha}{2} \\big(\\|h_i - u_i\\|^2 + \\|h_j - u_j\\|^2\\big)
        + \\frac{\\lambda}{2} \\big(d_H(\\bar h_i, \\bar h_j) - a d_E - c\\big)^2

    (straight-through gradient of the rounded codes) plus the weight penalty
    whose gradient is ``beta (W + (W W^T - I) W)`` (weight decay and soft
    orthogonality); (c) recompute the targets ``u = round(h)`` of every
    training sample. A bit is 1 where the sigmoid output is ``>= 0.5``.

    Parameters
    ----------
    n_bits : int, default=32
        Code length ``L``.
    reference : hasher, default=None
        The skhash hasher whose codes are the pseudo-labels. An unfitted
        hasher is cloned, given ``n_bits`` (and a seed when its
        ``random_state`` is None) and fitted on ``X``; a fitted one is used as
        it is and must have ``n_bits`` bits. ``None``: ``ITQ()``.
    pca : bool, default=True
        Centre and project the inputs on their top ``n_bits`` principal
        directions before standardising them (the authors' demo does this,
        so the network is ``L -> L -> L``). ``False``: the network sees the
        standardised features.
    hidden_layer_sizes : array-like of int, default=None
        Hidden widths (scaled-tanh units, dropout 0.05). ``None``: one hidden
        layer as wide as the network's input (the authors' code).
    pairs_per_sample : int, default=10
        Random pairs drawn per training sample (``P = pairs_per_sample * n``).
    pseudo_label_weight : float, default=0.1
        ``alpha``.
    distance_weight : float, default=0.5
        ``lambda``.
    weight_penalty : float, default=1e-4
        ``beta`` (L2 weight decay in pre-training; decay plus orthogonality in
        the rounds).
    max_epochs : int, default=50
        Pre-training epochs (regression on the reference codes).
    n_rounds : int, default=5
        Alternations ``T`` of the (a, c) step and the network step.
    epochs_per_round : int, default=10
        Epochs over the pairs in each network step.
    backbone : torch.nn.Module, default=None
        Feature extractor replacing the default hidden layer (deep-copied; its
        weights are kept as given).
    lr : float, default=2.0
        Learning rate (DeepLearnToolbox's default, for plain SGD on the
        batch-averaged loss).
    batch_size : int, default=500
        Samples per pre-training batch; pairs per batch in the rounds.
    optimizer : torch optimizer class, default=torch.optim.SGD
        With SGD, momentum 0.5 is used unless ``net_params`` sets
        ``optimizer__momentum``.
    device : str or torch.device, default="cpu"
        Where to train and encode.
    callbacks : list of skorch callbacks, default=None
        Extra skorch callbacks (deep-copied in ``fit``). LDPH trains on
        generated batches without validation data, so an ``EarlyStopping``
        must monitor the training loss (``EarlyStopping(monitor="train_loss")``).
    net_params : dict, default=None
        Extra keyword arguments of :class:`skorch.NeuralNet`, applied last.
    warm_start : bool, default=False
        When True and the estimator is fitted, ``fit`` runs ``n_rounds`` more
        rounds on the network of the previous fit (on new random pairs, from
        the network's own codes), without fitting the reference or
        pre-training again; the reference, PCA and scaling are kept, and the
        weights, optimizer state and ``net_.history`` carry on. The data
        must have as many features, and the code as many bits, as before.
    random_state : int, RandomState instance or None, default=None
        Seed of the pairs, the weights, the batches and (when unset) the
        reference's own seed.
    verbose : int, default=0
        Print the (a, c) fit of each round when > 0; skorch's epoch log when
        > 1.

    Attributes
    ----------
    reference_ : hasher
        The fitted reference hasher.
    mean_ : ndarray of shape (n_features,)
        Training mean (subtracted before the PCA projection).
    components_ : ndarray of shape (n_features, n_bits) or None
        PCA directions (``None`` without ``pca``).
    scale_mean_, scale_std_ : ndarray of shape (n_inputs,)
        Standardisation of the network's inputs.
    slope_, intercept_ : float
        ``(a, c)`` fitted on the final codes: Hamming distance in bits against
        Euclidean distance in the standardised space.
    affine_fits_ : list of (float, float, float)
        ``(a, c, r)`` per round: the fit and the Pearson correlation of
        Hamming and Euclidean distances over the pairs, before the round (the
        first on the reference's codes); the last entry on the final codes.
        After a warm start, those of the rounds of the last fit.
    net_ : skorch.NeuralNet
        The trained net; ``net_.module_`` the network.
    bit_balance_ : ndarray of shape (n_bits,)
        Fraction of training samples whose bit is 1, per bit.
    n_bits_ : int
        Code length.
    n_features_in_ : int
        Number of features seen in ``fit``.

    See Also
    --------
    skhash.ITQ : The default reference method.
    skhash.SpectralHashing : Another reference method.

    Notes
    -----
    Everything here follows the authors' released code (``LDPSH``, for the
    TIP paper); its defaults are the ones above. What is *not* known: the
    papers' exact notation and tables (not at hand), and the MM'16 paper's
    *unsupervised* variant, which the code does not contain; it is not
    implemented. DeepLearnToolbox scales activations by ``1 - dropout`` at
    test time; torch uses inverted dropout, equal in expectation. The
    Euclidean distances are those of the standardised network inputs (after
    PCA when ``pca=True``).

    References
    ----------
    M. Wang, W. Zhou, Q. Tian, Z. Zha, H. Li, "Linear Distance Preserving
    Pseudo-Supervised and Unsupervised Hashing", ACM MM 2016; M. Wang,
    W. Zhou, Q. Tian, H. Li, "A General Framework for Linear Distance
    Preserving Hashing", IEEE TIP 27(2):907-922, 2018.

    Examples
    --------
    >>> import numpy as np
    >>> from skhash.deep import LDPH
    >>> X = np.random.default_rng(0).normal(size=(100, 12))
    >>> ldph = LDPH(n_bits=8, max_epochs=2, n_rounds=1, epochs_per_round=1,
    ...             random_state=0).fit(X)
    >>> codes = ldph.transform(X[:5])
    >>> codes.shape, codes.dtype, len(ldph.affine_fits_)
    ((5, 1), dtype('uint8'), 2)
    """

    _requires_y = False
    _net_class = PenalizedNet

    _parameter_constraints: dict = {
        **BaseDeepHasher._parameter_constraints,
        # LDPH learns on feature vectors (no images): modules only.
        "backbone": [None, HasMethods(["forward"])],
        "reference": [None, HasMethods(["fit", "transform"])],
        "pca": ["boolean"],
        "hidden_layer_sizes": [None, "array-like"],
        "pairs_per_sample": [IntInterval(1, None, closed="left")],
        "pseudo_label_weight": [Interval(Real, 0, None, closed="left")],
        "distance_weight": [Interval(Real, 0, None, closed="left")],
        "weight_penalty": [Interval(Real, 0, None, closed="left")],
        "n_rounds": [IntInterval(0, None, closed="left")],
        "epochs_per_round": [IntInterval(1, None, closed="left")],
    }
    _parameter_constraints.pop("input_shape")
    _parameter_constraints.pop("train_split")  # generated batches: no validation

    def __init__(
        self,
        n_bits=32,
        *,
        reference=None,
        pca=True,
        hidden_layer_sizes=None,
        pairs_per_sample=10,
        pseudo_label_weight=0.1,
        distance_weight=0.5,
        weight_penalty=1e-4,
        max_epochs=50,
        n_rounds=5,
        epochs_per_round=10,
        backbone=None,
        lr=2.0,
        batch_size=500,
        optimizer=torch.optim.SGD,
        device="cpu",
        callbacks=None,
        net_params=None,
        warm_start=False,
        random_state=None,
        verbose=0,
    ):
        self.n_bits = n_bits
        self.reference = reference
        self.pca = pca
        self.hidden_layer_sizes = hidden_layer_sizes
        self.pairs_per_sample = pairs_per_sample
        self.pseudo_label_weight = pseudo_label_weight
        self.distance_weight = distance_weight
        self.weight_penalty = weight_penalty
        self.max_epochs = max_epochs
        self.n_rounds = n_rounds
        self.epochs_per_round = epochs_per_round
        self.backbone = backbone
        self.lr = lr
        self.batch_size = batch_size
        self.optimizer = optimizer
        self.device = device
        self.callbacks = callbacks
        self.net_params = net_params
        self.warm_start = warm_start
        self.random_state = random_state
        self.verbose = verbose

    # Network --------------------------------------------------------------
    input_shape = None  # images are not LDPH's setting: no reshape

    def _build_backbone(self, n_features):
        if self.backbone is not None:
            return copy.deepcopy(self.backbone)
        sizes = self.hidden_layer_sizes
        sizes = [n_features] if sizes is None else np.asarray(sizes).ravel()
        layers, width = [], n_features
        for size in sizes:
            layers += [nn.Linear(width, int(size)), ScaledTanh(), nn.Dropout(0.05)]
            width = int(size)
        return nn.Sequential(*layers)

    def _build_head(self, in_features):
        return SigmoidHead(in_features, self.n_bits)

    def _build_module(self, n_features):
        module = super()._build_module(n_features)
        network = LDPHNetwork(module.backbone, module.head, None)
        if self.backbone is None:
            _toolbox_init_(network)
        else:
            _toolbox_init_(network.head)
        return network

    def _build_criterion(self):
        return LDPHLoss(
            self.n_bits,
            pseudo_label_weight=self.pseudo_label_weight,
            distance_weight=self.distance_weight,
            weight_penalty=self.weight_penalty,
        )

    # Fit ------------------------------------------------------------------
    def _fit_reference(self, X, rng):
        if self.reference is None:
            from skhash.linear import ITQ

            ref = ITQ()
        else:
            ref = self.reference
        try:
            check_is_fitted(ref)
            fitted = True
        except NotFittedError:
            fitted = False
        if fitted:
            n_ref = getattr(ref, "n_bits_", getattr(ref, "n_bits", None))
            if n_ref != self.n_bits:
                raise ValueError(
                    f"The fitted reference has {n_ref} bits but n_bits="
                    f"{self.n_bits}: the reference's codes are LDPH's targets."
                )
            return ref
        ref = clone(ref)
        params = ref.get_params(deep=False)
        if "n_bits" in params:
            ref.set_params(n_bits=self.n_bits)
        if "random_state" in params and params["random_state"] is None:
            ref.set_params(random_state=int(rng.randint(2**31 - 1)))
        return ref.fit(X)

    def _preprocess(self, X):
        Z = np.asarray(X, dtype=np.float64) - self.mean_
        if self.components_ is not None:
            Z = Z @ self.components_
        return ((Z - self.scale_mean_) / self.scale_std_).astype(np.float32)

    def _codes01(self, Z):
        return (super()._project(Z) >= 0).astype(np.float32)

    def _fit(self, X, y):
        if self.pca and self.n_bits > X.shape[1]:
            raise ValueError(
                f"LDPH with pca=True needs n_bits <= n_features, got n_bits="
                f"{self.n_bits} with n_features = {X.shape[1]}."
            )
        if self.hidden_layer_sizes is not None:
            self._check_network_params(X.shape[1])
        self._check_head_memory(X.shape[1])
        rng = check_random_state(self.random_state)
        X64 = np.asarray(X, dtype=np.float64)
        n = X64.shape[0]
        L = int(self.n_bits)

        warm_net = self._warm_net(X.shape[1])
        if warm_net is None:
            self.reference_ = self._fit_reference(X, rng)
            U = _bits.unpack(self.reference_.transform(X), L).astype(np.float32)
            self.mean_ = X64.mean(axis=0)
            self.components_ = None
            if self.pca:
                self.components_, _ = principal_directions(X64 - self.mean_, L)
            Z = X64 - self.mean_
            if self.components_ is not None:
                Z = Z @ self.components_
            self.scale_mean_ = Z.mean(axis=0)
            std = Z.std(axis=0)
            self.scale_std_ = np.where(std > 0, std, 1.0)
        # else: a warm start keeps the reference, the PCA and the scaling
        # that the network was trained with.
        Z = self._preprocess(X64)

        P = int(self.pairs_per_sample) * n
        check_memory(
            self,
            P * (36 + 8 * Z.shape[1]),
            f"{P} training pairs (pairs_per_sample={self.pairs_per_sample} x "
            f"{n} samples) with their distances",
        )
        pi = rng.randint(n, size=P)
        pj = rng.randint(n, size=P)
        d_e = np.sqrt(((Z[pi] - Z[pj]).astype(np.float64) ** 2).sum(axis=1))
        seed = int(rng.randint(2**31 - 1))
        device, cuda_devices = self._torch_devices()

        params = dict(
            module=None,
            criterion=None,
            optimizer=self.optimizer,
            lr=self.lr,
            max_epochs=self.max_epochs,
            batch_size=self.batch_size,
            train_split=None,
            callbacks=copy.deepcopy(list(self.callbacks or []))
            + [self._divergence_check()],
            verbose=max(int(self.verbose) - 1, 0),
            device=self.device,
            iterator_train__batch_size=None,
            iterator_train__shuffle=False,
        )
        if self.optimizer is torch.optim.SGD:
            params["optimizer__momentum"] = 0.5
        params.update(self.net_params or {})
        self._check_monitored(params)
        Zt = torch.from_numpy(Z)
        de_t = torch.from_numpy(d_e.astype(np.float32))
        bs = int(self.batch_size)

        def pretrain_batch(idx):
            return Zt[idx], torch.from_numpy(U[idx])

        fits = []
        with (
            torch.random.fork_rng(devices=cuda_devices),
            contextlib.ExitStack() as threads,
        ):
            torch.default_generator.manual_seed(seed)
            if cuda_devices:
                with torch.cuda.device(cuda_devices[0]):
                    torch.cuda.manual_seed(seed)
            module = (
                self._build_module(Z.shape[1]) if warm_net is None else warm_net.module_
            )
            # Batches of pairs: 2 * batch_size rows through the network.
            work = self._batch_work(module, 2 * bs)
            threads.enter_context(limit_torch_threads(work, self.device))
            if warm_net is None:
                params["module"] = module
                params["criterion"] = self._build_criterion()
                net = self._net_class(**params)
                self.net_ = net
                net.fit(_BatchDataset(n, bs, pretrain_batch, seed + 1), None)
                # Round 1 regresses and targets the reference's codes (as the
                # authors' code); later rounds the network's own codes.
                codes = U
            else:
                # No pre-training: more rounds from the network's own codes.
                net = warm_net
                codes = self._codes01(Z)
            for t in range(self.n_rounds):
                d_h = np.abs(codes[pi] - codes[pj]).sum(axis=1)
                a, c, r = _affine_fit(d_e, d_h)
                fits.append((a, c, r))
                if self.verbose > 0:
                    print(
                        f"LDPH round {t + 1}/{self.n_rounds}: d_H ~ {a:.4g} d_E "
                        f"+ {c:.4g} (correlation {r:.4f})"
                    )
                crit = net.criterion_
                crit.slope, crit.intercept, crit.orthogonality = a, c, True
                Ut = torch.from_numpy(codes)

                def pair_batch(idx, Ut=Ut):
                    i, j = pi[idx], pj[idx]
                    target = torch.cat([Ut[i], Ut[j], de_t[idx, None]], dim=1)
                    return {"x": Zt[i], "x_pair": Zt[j]}, target

                ds = _BatchDataset(P, bs, pair_batch, seed + 2 + t)
                net.partial_fit(ds, None, epochs=self.epochs_per_round)
                codes = self._codes01(Z)
        codes = self._codes01(Z)
        d_h = np.abs(codes[pi] - codes[pj]).sum(axis=1)
        fits.append(_affine_fit(d_e, d_h))
        self.affine_fits_ = fits
        self.slope_, self.intercept_ = fits[-1][:2]
        self.bit_balance_ = codes.mean(axis=0)
        self._warm_key = self._warm_start_key(X.shape[1])
        return self

    def _project(self, X):
        return super()._project(self._preprocess(X))


def _affine_fit(d_e, d_h):
    """Least squares ``d_h ~ a d_e + c``; returns ``(a, c, pearson r)``."""
    A = np.column_stack([d_e, np.ones_like(d_e)])
    (a, c), *_ = np.linalg.lstsq(A, d_h, rcond=None)
    sd_e, sd_h = d_e.std(), d_h.std()
    r = float(np.corrcoef(d_e, d_h)[0, 1]) if sd_e > 0 and sd_h > 0 else 0.0
    return float(a), float(c), r
