"""Deep Quantization Network."""

from numbers import Real

import numpy as np
import torch
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Interval
from skorch.callbacks import Callback
from torch import nn

from skhash._kernels import pq as _pq
from skhash._validation import IntInterval
from skhash.deep._base import BaseDeepQuantizer, fill_doc
from skhash.deep._criteria import DQNLoss

__all__ = ["DQN"]


class _DQNNetwork(nn.Module):
    """Backbone + tanh bottleneck of ``R`` units; forward returns ``(z, idx)``."""

    def __init__(self, network):
        super().__init__()
        self.network = network

    def forward(self, x, idx=None):
        return self.network(x), idx

    def representation(self, x):
        return self.network(x)


class _BottleneckHead(nn.Module):
    def __init__(self, in_features, width):
        super().__init__()
        self.linear = nn.Linear(in_features, width)

    def relaxed(self, features):
        return torch.tanh(self.linear(features))

    decision = relaxed


class CodebookRefresh(Callback):
    """Every ``every`` epochs: k-means per subspace on the current bottleneck
    outputs of the whole training set (codebooks ``C``) and nearest-codeword
    assignment (codes ``h``); the quantization weight is switched on after the
    first refresh (DQN's schedule)."""

    def __init__(self, owner_params, every=2):
        self.owner_params = owner_params
        self.every = every

    def on_train_begin(self, net, **kwargs):
        # Epochs are counted from the start of this training (a warm start
        # continues a history).
        self._first_epoch = len(net.history)

    def on_epoch_end(self, net, dataset_train=None, **kwargs):
        epoch = len(net.history) - getattr(self, "_first_epoch", 0)
        if epoch % self.every == 0 and epoch < net.max_epochs:
            # With a validation split the training set is a Subset: codebooks
            # are learned on its rows, codes assigned to every sample (the
            # loss indexes them by sample index, validation included).
            rows = None
            if isinstance(dataset_train, torch.utils.data.Subset):
                rows = np.asarray(dataset_train.indices)
                dataset_train = dataset_train.dataset
            refresh(net, dataset_train.X, self.owner_params, rows)
            net.criterion_.quantization_weight = self.owner_params["weight"]


def _representation(net, x, batch_size):
    module = net.module_
    was = module.training
    module.eval()
    device = next(module.parameters()).device
    out = []
    with torch.no_grad():
        for s in range(0, len(x), batch_size):
            xb = torch.as_tensor(x[s : s + batch_size]).to(device)
            out.append(module.representation(xb).cpu().numpy())
    module.train(was)
    return np.concatenate(out).astype(np.float64)


def refresh(net, X, params, rows=None):
    """Codebook and code step of the alternation; returns the codebooks.

    The codebooks are learned on ``rows`` of ``X`` (all of them when None);
    every row gets its nearest codewords as targets.
    """
    Z = _representation(net, X["x"], 1024)
    codebooks, codes, dist = _pq.train_pq(
        Z if rows is None else Z[rows],
        params["bounds"],
        params["n_clusters"],
        params["kmeans_iter"],
        params["rng"],
        init=params.get("codebooks"),
    )
    if rows is not None:
        codes = _pq.encode(Z, codebooks, params["bounds"])
    params["codebooks"] = codebooks
    params["inertia"] = dist
    rec = _pq.decode(codes, codebooks, params["bounds"], np.float32)
    net.criterion_.targets = torch.from_numpy(rec)
    return codebooks


