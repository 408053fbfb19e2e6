"""Shared pieces of UH-BDNN and SH-BDNN (Do, Doan, Cheung, ECCV 2016).

Layer sizes, the [0, 1] rescaling, the ITQ and eigenvector initialisations,
the full-batch L-BFGS (W, c)-step (torch autograd; ``torch.optim.LBFGS`` or
SciPy's L-BFGS-B), validation mAP for early stopping, and ``_BaseBDNN``, the
alternating fit loop both estimators share. Samples are rows.
"""

import time
from numbers import Real

import numpy as np
import scipy.sparse
import torch
from scipy.optimize import minimize
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Interval, StrOptions

from skhash._blas import limit_blas_threads
from skhash._kernels import bits as _bits
from skhash._kernels.hamming import hamming_codes
from skhash._kernels.itq import itq_rotation, random_rotation
from skhash._kernels.pca import principal_directions
from skhash._kernels.ranking import average_precision_stable
from skhash._validation import IntInterval, check_float32_range
from skhash.base import BaseHasher
from skhash.deep._device import check_device
from skhash.deep._threads import limit_torch_threads, torch_threads
from skhash.linear._validation import check_n_bits_le_features

#: Hidden layer sizes (h1, h2) of the official demos, by code length.
HIDDEN_SIZES = {8: (90, 20), 16: (90, 30), 24: (100, 40), 32: (120, 50)}


def default_hidden_sizes(n_bits):
    """Hidden layer sizes ``(h1, h2)`` for a code length.

    The official table for 8/16/24/32 bits (:data:`HIDDEN_SIZES`). Other
    lengths: linear interpolation between the table's rows, rounded to the
    nearest integer; below 8 bits the 8-bit row; above 32 bits linear
    extrapolation with the slope of the 24-32 segment (h1 + 2.5 and h2 + 1.25
    per bit, so 64 bits -> (200, 90)), which keeps ``h1 >= h2 >= n_bits``.
    """
    L = int(n_bits)
    keys = sorted(HIDDEN_SIZES)
    if L in HIDDEN_SIZES:
        return HIDDEN_SIZES[L]
    if L < keys[0]:
        return HIDDEN_SIZES[keys[0]]
    xs = np.array(keys, dtype=float)
    h1 = np.array([HIDDEN_SIZES[k][0] for k in keys], dtype=float)
    h2 = np.array([HIDDEN_SIZES[k][1] for k in keys], dtype=float)
    if L > keys[-1]:
        s1 = (h1[-1] - h1[-2]) / (xs[-1] - xs[-2])
        s2 = (h2[-1] - h2[-2]) / (xs[-1] - xs[-2])
        a, b = h1[-1] + s1 * (L - xs[-1]), h2[-1] + s2 * (L - xs[-1])
    else:
        a, b = np.interp(L, xs, h1), np.interp(L, xs, h2)
    return int(np.floor(a + 0.5)), int(np.floor(b + 0.5))


def itq_signs(X, n_bits, rng, max_iter=50):
    """-1/+1 ITQ codes of the training data (centred, PCA, rotation)."""
    Xc = X - X.mean(axis=0)
    W, _ = principal_directions(Xc, n_bits)
    V = Xc @ W
    with limit_blas_threads(V.shape[0] * n_bits**2):
        R, _ = itq_rotation(V, random_rotation(n_bits, rng), max_iter)
    return np.where(V @ R >= 0, 1.0, -1.0)


def eigen_rows(A, k, rng):
    """Top-``k`` eigenvectors (rows) of the uncentred second moment ``A^T A / m``.

    Columns beyond the input width (``k > A.shape[1]``) cannot be eigenvectors:
    those rows are Gaussian with standard deviation ``1/sqrt(width)``. Signs:
    each eigenvector's largest entry is positive.
    """
    m, d = A.shape
    evals, evecs = np.linalg.eigh(A.T @ A / m)
    order = np.argsort(evals)[::-1][: min(k, d)]
    V = evecs[:, order]
    idx = np.argmax(np.abs(V), axis=0)
    sgn = np.sign(V[idx, np.arange(V.shape[1])])
    sgn[sgn == 0] = 1
    rows = (V * sgn).T
    if k > d:
        rows = np.vstack([rows, rng.standard_normal((k - d, d)) / np.sqrt(d)])
    return rows


