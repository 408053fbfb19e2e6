"""Base classes of hashers and quantizers: validation, binarisation, packing, tags."""

import importlib
from numbers import Integral

import numpy as np
from sklearn.base import (
    BaseEstimator,
    ClassNamePrefixFeaturesOutMixin,
    TransformerMixin,
    _fit_context,
)
from sklearn.utils._param_validation import Options
from sklearn.utils.metaestimators import available_if
from sklearn.utils.validation import check_is_fitted, validate_data

from skhash._kernels import bits as _bits
from skhash._kernels import pq as _pq
from skhash._validation import (
    IntInterval,
    check_class_labels,
    check_finite_fit,
    check_finite_output,
)

#: Training rows whose outputs ``fit`` checks for NaN and inf.
_FIT_CHECK_ROWS = 256


def doc_page_name(cls):
    """Qualified name of the API page the documentation builds for ``cls``.

    The API reference lists the names exported by the top-level package as
    ``skhash.<Name>`` and the others under the public package that exports
    them (``skhash.features.GIST``), whatever private module defines them.

    Parameters
    ----------
    cls : type
        A class defined in skhash.

    Returns
    -------
    name : str
        ``generated/<name>.html`` is its page.
    """
    import skhash

    name = cls.__name__
    if name in skhash.__all__:
        return f"skhash.{name}"
    public = []
    for part in cls.__module__.split("."):
        if part.startswith("_"):
            break
        public.append(part)
    for i in range(len(public), 1, -1):
        modname = ".".join(public[:i])
        if name in getattr(importlib.import_module(modname), "__all__", ()):
            return f"{modname}.{name}"
    return ".".join([*public, name])


class DocLinkMixin:
    """Point the "?" link of scikit-learn's HTML repr at the estimator's page.

    scikit-learn's ``_get_doc_link`` fills ``_doc_link_template`` with the
    parameters of ``_doc_link_url_param_generator``; the page name is
    :func:`doc_page_name`, the one the documentation builds. Classes defined
    outside skhash (``_doc_link_module``) get no link.
    """

    _doc_link_module = "skhash"
    _doc_link_template = "https://skhash.readthedocs.io/en/latest/generated/{page}.html"

    def _doc_link_url_param_generator(self):
        return {"page": doc_page_name(type(self))}


class BaseCoder(
    DocLinkMixin, ClassNamePrefixFeaturesOutMixin, TransformerMixin, BaseEstimator
):
    """Base class of every estimator that encodes vectors: hashers and quantizers.

    It owns what :class:`BaseHasher` and :class:`BaseQuantizer` share: input
    validation, the ``fit`` template, the tags and ``_requires_y``. ``fit``
    validates ``X`` (and ``y``), calls ``self._fit(X, y)``, checks that the
    fitted arrays and the outputs on the first training rows are finite, and
    lets the family record the shape of its codes (``_set_code_shape``).

    Supervised subclasses set ``_requires_y = True``: ``fit`` then raises a
    ``ValueError`` naming ``y`` when it is missing, and refuses continuous or
    single-class targets. ``fit`` keeps ``X`` in float64 or float32 and
    converts other dtypes to the first of ``_fit_dtypes`` (float64 unless a
    subclass, such as a network trained in float32, prefers float32).

    The scikit-learn mixins sit left of ``BaseEstimator`` here, in the base
    class, so a concrete method is simply ``class ITQ(BaseHasher)``: the mixins
    must run after this class's tag hook to be overridden, and Python's MRO
    forbids repeating them on both levels.

    Parameters
    ----------
    n_bits : int
        Code length in bits.
    random_state : int, RandomState instance or None
        Seed of the method's randomness.
    """

    _parameter_constraints: dict = {
        "n_bits": [IntInterval(1, None, closed="left")],
        "random_state": ["random_state"],
    }
    _requires_y = False
    _fit_dtypes = (np.float64, np.float32)

    # The template methods -------------------------------------------------
    def _fit(self, X, y):  # pragma: no cover - abstract
        raise NotImplementedError

    def _fit_outputs(self, X):  # pragma: no cover - abstract
        """The real-valued outputs that ``fit`` checks on training rows."""
        raise NotImplementedError

    def _set_code_shape(self):  # pragma: no cover - abstract
        """Record the fitted code shape (``n_bits_``, ``_n_features_out``)."""
        raise NotImplementedError

    # Validation helpers ---------------------------------------------------
    def _validate_fit_input(self, X, y):
        dtype = list(self._fit_dtypes)
        if not self._requires_y:
            X = validate_data(self, X, dtype=dtype, ensure_min_samples=2)
            return X, None
        if y is None:
            # Wording shared with scikit-learn's own estimators (and its checks).
            raise ValueError(
                f"{type(self).__name__} requires y to be passed, but the target "
                "y is None: it is supervised (pass class labels as a 1-D array "
                "or a 2-D 0/1 multi-label indicator matrix)."
            )
        X, y = validate_data(
            self, X, y, dtype=dtype, multi_output=True, ensure_min_samples=2
        )
        check_class_labels(self, y)
        return X, y

    def _validate_query(self, X):
        check_is_fitted(self)
        return validate_data(self, X, dtype=[np.float64, np.float32], reset=False)

    # Public API -----------------------------------------------------------
    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y=None):
        """Learn the encoding: hash functions, or codebooks and their space.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Training vectors.
        y : array-like of shape (n_samples,) or (n_samples, n_classes), default=None
            Class labels or a 0/1 multi-label indicator matrix. Required by
            supervised methods, ignored by unsupervised ones.

        Returns
        -------
        self : object
            The fitted estimator.
        """
        X, y = self._validate_fit_input(X, y)
        self._fit(X, y)
        check_finite_fit(self)
        # A diverged model can keep finite weights and still output NaN.
        self._fit_outputs(X[:_FIT_CHECK_ROWS])
        self._set_code_shape()
        return self

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        # Codes are uint8 whatever the input dtype.
        tags.transformer_tags.preserves_dtype = []
        tags.target_tags.required = self._requires_y
        return tags


