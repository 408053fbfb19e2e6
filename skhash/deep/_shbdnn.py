"""SH-BDNN: supervised hashing with a binary deep neural network."""

from numbers import Real

import numpy as np
import torch
from sklearn.utils._param_validation import Interval

from skhash._kernels.hamming import hamming_codes
from skhash._kernels.ranking import n_relevant, relevance
from skhash._validation import IntInterval
from skhash.deep._bdnn import _BaseBDNN, ranking_map
from skhash.deep.losses import shbdnn_loss
from skhash.linear._sdh import label_indicator


class SHBDNN(_BaseBDNN):
    """Supervised Hashing with a Binary Deep Neural Network (SH-BDNN).

    A four-layer network: input, two sigmoid hidden layers and an identity
    code layer ``H`` (``n_bits`` units). Training minimises the relaxed
    objective of :func:`skhash.deep.losses.shbdnn_loss` (weight decay,
    ``H = B``, bit independence, bit balance and similarity preservation
    ``||H H^T / L - S||^2`` with S = +1 for pairs that share a label, -1
    otherwise) by alternating a (W, c)-step (full-batch L-BFGS) and the
    closed-form B-step ``B = sign(H)`` (sign(0) = +1), after an ITQ
    initialisation of ``B``, a layer-wise eigenvector initialisation of the
    weights and a pre-training (W, c)-step. Early stopping uses the mAP of a
    held-out validation set ranked against the rest of the training set
    (label ground truth).

    The ``m x m`` matrix S is never formed: single-label ``y`` uses the exact
    factored form (``O(m L^2 + m L C)``), multi-label ``y`` sums over row
    blocks.

    Parameters
    ----------
    n_bits : int, default=32
        Code length ``L``; at most ``n_features`` (ITQ initialisation).
    hidden_layer_sizes : tuple of two ints, default=None
        ``(h1, h2)``; ``None``: the official table and rule, as
        :class:`UHBDNN`.
    weight_decay : float, default=1e-5
        lambda_1.
    equality_weight : float, default=5e-2
        lambda_2.
    independence_weight : float, default=1e-2
        lambda_3.
    balance_weight : float, default=5e-7
        lambda_4.
    similarity_weight : float, default=1e-2
        lambda_5, weight of the similarity term (the code suggests 1e-2 to
        5e-3).
    max_iter : int, default=20
        Maximum alternations after pre-training.
    lbfgs_max_iter : int, default=400
        L-BFGS iterations per (W, c)-step.
    solver : {"lbfgs-torch", "lbfgs-scipy"}, default="lbfgs-torch"
        Full-batch L-BFGS implementation.
    early_stopping : bool, default=True
        Hold out ``validation_fraction`` of the training samples and stop when
        their mAP has not improved for ``n_iter_no_change`` alternations,
        keeping the best network. Skipped when fewer than 2 samples would be
        held out or left for training.
    validation_fraction : float, default=0.1
        Fraction of the training samples held out for validation.
    n_iter_no_change : int, default=1
        Alternations without improvement before stopping.
    block_size : int, default=None
        Rows per block of the multi-label similarity term (``None``: about
        4 M entries of ``H H^T`` per block).
    itq_max_iter : int, default=50
        ITQ iterations of the initialisation.
    device : str, default="cpu"
        Torch device of the (W, c)-steps.
    dtype : {"float32", "float64"}, default="float32"
        Precision of the network (loss terms summed in float64).
    random_state : int, RandomState instance or None, default=None
        Seed of ITQ's rotation, the validation split and any random rows of
        the initialisation.
    verbose : int, default=0
        Print progress after pre-training and each alternation.

    Attributes
    ----------
    coefs_ : list of ndarray
        Encoder weights ``(n_features, h1)``, ``(h1, h2)``, ``(h2, n_bits)``.
    intercepts_ : list of ndarray
        Encoder biases.
    hidden_layer_sizes_ : tuple of int
        ``(h1, h2)`` used.
    loss_curve_ : list of float
        Objective J (on the training part) after pre-training and after each
        alternation.
    validation_scores_ : list of float
        Validation mAP (BDNN trapezoid AP, full ranking of the training part).
    best_iteration_ : int
        Alternation whose network was kept (0 = pre-training).
    n_iter_ : int
        Alternations run.
    bit_balance_ : ndarray of shape (n_bits,)
        Fraction of training samples whose bit is 1, per bit.
    fit_time_ : float
        Seconds spent in the optimisation.
    n_bits_ : int
        Code length.
    n_features_in_ : int
        Number of features seen in ``fit``.

    See Also
    --------
    skhash.deep.UHBDNN : The unsupervised variant.
    skhash.linear._sdh.SDH : The baseline of the paper's comparison.

    Notes
    -----
    The official demo feeds the features as given (no rescaling), and so does
    this estimator. ``similarity_weight`` follows the code, which weights the
    similarity term (the paper may write it without this weight).
    The official demo validates on 100 images per class taken outside its
    training subset; here a random ``validation_fraction`` of ``X`` is held
    out.

    References
    ----------
    T.-T. Do, A.-D. Doan, N.-M. Cheung, "Learning to Hash with Binary Deep
    Neural Network", ECCV 2016.

    Examples
    --------
    >>> import numpy as np
    >>> from skhash.deep import SHBDNN
    >>> rng = np.random.default_rng(0)
    >>> X, y = rng.random((200, 16)), rng.integers(0, 4, size=200)
    >>> hasher = SHBDNN(n_bits=8, hidden_layer_sizes=(12, 10), max_iter=2,
    ...                 lbfgs_max_iter=20, random_state=0).fit(X, y)
    >>> codes = hasher.transform(X[:5])
    >>> codes.shape, codes.dtype
    ((5, 1), dtype('uint8'))
    """

    _requires_y = True
    _parameter_constraints: dict = {
        **_BaseBDNN._parameter_constraints,
        "similarity_weight": [Interval(Real, 0, None, closed="left")],
        "validation_fraction": [Interval(Real, 0, 1, closed="neither")],
        "block_size": [IntInterval(1, None, closed="left"), None],
    }

    def __init__(
        self,
        n_bits=32,
        *,
        hidden_layer_sizes=None,
        weight_decay=1e-5,
        equality_weight=5e-2,
        independence_weight=1e-2,
        balance_weight=5e-7,
        similarity_weight=1e-2,
        max_iter=20,
        lbfgs_max_iter=400,
        solver="lbfgs-torch",
        early_stopping=True,
        validation_fraction=0.1,
        n_iter_no_change=1,
        block_size=None,
        itq_max_iter=50,
        device="cpu",
        dtype="float32",
        random_state=None,
        verbose=0,
    ):
        self.n_bits = n_bits
        self.hidden_layer_sizes = hidden_layer_sizes
        self.weight_decay = weight_decay
        self.equality_weight = equality_weight
        self.independence_weight = independence_weight
        self.balance_weight = balance_weight
        self.similarity_weight = similarity_weight
        self.max_iter = max_iter
        self.lbfgs_max_iter = lbfgs_max_iter
        self.solver = solver
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.n_iter_no_change = n_iter_no_change
        self.block_size = block_size
        self.itq_max_iter = itq_max_iter
        self.device = device
        self.dtype = dtype
        self.random_state = random_state
        self.verbose = verbose

    def _prepare(self, X, y, rng):
        Y, single = label_indicator(y)
        labels = Y.argmax(axis=1) if single else Y
        n = X.shape[0]
        n_val = int(round(self.validation_fraction * n))
        ctx = {"validation": None}
        if self.early_stopping and self.max_iter > 0 and 2 <= n_val <= n - 2:
            perm = rng.permutation(n)
            val, train = np.sort(perm[:n_val]), np.sort(perm[n_val:])
            ctx["validation"] = (X[val], labels[val], labels[train])
        else:
            train = np.arange(n)
        ctx["X"] = X[train]
        ctx["labels"] = labels[train]
        return ctx

    def _init_extra(self, ctx, params, tdt, dev):
        lab = ctx["labels"]
        dt = torch.long if lab.ndim == 1 else torch.float64
        ctx["labels_t"] = torch.as_tensor(lab, dtype=dt, device=dev)

    def _closed_form(self, ctx, Bt):
        pass

    def _objective(self, ctx, H, Bt, params):
        return shbdnn_loss(
            H,
            Bt,
            ctx["labels_t"],
            [p.double() for p in params[::2]],
            weight_decay=self.weight_decay,
            equality_weight=self.equality_weight,
            independence_weight=self.independence_weight,
            balance_weight=self.balance_weight,
            similarity_weight=self.similarity_weight,
            block_size=self.block_size,
        )

    _wc_objective = _objective

    def _b_step(self, ctx, H, Bt, params):
        return torch.where(H >= 0, 1.0, -1.0).to(torch.float64)

    def _validation_map(self, ctx, snap):
        Xv, yv, ytr = ctx["validation"]
        dt = snap["coefs"][0].dtype
        codes_db = self._codes(snap, ctx["X"].astype(dt))
        codes_q = self._codes(snap, Xv.astype(dt))
        aps = []
        R = n_relevant(yv, ytr)
        for start in range(0, len(yv), 256):
            rows = np.arange(start, min(start + 256, len(yv)))
            D = hamming_codes(codes_q[rows], codes_db)
            all_idx = np.broadcast_to(np.arange(len(ytr)), D.shape)
            mask = relevance(yv[rows], ytr, all_idx)
            aps.append(ranking_map(D, mask, R[rows]))
        return float(np.concatenate(aps).mean())