def sigmoid(z):
    out = np.empty_like(z)
    pos = z >= 0
    out[pos] = 1.0 / (1.0 + np.exp(-z[pos]))
    ez = np.exp(z[~pos])
    out[~pos] = ez / (1.0 + ez)
    return out


def encode_numpy(X, coefs, intercepts):
    """Forward pass to the code layer: two sigmoid layers, identity output."""
    a = X
    for i, (W, c) in enumerate(zip(coefs, intercepts, strict=True)):
        a = a @ W + c
        if i < len(coefs) - 1:
            a = sigmoid(a)
    return a


def encode_torch(X, params):
    """``params = [W1, c1, W2, c2, W3, c3]`` with ``W_l`` of shape (out, in).

    Plain autograd reference of :class:`_Encoder` (same function).
    """
    W1, c1, W2, c2, W3, c3 = params
    a1 = torch.sigmoid(X @ W1.T + c1)
    a2 = torch.sigmoid(a1 @ W2.T + c2)
    return a2 @ W3.T + c3


#: Inputs at most this dense (fraction of non-zeros) use the sparse product
#: on CPU in :class:`_Encoder`. SciPy's sparse product runs on one thread at a
#: fraction of BLAS's speed: on an idle 2-core machine, raw MNIST pixels
#: (density 0.19) took 0.495 s per evaluation sparse vs 0.400 s dense on one
#: thread and 0.454 s vs 0.304 s on two (``bench_bdnn_mnist.py
#: --time-evaluation``), so only much sparser inputs take that path.
SPARSE_DENSITY = 0.05


class _Encoder(torch.autograd.Function):
    """The encoder of :func:`encode_torch` with a hand-written backward.

    Same function and gradient as autograd through :func:`encode_torch`; it
    saves only the two hidden activations, updates in place, never computes a
    gradient for the (constant) input and, when ``X_sparse`` (a SciPy CSR copy
    of ``X``) is given, forms the two ``m x D`` products, which dominate the
    cost, from the sparse matrix.
    """

    @staticmethod
    def forward(ctx, X, W1, c1, W2, c2, W3, c3, X_sparse):
        if X_sparse is None:
            a1 = torch.addmm(c1, X, W1.T)
        else:
            a1 = torch.from_numpy(X_sparse @ W1.detach().numpy().T).add_(c1)
        a1.sigmoid_()
        a2 = torch.addmm(c2, a1, W2.T).sigmoid_()
        ctx.save_for_backward(X, W2, W3, a1, a2)
        ctx.X_sparse = X_sparse
        return torch.addmm(c3, a2, W3.T)

    @staticmethod
    def backward(ctx, dH):
        X, W2, W3, a1, a2 = ctx.saved_tensors
        dH = dH.contiguous()
        dW3, dc3 = dH.T @ a2, dH.sum(0)
        d2 = dH @ W3
        d2.mul_(a2).mul_(1 - a2)
        dW2, dc2 = d2.T @ a1, d2.sum(0)
        d1 = d2 @ W2
        d1.mul_(a1).mul_(1 - a1)
        if ctx.X_sparse is None:
            dW1 = d1.T @ X
        else:
            # X^T d1 through the CSR's transpose (CSC): cache-friendly
            XtD = ctx.X_sparse.T @ d1.numpy()
            dW1 = torch.from_numpy(np.ascontiguousarray(XtD.T))
        return None, dW1, d1.sum(0), dW2, dc2, dW3, dc3, None