class BaseHasher(BaseCoder):
    """Base class of every hashing estimator (template for ``fit``/``transform``).

    A concrete hasher implements two methods only:

    * ``_fit(X, y)``: learn the hash functions from validated ``X`` (float64 or
      float32) and, for supervised methods, validated ``y``;
    * ``_project(X)``: return the real-valued outputs ``(n_samples, n_bits)``
      whose signs are the bits.

    ``fit`` validates the input and calls ``_fit``; ``decision_function`` validates
    and calls ``_project``; ``transform`` binarises (bit = 1 where the output is
    ``>= 0``) and packs eight bits to a byte. Supervised subclasses set
    ``_requires_y = True``: ``fit`` then raises a ``ValueError`` naming ``y`` when
    it is missing, and refuses continuous or single-class targets. Validation,
    tags and the ``fit`` template come from ``skhash.base.BaseCoder``.

    No silent wrong answers: ``fit`` raises a ``ValueError`` when a fitted array,
    or the outputs on the first training rows, hold NaN or inf (a diverged fit
    or a degenerate parameter), and ``decision_function``/``transform`` raise
    when an output does (NaN would otherwise become bit 0).

    Parameters
    ----------
    n_bits : int
        Code length in bits.
    random_state : int, RandomState instance or None
        Seed of the method's randomness.
    """

    # The template methods -------------------------------------------------
    def _project(self, X):  # pragma: no cover - abstract
        raise NotImplementedError

    def _fit_outputs(self, X):
        return check_finite_output(self, self._project(X), "fit")

    def _set_code_shape(self):
        self.n_bits_ = int(self.n_bits)
        self._n_features_out = _bits.n_bytes(self.n_bits)

    # Public API -----------------------------------------------------------
    def decision_function(self, X):
        """Real-valued outputs whose signs are the bits.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Vectors to hash.

        Returns
        -------
        values : ndarray of shape (n_samples, n_bits)
            Bit ``j`` of a sample is 1 where ``values[:, j] >= 0``.
        """
        X = self._validate_query(X)
        return check_finite_output(self, self._project(X))

    def transform(self, X):
        """Hash vectors to packed binary codes.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Vectors to hash.

        Returns
        -------
        codes : ndarray of uint8, shape (n_samples, ceil(n_bits / 8))
            Bits packed eight to a byte, most significant bit first.
        """
        return _bits.real_to_codes(self.decision_function(X))


