"""Product quantization."""

import numpy as np
from sklearn.utils import check_random_state

from skhash._blas import limit_blas_threads
from skhash._kernels import pq as _pq
from skhash._validation import IntInterval
from skhash.base import BaseQuantizer


class PQ(BaseQuantizer):
    """Product Quantization (PQ).

    Split each vector into ``n_subspaces`` contiguous sub-vectors and learn
    ``n_clusters`` codewords per subspace by k-means; a vector's code is the
    index of the nearest codeword of each sub-vector, one byte per subspace
    (Jégou, Douze and Schmid). Query vectors are compared with the codes by the
    asymmetric distance computation (ADC): ``distance_tables`` gives each
    query's ``(n_subspaces, n_clusters)`` look-up table of squared distances,
    and :class:`QuantizedNeighbors` sums ``n_subspaces`` look-ups per database
    item.

    Parameters
    ----------
    n_bits : int, default=32
        Code length in bits, ``n_subspaces * log2(n_clusters)``; with the default
        ``n_clusters=256`` a multiple of 8 (``n_subspaces = n_bits / 8``).
    n_clusters : int, default=256
        Codewords per subspace, a power of two <= 256.
    max_iter : int, default=25
        Lloyd iterations of k-means in each subspace (as faiss's
        ``ProductQuantizer``; the paper runs k-means to convergence).
    random_state : int, RandomState instance or None, default=None
        Seed of the k-means initialisation (``n_clusters`` distinct training
        points drawn at random per subspace).
    verbose : int, default=0
        Print one line per trained subspace when > 0.

    Attributes
    ----------
    codebooks_ : list of ndarray of shape (n_clusters, d_m)
        The ``n_subspaces`` sub-codebooks.
    subspace_bounds_ : ndarray of shape (n_subspaces + 1,)
        Feature offsets: subspace ``m`` holds features
        ``subspace_bounds_[m]:subspace_bounds_[m + 1]``.
    inertia_ : float
        Squared reconstruction error summed over the training vectors.
    n_iter_ : int
        Lloyd iterations run per subspace.
    n_bits_ : int
        Code length.
    n_clusters_ : int
        Codewords per subspace.
    n_subspaces_ : int
        Number of subspaces (bytes per code).
    n_features_in_ : int
        Number of features seen in ``fit``.

    See Also
    --------
    OPQ : PQ after a learned rotation.
    QuantizedNeighbors : Exact asymmetric-distance search over the codes.

    Notes
    -----
    When ``n_subspaces`` does not divide ``n_features`` the subspaces differ in
    width by one feature (as ``numpy.array_split``), where the paper and faiss
    require equal widths; with equal widths this is the paper's split. So
    784-dimensional MNIST vectors can be quantized at 24 bits (3 subspaces).
    Empty clusters are re-seeded by splitting a cluster drawn with
    probability proportional to its squared error into two perturbed copies
    (faiss's rule, which draws by size instead), so clusters of identical
    sub-vectors (constant border pixels) are never split. This is also why
    PQ does not call :class:`sklearn.cluster.KMeans`, which moves empty
    clusters onto the farthest points: faster, but 2-19% more distortion in
    the border subspaces of MNIST and Fashion-MNIST. The codes are
    codeword indices, not bits: search them with :class:`QuantizedNeighbors`,
    never with ``HammingNeighbors``.

    References
    ----------
    H. Jégou, M. Douze, C. Schmid, "Product quantization for nearest neighbor
    search", IEEE TPAMI 33(1), 2011.

    Examples
    --------
    >>> import numpy as np
    >>> from skhash.quantization import PQ
    >>> X = np.random.default_rng(0).normal(size=(300, 16))
    >>> pq = PQ(n_bits=8, n_clusters=16, random_state=0).fit(X)
    >>> codes = pq.transform(X[:5])
    >>> codes.shape, codes.dtype
    ((5, 2), dtype('uint8'))
    >>> pq.inverse_transform(codes).shape, pq.distance_tables(X[:5]).shape
    ((5, 16), (5, 2, 16))
    """

    _parameter_constraints: dict = {
        **BaseQuantizer._parameter_constraints,
        "max_iter": [IntInterval(0, None, closed="left")],
        "verbose": ["verbose"],
    }

    def __init__(
        self, n_bits=32, *, n_clusters=256, max_iter=25, random_state=None, verbose=0
    ):
        self.n_bits = n_bits
        self.n_clusters = n_clusters
        self.max_iter = max_iter
        self.random_state = random_state
        self.verbose = verbose

    def _fit(self, X, y):
        M = self._n_subspaces(X.shape[1])
        rng = check_random_state(self.random_state)
        bounds = _pq.subspace_bounds(X.shape[1], M)
        # k-means' largest product: the (rows, d_m) x (d_m, K) distances
        work = X.shape[0] * int(np.diff(bounds).max()) * self.n_clusters
        with limit_blas_threads(work):
            self.codebooks_, _, self.inertia_ = _pq.train_pq(
                X,
                bounds,
                self.n_clusters,
                self.max_iter,
                rng,
                callback=progress_printer("PQ", M) if self.verbose else None,
            )
        self.subspace_bounds_ = bounds
        self.n_iter_ = self.max_iter


def progress_printer(name, n_subspaces):
    """Callback of ``train_pq`` printing one line per trained subspace."""

    def callback(m, d_m, inertia):
        print(
            f"[{name}] subspace {m + 1}/{n_subspaces}: {d_m} dims, "
            f"inertia {inertia:.6g}"
        )

    return callback