def encode_fast(X, params, X_sparse=None):
    """:func:`encode_torch` through :class:`_Encoder` (``X`` is constant)."""
    return _Encoder.apply(X, *params, X_sparse)


def sparse_copy(X, device):
    """A SciPy CSR copy of the float32/64 numpy ``X`` when sparse enough on CPU."""
    if torch.device(device).type != "cpu" or X.size == 0:
        return None
    if np.count_nonzero(X) > SPARSE_DENSITY * X.size:
        return None
    return scipy.sparse.csr_matrix(X)


def lbfgs(closure_loss, params, max_iter, solver):
    """Minimise ``closure_loss()`` (a scalar tensor of ``params``), full batch.

    ``solver="lbfgs-torch"``: ``torch.optim.LBFGS`` with a strong-Wolfe line
    search and 100 corrections. ``"lbfgs-scipy"``: SciPy's L-BFGS-B on the
    flattened parameters (float64), fed by autograd gradients. Both stop after
    ``max_iter`` iterations or on their default tolerances. Returns the number
    of objective evaluations. ``params`` are updated in place.
    """
    if max_iter <= 0:
        return 0
    if solver == "lbfgs-torch":
        opt = torch.optim.LBFGS(
            params,
            lr=1,
            max_iter=max_iter,
            max_eval=int(max_iter * 1.25) + 25,
            history_size=100,
            tolerance_grad=1e-7,
            tolerance_change=1e-12,
            line_search_fn="strong_wolfe",
        )

        threads = torch.get_num_threads()

        def closure():
            with torch_threads(threads):
                opt.zero_grad()
                loss = closure_loss()
                loss.backward()
            return loss

        # The two-loop recursion and the line search are hundreds of
        # operations on vectors of the size of the parameters per iteration:
        # one thread; the evaluations keep the threads of the caller.
        with torch_threads(1):
            opt.step(closure)
        return int(opt.state[opt._params[0]]["func_evals"])

    shapes = [p.shape for p in params]
    sizes = [p.numel() for p in params]

    def set_params(theta):
        t = torch.from_numpy(theta)
        with torch.no_grad():
            for p, chunk, shape in zip(
                params, torch.split(t, sizes), shapes, strict=True
            ):
                p.copy_(chunk.view(shape))

    def fun(theta):
        set_params(theta)
        for p in params:
            p.grad = None
        loss = closure_loss()
        loss.backward()
        g = torch.cat([p.grad.reshape(-1) for p in params])
        return float(loss.detach()), g.detach().cpu().double().numpy()

    theta0 = torch.cat([p.detach().reshape(-1) for p in params]).cpu().double()
    res = minimize(
        fun,
        theta0.numpy(),
        jac=True,
        method="L-BFGS-B",
        options={"maxiter": int(max_iter), "maxcor": 100},
    )
    set_params(res.x)
    return int(res.nfev)


def ranking_map(dist, relevant_mask, n_relevant):
    """BDNN (trapezoid) mAP of stable Hamming rankings; ``dist`` (q, n)."""
    order = np.argsort(dist, axis=1, kind="stable")
    rel = np.take_along_axis(relevant_mask, order, axis=1)
    ap = average_precision_stable(
        rel, n_relevant, rel.shape[1], interpolation="trapezoid"
    )
    return ap