class QuantizerCodes(np.ndarray):
    """Codeword indices of a quantizer: a ``uint8`` array that says what it is.

    ``BaseQuantizer.transform`` returns its codes as this thin ``ndarray``
    subclass. It behaves as a plain array everywhere, but carries the class
    attribute ``_skhash_code_type = "product-quantization"``, which the search
    estimators for packed bits read (``HammingNeighbors`` refuses such codes:
    Hamming distance between codeword indices means nothing). The mark survives
    slicing, copying, pickling and a ``Pipeline`` (which passes a step's output
    unchanged to the next step); ``numpy.asarray`` and pandas output drop it.
    """

    _skhash_code_type = "product-quantization"


_POWERS_OF_TWO = {2**b for b in range(1, 9)}


class BaseQuantizer(BaseCoder):
    """Base class of the product quantizers (PQ, OPQ, DQN, SuBiC).

    A quantizer splits the vectors of the space it works in (``_space(X)``) into
    ``n_subspaces`` contiguous sub-vectors and replaces each by the nearest of
    ``n_clusters`` codewords. ``n_bits = n_subspaces * log2(n_clusters)``, so one
    grid over ``n_bits`` compares quantizers with hashers.

    A concrete quantizer implements:

    * ``_fit(X, y)``: learn the space (if any) and set ``codebooks_`` (a list of
      ``n_subspaces`` arrays ``(n_clusters, d_m)``) and ``subspace_bounds_``;
    * ``_space(X)``: map validated inputs to the quantized space (identity for
      PQ, a rotation for OPQ, a network for DQN);
    * optionally ``_from_space(Z)``: map reconstructions back to the input space
      (``inverse_transform``); identity by default.

    A product code whose codewords are not vectors of a space (SuBiC's one-hot
    blocks, the argmax of each block of scores) sets ``_has_codebooks = False``
    and overrides ``transform``, ``distance_tables`` and ``inverse_transform``;
    it keeps the validation, the ``fit`` template, the code checks and the
    tags, and has no ``symmetric_distance_tables``.

    Supervised subclasses set ``_requires_y = True``. Validation, tags and the
    ``fit`` template come from ``skhash.base.BaseCoder``; ``fit`` also
    checks that there are at least ``n_clusters`` training samples (to learn
    codebooks from) and that the training rows map to finite vectors of the
    quantized space.

    Parameters
    ----------
    n_bits : int
        Total code length in bits, a multiple of ``log2(n_clusters)``.
    n_clusters : int
        Codewords per subspace, a power of two <= 256 (one byte per subspace).
    random_state : int, RandomState instance or None
        Seed of the method's randomness.
    """

    _parameter_constraints: dict = {
        **BaseCoder._parameter_constraints,
        "n_clusters": [Options(Integral, _POWERS_OF_TWO)],
    }

    #: Whether the codes index ``codebooks_``, codewords of a vector space.
    _has_codebooks = True

    def _codebooks_defined(self):
        return self._has_codebooks

    # The template methods -------------------------------------------------
    def _space(self, X):
        return X

    def _from_space(self, Z):
        return Z

    # Helpers ----------------------------------------------------------------
    def _n_subspaces(self, n_dims=None, what="n_features"):
        """``n_bits / log2(n_clusters)``, checked against the quantized width.

        ``n_dims=None`` checks only that ``n_bits`` is a whole number of
        subspaces (for a code whose subspaces are not slices of a space).
        """
        bits = int(np.log2(self.n_clusters))
        if self.n_bits % bits:
            raise ValueError(
                f"n_bits={self.n_bits} must be a multiple of log2(n_clusters)="
                f"{bits} (n_clusters={self.n_clusters}): each subspace takes "
                f"{bits} bits."
            )
        M = int(self.n_bits // bits)
        if n_dims is not None and M > n_dims:
            raise ValueError(
                f"n_bits={self.n_bits} with n_clusters={self.n_clusters} means "
                f"{M} subspaces, more than the {n_dims} dimension(s) to split "
                f"({what}); got {n_dims} feature(s). Lower n_bits or raise "
                "n_clusters."
            )
        return M

    def _check_n_samples(self, n_samples):
        if n_samples < self.n_clusters:
            raise ValueError(
                f"n_clusters={self.n_clusters} codewords per subspace need at "
                f"least as many training samples; got n_samples={n_samples}."
            )

    def _validate_fit_input(self, X, y):
        X, y = super()._validate_fit_input(X, y)
        if self._has_codebooks:
            self._check_n_samples(X.shape[0])
        return X, y

    def _fit_outputs(self, X):
        return check_finite_output(self, self._space(X), "fit")

    def _set_code_shape(self):
        self.n_bits_ = int(self.n_bits)
        self.n_clusters_ = int(self.n_clusters)
        self.n_subspaces_ = self._n_subspaces()
        self._n_features_out = self.n_subspaces_

    def _query_space(self, X, method="transform"):
        """Validated queries mapped to the quantized space, checked finite."""
        Z = self._space(self._validate_query(X))
        return check_finite_output(self, Z, method)

    def _check_codes(self, codes):
        check_is_fitted(self)
        arr = np.asarray(codes)
        M, K = self.n_subspaces_, self.n_clusters_
        if arr.ndim != 2 or arr.shape[1] != M:
            raise ValueError(
                f"codes must be a 2-D array of shape (n_samples, n_subspaces={M}), "
                f"got shape {arr.shape}."
            )
        if arr.dtype.kind not in "iub" and not (
            arr.dtype.kind == "f" and np.isfinite(arr).all() and (arr % 1 == 0).all()
        ):
            raise ValueError(
                f"codes must be integer codeword indices, got dtype {arr.dtype}."
            )
        if arr.size and (arr.min() < 0 or arr.max() >= K):
            raise ValueError(
                f"codes must be codeword indices in [0, n_clusters={K}), got values "
                f"in [{arr.min()}, {arr.max()}]."
            )
        return arr.astype(np.intp, copy=False)

    # Public API -----------------------------------------------------------
    def transform(self, X):
        """Encode vectors: the nearest codeword of each sub-vector.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Vectors to encode.

        Returns
        -------
        codes : QuantizerCodes of uint8, shape (n_samples, n_subspaces)
            Codeword index per subspace (ties to the smallest index). A plain
            ``uint8`` array marked as quantizer output, so that
            ``HammingNeighbors`` refuses it.
        """
        Z = self._query_space(X)
        codes = _pq.encode(Z, self.codebooks_, self.subspace_bounds_)
        return codes.view(QuantizerCodes)

    def inverse_transform(self, X):
        """Reconstruct vectors from their codes.

        Parameters
        ----------
        X : array-like of int, shape (n_samples, n_subspaces)
            Codes from ``transform``.

        Returns
        -------
        X_rec : ndarray of shape (n_samples, n_dims)
            Each sub-vector replaced by its codeword, mapped back to the input
            space where the quantizer's space is a rotation of it (PQ, OPQ); in
            the learned representation space for DQN.
        """
        codes = self._check_codes(X)
        Z = _pq.decode(
            codes, self.codebooks_, self.subspace_bounds_, self.codebooks_[0].dtype
        )
        return self._from_space(Z)

    def distance_tables(self, X):
        """Asymmetric distance (ADC/AQD) look-up tables of query vectors.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Query vectors (not quantized).

        Returns
        -------
        tables : ndarray of shape (n_samples, n_subspaces, n_clusters)
            ``tables[i, m, k]`` is the squared distance between sub-vector ``m``
            of query ``i`` (in the quantizer's space) and codeword ``k`` of
            subspace ``m``. The asymmetric distance to a database item with codes
            ``c`` is ``tables[i, arange(n_subspaces), c].sum()``.
        """
        Z = self._query_space(X)
        return _pq.adc_tables(Z, self.codebooks_, self.subspace_bounds_)

    @available_if(_codebooks_defined)
    def symmetric_distance_tables(self):
        """Symmetric distance (SDC) tables between codewords.

        Returns
        -------
        tables : ndarray of shape (n_subspaces, n_clusters, n_clusters)
            ``tables[m, k, l]`` is the squared distance between codewords ``k``
            and ``l`` of subspace ``m``; the symmetric distance between two
            codes ``a`` and ``b`` is ``tables[arange(n_subspaces), a, b].sum()``.
        """
        check_is_fitted(self)
        return _pq.sdc_tables(self.codebooks_)
