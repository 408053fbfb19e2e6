"""SuBiC: supervised, structured binary codes (Jain et al., ICCV 2017)."""

from numbers import Real

import numpy as np
import torch
from sklearn.utils._param_validation import Interval
from torch import nn

from skhash.base import QuantizerCodes
from skhash.deep._base import BaseDeepQuantizer, fill_doc
from skhash.deep._criteria import SuBiCLoss

__all__ = ["SuBiC"]


class BlockSoftmaxHead(nn.Module):
    """SuBiC's encoder top: ``M * K`` linear units with a ReLU, softmax within
    each block.

    ``decision`` returns the pre-softmax block activations ``(n, M * K)``
    (after the ReLU, as in the paper and the authors' code); ``relaxed``
    returns them side by side with the logits of a linear classifier on the
    block-softmax codes, ``(n, M * K + n_classes)``, for the loss.
    """

    def __init__(self, in_features, n_blocks, block_size, n_classes):
        super().__init__()
        self.n_blocks = int(n_blocks)
        self.block_size = int(block_size)
        self.fc = nn.Linear(in_features, self.n_blocks * self.block_size)
        self.classifier = nn.Linear(self.n_blocks * self.block_size, int(n_classes))

    def decision(self, features):
        return torch.relu(self.fc(features))

    def block_softmax(self, z):
        n = z.shape[0]
        p = torch.softmax(z.reshape(n, self.n_blocks, self.block_size), dim=2)
        return p.reshape(n, -1)

    def relaxed(self, features):
        z = self.decision(features)
        return torch.cat([z, self.classifier(self.block_softmax(z))], dim=1)


