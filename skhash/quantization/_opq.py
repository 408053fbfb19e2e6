"""Optimized product quantization."""

import copy

import numpy as np
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import StrOptions

from skhash._blas import limit_blas_threads
from skhash._kernels import pq as _pq
from skhash._kernels.pca import principal_directions
from skhash._validation import IntInterval
from skhash.base import BaseQuantizer
from skhash.quantization._pq import progress_printer


class OPQ(BaseQuantizer):
    """Optimized Product Quantization (OPQ).

    Product quantization of ``X R`` with an orthogonal rotation ``R`` learned to
    minimise the quantization distortion
    ``sum_i ||x_i R - decode(encode(x_i R))||^2`` (Ge, He, Ke and Sun). The
    rotation starts from the paper's *parametric* solution (the principal
    directions, distributed over the subspaces by eigenvalue allocation so
    that the products of the variances in the subspaces are balanced, optimal
    for Gaussian data) or from the identity (PQ's own split of the features),
    by default whichever of the two gives the lower distortion after the
    initial k-means (``init="auto"``). The *non-parametric* alternation then
    repeats ``max_iter`` times:
    (i) one k-means step of PQ on the rotated data, warm-started from the
    current codebooks, (ii) the rotation by orthogonal Procrustes between
    ``X`` and the current reconstructions. The codebooks are finally refined
    by k-means on the data under the final rotation.

    Parameters
    ----------
    n_bits : int, default=32
        Code length in bits, ``n_subspaces * log2(n_clusters)``.
    n_clusters : int, default=256
        Codewords per subspace, a power of two <= 256.
    max_iter : int, default=50
        Alternations of the non-parametric stage (faiss's ``OPQMatrix`` default
        is 50; 0 with ``init="eigenvalue_allocation"`` gives parametric OPQ,
        PQ after eigenvalue allocation; 0 with ``init="identity"`` is PQ).
    kmeans_iter : int, default=25
        Lloyd iterations of the initial and of the final k-means.
    init : {"auto", "eigenvalue_allocation", "identity"}, default="auto"
        Start of the alternation. ``"eigenvalue_allocation"``: the parametric
        solution, the paper's start. ``"identity"``: no rotation, PQ's own
        split of the features (nanopq's start; faiss starts from a random
        rotation). ``"auto"``: run the initial k-means from both and keep the
        start with the lower training distortion (one more k-means of
        ``kmeans_iter`` iterations; ``init_`` says which). The alternation
        does not leave the basin it starts in, and neither start is better
        everywhere: on Gaussian data the parametric start wins, as the paper
        argues; on image pixels and on GIST descriptors the identity wins
        (database distortion at 32 bits, ``benchmarks/bench_quantization.py
        --opq-inits``: MNIST 1,136,983 vs 943,643 from the identity, faiss
        OPQ 961,211; CIFAR-10 GIST-512 0.2776 vs 0.2640, faiss 0.2660), where
        principal directions spread each subspace over uncorrelated
        directions while k-means gains from correlated ones (neighbouring
        pixels). In every case measured the start with the lower initial
        distortion also ended lower. See ``doc/benchmarks_quantization.rst``.
    random_state : int, RandomState instance or None, default=None
        Seed of the k-means initialisation.
    verbose : int, default=0
        Print the distortion at each alternation when > 0.

    Attributes
    ----------
    rotation_ : ndarray of shape (n_features, n_features)
        Orthogonal ``R``; the quantizer works on ``X @ rotation_``.
    codebooks_ : list of ndarray of shape (n_clusters, d_m)
        The ``n_subspaces`` sub-codebooks (in the rotated space).
    subspace_bounds_ : ndarray of shape (n_subspaces + 1,)
        Offsets of the subspaces in the rotated space.
    distortion_curve_ : list of float
        Training distortion (squared error summed over the training vectors)
        before each rotation update, then after the final refinement.
    inertia_ : float
        Final training distortion.
    init_ : str
        The start used: ``"eigenvalue_allocation"`` or ``"identity"``.
    n_iter_ : int
        Number of alternations run.
    n_bits_ : int
        Code length.
    n_clusters_ : int
        Codewords per subspace.
    n_subspaces_ : int
        Number of subspaces.
    n_features_in_ : int
        Number of features seen in ``fit``.

    See Also
    --------
    PQ : Without the rotation.
    QuantizedNeighbors : Exact asymmetric-distance search over the codes.

    Notes
    -----
    The data are not centred for quantization (as in the paper and faiss); the
    principal directions of the parametric start come from the centred
    covariance. Eigenvalue allocation compares products of eigenvalues through
    sums of logarithms, shifted to be at least 1 as in the authors' code so
    that the allocation does not depend on the scale of the data, with
    eigenvalues floored at ``1e-12`` times the largest (zero-variance
    directions such as constant pixels would give ``log 0``).
    The number of k-means steps per alternation (one, warm-started) and the
    final refinement are our choices; the paper alternates the two steps
    without fixing them here. ``inverse_transform`` returns reconstructions in
    the input space (``Z @ rotation_.T``), and ``distance_tables`` are computed
    in the rotated space, which gives the same distances because ``R`` is
    orthogonal.

    References
    ----------
    T. Ge, K. He, Q. Ke, J. Sun, "Optimized product quantization for approximate
    nearest neighbor search", CVPR 2013; "Optimized product quantization",
    IEEE TPAMI 36(4), 2014.

    Examples
    --------
    >>> import numpy as np
    >>> from skhash.quantization import OPQ
    >>> X = np.random.default_rng(0).normal(size=(300, 16))
    >>> opq = OPQ(n_bits=8, n_clusters=16, max_iter=5, random_state=0).fit(X)
    >>> opq.transform(X[:5]).shape, opq.rotation_.shape
    ((5, 2), (16, 16))
    """

    _parameter_constraints: dict = {
        **BaseQuantizer._parameter_constraints,
        "max_iter": [IntInterval(0, None, closed="left")],
        "kmeans_iter": [IntInterval(0, None, closed="left")],
        "init": [StrOptions({"auto", "eigenvalue_allocation", "identity"})],
        "verbose": ["verbose"],
    }

    def __init__(
        self,
        n_bits=32,
        *,
        n_clusters=256,
        max_iter=50,
        kmeans_iter=25,
        init="auto",
        random_state=None,
        verbose=0,
    ):
        self.n_bits = n_bits
        self.n_clusters = n_clusters
        self.max_iter = max_iter
        self.kmeans_iter = kmeans_iter
        self.init = init
        self.random_state = random_state
        self.verbose = verbose

    def _fit(self, X, y):
        n, D = X.shape
        M = self._n_subspaces(D)
        K = self.n_clusters
        rng = check_random_state(self.random_state)
        bounds = _pq.subspace_bounds(D, M)
        # The largest products of one alternation: the Procrustes (D, n) x
        # (n, D) and the k-means distances (n, d_m) x (d_m, K).
        work = n * max(D * D, int(np.diff(bounds).max()) * K)
        with limit_blas_threads(work):
            self._alternate(X, M, K, rng, bounds)

    def _alternate(self, X, M, K, rng, bounds):
        """The starts, the alternation and the final refinement."""
        starts = (
            ["eigenvalue_allocation", "identity"]
            if self.init == "auto"
            else [self.init]
        )
        best = None
        for start in starts:
            # Each start gets the same k-means seeds, so "auto" reproduces the
            # fit of the start it picks.
            rng_s = copy.deepcopy(rng)
            R = self._start_rotation(X, start, bounds)
            Z = X @ R
            codebooks, codes, dist = _pq.train_pq(Z, bounds, K, self.kmeans_iter, rng_s)
            if self.verbose and len(starts) > 1:
                print(f"[OPQ] start {start}: distortion {dist:.6g}")
            if best is None or dist < best[-1]:
                best = (start, rng_s, R, Z, codebooks, codes, dist)
        self.init_, rng, R, Z, codebooks, codes, dist = best
        curve = []
        for it in range(self.max_iter):
            if it:
                # step (i): one warm-started k-means step on the rotated data
                codebooks, codes, dist = _pq.train_pq(
                    Z, bounds, K, 1, rng, init=codebooks
                )
            curve.append(dist)
            if self.verbose:
                print(
                    f"[OPQ] iteration {it + 1}/{self.max_iter}: distortion {dist:.6g}"
                )
            # step (ii): Procrustes rotation towards the reconstructions
            Y = _pq.decode(codes, codebooks, bounds, X.dtype)
            R = _pq.procrustes(X, Y).astype(X.dtype)
            Z = X @ R
        if self.max_iter:
            codebooks, codes, dist = _pq.train_pq(
                Z,
                bounds,
                K,
                self.kmeans_iter,
                rng,
                init=codebooks,
                callback=progress_printer("OPQ", M) if self.verbose else None,
            )
        curve.append(dist)
        self.rotation_ = R
        self.codebooks_ = codebooks
        self.subspace_bounds_ = bounds
        self.distortion_curve_ = curve
        self.inertia_ = dist
        self.n_iter_ = self.max_iter

    @staticmethod
    def _start_rotation(X, start, bounds):
        """The starting rotation: the identity or the parametric solution."""
        if start == "identity":
            return np.eye(X.shape[1], dtype=X.dtype)
        # Parametric solution: principal directions, eigenvalue allocation.
        W, variances = principal_directions(X - X.mean(axis=0), X.shape[1])
        return W[:, _pq.eigenvalue_allocation(variances, bounds)].astype(X.dtype)

    def _space(self, X):
        return X @ self.rotation_

    def _from_space(self, Z):
        return Z @ self.rotation_.T