class _BaseBDNN(BaseHasher):
    """Alternating optimisation shared by UHBDNN and SHBDNN.

    Subclasses provide ``_prepare`` (preprocessing, split, validation data),
    ``_wc_objective`` (the encoder part of J for L-BFGS), ``_closed_form``
    (exact blocks of the (W, c)-step), ``_b_step``, ``_objective`` (full J)
    and ``_validation_map``.
    """

    _parameter_constraints: dict = {
        **BaseHasher._parameter_constraints,
        "hidden_layer_sizes": ["array-like", None],
        "weight_decay": [Interval(Real, 0, None, closed="left")],
        "equality_weight": [Interval(Real, 0, None, closed="left")],
        "independence_weight": [Interval(Real, 0, None, closed="left")],
        "balance_weight": [Interval(Real, 0, None, closed="left")],
        "max_iter": [IntInterval(0, None, closed="left")],
        "lbfgs_max_iter": [IntInterval(0, None, closed="left")],
        "solver": [StrOptions({"lbfgs-torch", "lbfgs-scipy"})],
        "early_stopping": ["boolean"],
        "n_iter_no_change": [IntInterval(1, None, closed="left")],
        "itq_max_iter": [IntInterval(0, None, closed="left")],
        "device": [str],
        "dtype": [StrOptions({"float32", "float64"})],
        "verbose": ["verbose"],
    }

    def _hidden_sizes(self, n_features):
        if self.hidden_layer_sizes is None:
            return default_hidden_sizes(self.n_bits)
        sizes = tuple(int(h) for h in np.ravel(self.hidden_layer_sizes))
        if len(sizes) != 2 or min(sizes) < 1:
            raise ValueError(
                "hidden_layer_sizes must be None or two positive ints (h1, h2), "
                f"got {self.hidden_layer_sizes!r}."
            )
        return sizes

    def _torch_dtype(self):
        return torch.float32 if self.dtype == "float32" else torch.float64

    def _init_encoder(self, Xs, rng, h1, h2):
        """Layer-wise eigenvector initialisation of W1..W3, zero biases."""
        W1 = eigen_rows(Xs, h1, rng)
        a1 = sigmoid(Xs @ W1.T)
        W2 = eigen_rows(a1, h2, rng)
        a2 = sigmoid(a1 @ W2.T)
        W3 = eigen_rows(a2, self.n_bits, rng)
        return [W1, np.zeros(h1), W2, np.zeros(h2), W3, np.zeros(self.n_bits)]

    def _log(self, msg):
        if self.verbose:
            print(f"[{type(self).__name__}] {msg}", flush=True)

    def _fit(self, X, y):
        check_n_bits_le_features(self, X.shape[1])
        h1, h2 = self._hidden_sizes(X.shape[1])
        D, L = X.shape[1], int(self.n_bits)
        # the largest product of one evaluation: the data times W1
        work = X.shape[0] * max(D * h1, h1 * h2, h2 * L)
        with limit_torch_threads(work, check_device(self.device)):
            self._fit_alternations(X, y)

    def _fit_alternations(self, X, y):
        if self.dtype == "float32":
            check_float32_range(self, X)
        rng = check_random_state(self.random_state)
        dev, tdt = check_device(self.device), self._torch_dtype()
        ctx = self._prepare(np.asarray(X, dtype=np.float64), y, rng)
        Xs = ctx["X"]
        h1, h2 = self._hidden_sizes(Xs.shape[1])
        t0 = time.perf_counter()
        B = itq_signs(Xs, self.n_bits, rng, self.itq_max_iter)
        init = self._init_encoder(Xs, rng, h1, h2)
        Xt = torch.as_tensor(Xs, dtype=tdt, device=dev)
        params = [
            torch.tensor(p, dtype=tdt, device=dev, requires_grad=True) for p in init
        ]
        ctx["Xt"] = Xt
        self._init_extra(ctx, params, tdt, dev)

        X_sparse = sparse_copy(Xt.numpy(), dev) if dev.type == "cpu" else None

        def relaxed():
            # loss terms in float64: the similarity value cancels terms ~ m^2
            return encode_fast(Xt, params, X_sparse).double()

        def run_wc_step(Bt):
            self._closed_form(ctx, Bt)
            return lbfgs(
                lambda: self._wc_objective(ctx, relaxed(), Bt, params),
                params,
                self.lbfgs_max_iter,
                self.solver,
            )

        def objective(Bt):
            with torch.no_grad():
                return float(self._objective(ctx, relaxed(), Bt, params))

        Bt = torch.as_tensor(B, dtype=torch.float64, device=dev)
        n_evals = run_wc_step(Bt)
        losses = [objective(Bt)]
        scores = []
        best = None
        validate = self.early_stopping and ctx.get("validation") is not None
        if validate:
            scores.append(self._validation_map(ctx, self._snapshot(params, ctx)))
            best = (scores[-1], self._snapshot(params, ctx), 0)
        self._log(
            f"pre-training: objective {losses[-1]:.6g}, {n_evals} evaluations"
            + (f", validation mAP {scores[-1]:.4f}" if validate else "")
            + f" ({time.perf_counter() - t0:.1f} s)"
        )
        n_iter, no_change = 0, 0
        for it in range(1, self.max_iter + 1):
            with torch.no_grad():
                H = relaxed()
            Bt = self._b_step(ctx, H, Bt, params)
            n_evals = run_wc_step(Bt)
            losses.append(objective(Bt))
            n_iter = it
            msg = f"alternation {it}/{self.max_iter}: objective {losses[-1]:.6g}"
            msg += f", {n_evals} evaluations"
            if validate:
                scores.append(self._validation_map(ctx, self._snapshot(params, ctx)))
                msg += f", validation mAP {scores[-1]:.4f}"
            self._log(msg + f" ({time.perf_counter() - t0:.1f} s)")
            if validate:
                if scores[-1] > best[0]:
                    best, no_change = (scores[-1], self._snapshot(params, ctx), it), 0
                else:
                    no_change += 1
                    if no_change >= self.n_iter_no_change:
                        self._log(f"early stop: best alternation {best[2]}")
                        break
        snap = best[1] if validate else self._snapshot(params, ctx)
        self.coefs_, self.intercepts_ = snap["coefs"], snap["intercepts"]
        self._set_extra(snap)
        self.hidden_layer_sizes_ = (h1, h2)
        self.loss_curve_ = losses
        self.validation_scores_ = scores
        self.best_iteration_ = best[2] if validate else n_iter
        self.n_iter_ = n_iter
        self.bit_balance_ = (
            self._project(Xs.astype(self.coefs_[0].dtype, copy=False)) >= 0
        ).mean(axis=0)
        self.fit_time_ = time.perf_counter() - t0

    def _snapshot(self, params, ctx):
        ps = [p.detach().cpu().numpy().copy() for p in params]
        return {"coefs": [ps[0].T, ps[2].T, ps[4].T], "intercepts": ps[1::2]}

    def _init_extra(self, ctx, params, tdt, dev):
        pass

    def _set_extra(self, snap):
        pass

    def _preprocess(self, X):
        return X

    def _project(self, X):
        if self.coefs_[0].dtype == np.float32:
            check_float32_range(self, X)
        Xs = self._preprocess(np.asarray(X, dtype=self.coefs_[0].dtype))
        return encode_numpy(Xs, self.coefs_, self.intercepts_)

    def _codes(self, snap, X):
        return _bits.real_to_codes(encode_numpy(X, snap["coefs"], snap["intercepts"]))


def hamming_map(codes_q, codes_db, relevant_mask, n_relevant, chunk=256):
    """Mean BDNN (trapezoid) AP of the stable Hamming ranking of ``codes_db``.

    ``relevant_mask(rows)`` returns the bool relevance ``(len(rows), n_db)``
    of the database for queries ``rows``; ``n_relevant`` is ``R`` per query.
    """
    aps = []
    for start in range(0, codes_q.shape[0], chunk):
        rows = np.arange(start, min(start + chunk, codes_q.shape[0]))
        D = hamming_codes(codes_q[rows], codes_db)
        aps.append(ranking_map(D, relevant_mask(rows), n_relevant[rows]))
    return float(np.concatenate(aps).mean()) if aps else 0.0