@fill_doc
class SuBiC(BaseDeepQuantizer):
    """Supervised, structured Binary Code (SuBiC).

    The code of a sample is ``M`` blocks, each a one-hot vector of length
    ``K = n_clusters``: ``M log2 K`` bits of storage (8 blocks of 256 = 64
    bits). The encoder ends in ``M * K`` linear units with a ReLU, then a
    softmax within each block (block-softmax); it is trained with a linear
    classifier on the block-softmax output, by cross-entropy plus two entropy
    terms
    (:func:`~skhash.deep.losses.subic_loss`): a small mean entropy per block
    (nearly one-hot blocks) and a large entropy of the batch-averaged block
    distribution (uniformly used codewords).

    SuBiC is a quantizer (a :class:`~skhash.deep.BaseDeepQuantizer`): its code
    is a product code, like PQ's, and ``transform`` returns the argmax of
    each block, one ``uint8`` codeword index per block. Search is asymmetric:
    a query keeps its real (ReLU) block activations ``z_m`` and a database
    item with indices ``k_m`` scores ``sum_m z_m[k_m]``. ``distance_tables`` returns the
    *negated* activations, so that :class:`~skhash.quantization.QuantizedNeighbors`
    (which ranks by the smallest sum of table entries) ranks by the largest
    score. ``HammingNeighbors`` refuses these codes.

    Parameters
    ----------
    n_bits : int, default=64
        Storage in bits, ``M * log2(n_clusters)``; a multiple of
        ``log2(n_clusters)``.
    n_clusters : int, default=256
        ``K``, the block length (codewords per block), a power of two <= 256.
    {network_params}
    entropy_weight : float, default=1.0
        ``gamma``, weight of the mean per-sample block entropy.
    batch_entropy_weight : float, default=1.0
        ``mu``, weight of the (subtracted) entropy of the batch-averaged
        blocks.
    {training_params}

    Attributes
    ----------
    n_subspaces_ : int
        ``M``, the number of blocks.
    n_clusters_ : int
        ``K``.
    classes_ : ndarray
        Class labels seen in ``fit`` (1-D ``y``).
    {attributes}

    See Also
    --------
    skhash.quantization.QuantizedNeighbors : Asymmetric search over the codes.
    skhash.quantization.PQ : The unsupervised product code SuBiC compares with.

    Notes
    -----
    Defaults of the authors' code: gamma = mu = 1, Adam with lr 1e-4, batch
    200, 5,000 steps, on fixed deep features; skhash's ``max_epochs`` counts
    passes instead of steps. ``decision_function`` returns the block
    activations ``(n, M * K)``, not signs: SuBiC codes are not sign bits. The
    blocks are not slices of a vector space with codebooks, so SuBiC has no
    ``codebooks_`` nor ``symmetric_distance_tables``, and it trains on any
    number of samples (no ``n_clusters`` minimum). The
    paper's evaluation uses an interpolated AP; skhash scores with the
    package's mAP.

    References
    ----------
    H. Jain, J. Zepeda, P. Pérez, R. Gribonval, "SuBiC: A supervised,
    structured binary code for image search", ICCV 2017.

    Examples
    --------
    >>> import numpy as np
    >>> from skhash.deep import SuBiC
    >>> rng = np.random.default_rng(0)
    >>> X, y = rng.normal(size=(60, 10)), rng.integers(0, 3, 60)
    >>> subic = SuBiC(n_bits=8, n_clusters=16, hidden_layer_sizes=(16,),
    ...               max_epochs=2, random_state=0).fit(X, y)
    >>> codes = subic.transform(X[:5])
    >>> codes.shape, codes.dtype, subic.distance_tables(X[:5]).shape
    ((5, 2), dtype('uint8'), (5, 2, 16))
    """

    _requires_y = True
    # The codes index the units of each block, not codewords of a space.
    _has_codebooks = False

    _parameter_constraints: dict = {
        **BaseDeepQuantizer._parameter_constraints,
        "entropy_weight": [Interval(Real, 0, None, closed="left")],
        "batch_entropy_weight": [Interval(Real, 0, None, closed="left")],
    }

    def __init__(
        self,
        n_bits=64,
        *,
        n_clusters=256,
        backbone=None,
        hidden_layer_sizes=(256,),
        input_shape=None,
        entropy_weight=1.0,
        batch_entropy_weight=1.0,
        max_epochs=20,
        lr=1e-4,
        batch_size=200,
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
        self.backbone = backbone
        self.hidden_layer_sizes = hidden_layer_sizes
        self.input_shape = input_shape
        self.entropy_weight = entropy_weight
        self.batch_entropy_weight = batch_entropy_weight
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

    _head_outputs_param = "n_bits and n_clusters"

    def _n_head_outputs(self):
        return self._n_subspaces() * int(self.n_clusters)

    def _warm_start_key(self, n_features):
        return {**super()._warm_start_key(n_features), "classes": self._n_outputs}

    def _build_head(self, in_features):
        return BlockSoftmaxHead(
            in_features, self._n_subspaces(), self.n_clusters, self._n_outputs
        )

    def _build_criterion(self):
        return SuBiCLoss(
            self._n_subspaces(),
            self.n_clusters,
            entropy_weight=self.entropy_weight,
            batch_entropy_weight=self.batch_entropy_weight,
        )

    def _fit(self, X, y):
        self._n_subspaces()  # a whole number of blocks, before training
        y_arr = np.asarray(y)
        if y_arr.ndim == 2 and y_arr.shape[1] == 1:
            y_arr = y_arr.ravel()
        if y_arr.ndim == 1:
            self.classes_ = np.unique(y_arr)
            self._n_outputs = len(self.classes_)
        else:
            self._n_outputs = y_arr.shape[1]
        return super()._fit(X, y)

    def decision_function(self, X):
        """Block activations: the scores whose argmax per block is the code.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Vectors to encode.

        Returns
        -------
        z : ndarray of shape (n_samples, n_subspaces * n_clusters)
            The pre-softmax (ReLU) activations, block after block.
        """
        return self._query_space(X, "decision_function")

    def _block_activations(self, X, method):
        z = self._query_space(X, method)
        return z.reshape(z.shape[0], self.n_subspaces_, self.n_clusters_)

    def transform(self, X):
        """Encode vectors: the argmax of each block.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Vectors to encode.

        Returns
        -------
        codes : QuantizerCodes of uint8, shape (n_samples, n_subspaces)
            Index of the active unit of each block (ties to the smallest
            index), marked as quantizer output so that ``HammingNeighbors``
            refuses it.
        """
        z = self._block_activations(X, "transform")
        codes = np.argmax(z, axis=2).astype(np.uint8)
        return codes.view(QuantizerCodes)

    def distance_tables(self, X):
        """Asymmetric look-up tables of query vectors (negated block scores).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Query vectors (not encoded).

        Returns
        -------
        tables : ndarray of shape (n_samples, n_subspaces, n_clusters)
            ``-z[i, m, k]``: the negated pre-softmax (ReLU) activation of
            unit ``k`` of block ``m``. A database item with codes ``c`` is at
            ``tables[i, arange(M), c].sum()``, minus SuBiC's score.
        """
        return -self._block_activations(X, "distance_tables")

    def inverse_transform(self, X):
        """One-hot block codes of codeword indices.

        Parameters
        ----------
        X : array-like of int, shape (n_samples, n_subspaces)
            Codes from ``transform``.

        Returns
        -------
        one_hot : ndarray of shape (n_samples, n_subspaces * n_clusters)
            The structured binary code: a one-hot vector per block.
        """
        codes = self._check_codes(X)
        M, K = self.n_subspaces_, self.n_clusters_
        out = np.zeros((codes.shape[0], M, K), dtype=np.float32)
        np.put_along_axis(out, codes[:, :, None], 1.0, axis=2)
        return out.reshape(codes.shape[0], M * K)