@fill_doc
class DQN(BaseDeepQuantizer):
    """Deep Quantization Network (DQN).

    A network with a tanh bottleneck of ``bottleneck`` (R) units is trained on
    all pairs of each mini-batch with a pairwise cosine loss (the cosine of
    two outputs should be +1 for pairs sharing a label, -1 otherwise) plus
    ``quantization_weight`` (lambda) times the product-quantization loss
    ``||z_i - C h_i||^2`` with a block-diagonal codebook ``C`` (one
    sub-codebook of ``n_clusters`` codewords per block of ``R / n_subspaces``
    outputs), :func:`dqn_loss`. The optimisation alternates as in the authors'
    code: network steps with ``C`` and the codes ``h`` fixed; every
    ``refresh_every`` epochs, k-means per subspace on the bottleneck outputs of
    the whole training set (codebooks) and nearest-codeword assignment (codes,
    exact for a block-diagonal ``C``); lambda is 0 until the first refresh.
    A final refresh after training gives the codebooks used for encoding.

    ``transform`` returns one codeword index per subspace (uint8,
    ``(n_samples, n_subspaces)``); ``distance_tables`` gives the asymmetric
    quantizer distance (AQD) tables of queries' bottleneck outputs, searched
    by :class:`~skhash.quantization.QuantizedNeighbors`.

    Parameters
    ----------
    n_bits : int, default=32
        Code length, ``n_subspaces * log2(n_clusters)`` (32 bits = 4 subspaces
        of 256 codewords, the paper's M = 4, K = 256).
    n_clusters : int, default=256
        Codewords per subspace (K), a power of two <= 256.
    bottleneck : int, default=300
        Width R of the tanh bottleneck (the authors' code value).
    quantization_weight : float, default=1e-4
        lambda, switched on after the first codebook refresh.
    refresh_every : int, default=2
        Epochs between codebook/code refreshes.
    kmeans_iter : int, default=10
        Lloyd iterations per refresh (warm-started from the previous
        codebooks).
    {network_params}
    {training_params}

    Attributes
    ----------
    codebooks_ : list of ndarray of shape (n_clusters, d_m)
        Sub-codebooks in the bottleneck space.
    subspace_bounds_ : ndarray of shape (n_subspaces + 1,)
        Offsets of the subspaces in the bottleneck.
    inertia_ : float
        Quantization loss of the training set after the final refresh.
    n_clusters_ : int
        Codewords per subspace.
    n_subspaces_ : int
        Number of subspaces.
    {attributes}

    See Also
    --------
    skhash.quantization.PQ : Product quantization of the input vectors.
    skhash.quantization.QuantizedNeighbors : The AQD search.

    Notes
    -----
    The authors fine-tune AlexNet with SGD (lr 0.005, momentum 0.9, batch 64);
    skhash defaults to Adam on the chosen backbone, like its other deep
    hashers. The authors' code re-runs mini-batch k-means from scratch at each
    refresh and runs 3 ICM sweeps for the codes; here k-means is warm-started
    and the assignment is the exact nearest codeword (what ICM converges to
    for a block-diagonal codebook). The authors rank by the inner product
    ``<z_q, C h_i>``; the paper's AQD (squared distance) is used here.

    References
    ----------
    Y. Cao, M. Long, J. Wang, H. Zhu, Q. Wen, "Deep Quantization Network for
    Efficient Image Retrieval", AAAI 2016.

    Examples
    --------
    >>> import numpy as np
    >>> from skhash.deep import DQN
    >>> rng = np.random.default_rng(0)
    >>> X, y = rng.normal(size=(60, 10)), rng.integers(0, 3, 60)
    >>> dqn = DQN(n_bits=8, n_clusters=16, bottleneck=12, hidden_layer_sizes=(16,),
    ...           max_epochs=3, random_state=0).fit(X, y)
    >>> dqn.transform(X[:5]).shape, dqn.distance_tables(X[:5]).shape
    ((5, 2), (5, 2, 16))
    """

    _parameter_constraints: dict = {
        **BaseDeepQuantizer._parameter_constraints,
        "bottleneck": [IntInterval(1, None, closed="left")],
        "quantization_weight": [Interval(Real, 0, None, closed="left")],
        "refresh_every": [IntInterval(1, None, closed="left")],
        "kmeans_iter": [IntInterval(0, None, closed="left")],
    }

    def __init__(
        self,
        n_bits=32,
        *,
        n_clusters=256,
        bottleneck=300,
        quantization_weight=1e-4,
        refresh_every=2,
        kmeans_iter=10,
        backbone=None,
        hidden_layer_sizes=(256,),
        input_shape=None,
        max_epochs=20,
        lr=1e-3,
        batch_size=64,
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
        self.n_clusters = n_clusters
        self.bottleneck = bottleneck
        self.quantization_weight = quantization_weight
        self.refresh_every = refresh_every
        self.kmeans_iter = kmeans_iter
        self.backbone = backbone
        self.hidden_layer_sizes = hidden_layer_sizes
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

    # SkorchNetMixin extension points ---------------------------------------
    _head_outputs_param = "bottleneck"

    def _n_head_outputs(self):
        return int(self.bottleneck)

    def _build_head(self, in_features):
        return _BottleneckHead(in_features, self.bottleneck)

    def _build_module(self, n_features):
        return _DQNNetwork(super()._build_module(n_features))

    def _build_criterion(self):
        return DQNLoss()

    def _build_callbacks(self):
        return [
            ("codebook_refresh", CodebookRefresh(self._refresh, self.refresh_every))
        ]

    def _make_dataset(self, X, y):
        return {"x": X, "idx": np.arange(len(X))}, y

    def _decision_batch(self, module, xb):
        return module.representation(xb)

    # Fit ------------------------------------------------------------------
    def _fit(self, X, y):
        M = self._n_subspaces(self.bottleneck, what="bottleneck")
        rng = check_random_state(self.random_state)
        self._refresh = {
            "bounds": _pq.subspace_bounds(self.bottleneck, M),
            "n_clusters": self.n_clusters,
            "kmeans_iter": self.kmeans_iter,
            "rng": np.random.RandomState(rng.randint(2**31 - 1)),
            "weight": self.quantization_weight,
        }
        X32 = np.ascontiguousarray(X, dtype=np.float32)
        net = self._warm_net(X.shape[1])
        if net is not None:
            # Continue the alternation: codebooks from the previous fit, codes
            # (the quantization targets) of the new data, refreshed by the
            # callback of the previous fit.
            self._refresh["codebooks"] = [
                np.asarray(c, dtype=np.float64) for c in self.codebooks_
            ]
            refresh(net, {"x": X32}, self._refresh)
            net.criterion_.quantization_weight = self._refresh["weight"]
            dict(net.callbacks_)["codebook_refresh"].owner_params = self._refresh
        super()._fit(X, y)
        refresh(self.net_, {"x": X32}, self._refresh)
        params = self._refresh
        del self._refresh
        self.net_.criterion_.targets = None  # do not keep (n_train, R) around
        self.codebooks_ = [c.astype(np.float32) for c in params["codebooks"]]
        self.subspace_bounds_ = params["bounds"]
        self.inertia_ = params["inertia"]
        return self
