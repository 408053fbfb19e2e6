"""Base classes shared by every hasher: validation, binarisation, packing, tags."""

from numbers import Integral

import numpy as np
from sklearn.base import (
    BaseEstimator,
    ClassNamePrefixFeaturesOutMixin,
    TransformerMixin,
    _fit_context,
)
from sklearn.utils._param_validation import Interval
from sklearn.utils.validation import check_is_fitted, validate_data

from skhash._kernels import bits as _bits


class BaseHasher(ClassNamePrefixFeaturesOutMixin, TransformerMixin, BaseEstimator):
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
    it is missing.

    The scikit-learn mixins sit left of ``BaseEstimator`` here, in the base
    class, so a concrete hasher is simply ``class ITQ(BaseHasher)``. (Listing the
    mixins again in every subclass, as ``conventions.md`` first suggested, is not
    possible: the mixins must run after this class's tag hook to be overridden,
    and Python's MRO forbids repeating them on both levels.)

    Parameters
    ----------
    n_bits : int
        Code length in bits.
    random_state : int, RandomState instance or None
        Seed of the method's randomness.
    """

    _parameter_constraints: dict = {
        "n_bits": [Interval(Integral, 1, None, closed="left")],
        "random_state": ["random_state"],
    }
    _requires_y = False
    _doc_link_module = "skhash"
    _doc_link_template = (
        "https://skhash.readthedocs.io/en/latest/generated/"
        "{estimator_module}.{estimator_name}.html"
    )

    # The template methods -------------------------------------------------
    def _fit(self, X, y):  # pragma: no cover - abstract
        raise NotImplementedError

    def _project(self, X):  # pragma: no cover - abstract
        raise NotImplementedError

    # Validation helpers ---------------------------------------------------
    def _validate_fit_input(self, X, y):
        if self._requires_y:
            if y is None:
                raise ValueError(
                    f"{type(self).__name__} is supervised: fit requires y (class "
                    "labels as a 1-D array or a 2-D 0/1 multi-label indicator "
                    "matrix), got y=None."
                )
            X, y = validate_data(
                self,
                X,
                y,
                dtype=[np.float64, np.float32],
                multi_output=True,
                ensure_min_samples=2,
            )
        else:
            X = validate_data(
                self, X, dtype=[np.float64, np.float32], ensure_min_samples=2
            )
            y = None
        return X, y

    def _validate_query(self, X):
        check_is_fitted(self)
        return validate_data(self, X, dtype=[np.float64, np.float32], reset=False)

    # Public API -----------------------------------------------------------
    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y=None):
        """Learn the hash functions.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Training vectors.
        y : array-like of shape (n_samples,) or (n_samples, n_classes), default=None
            Class labels or a 0/1 multi-label indicator matrix. Required by
            supervised hashers, ignored by unsupervised ones.

        Returns
        -------
        self : object
            The fitted hasher.
        """
        X, y = self._validate_fit_input(X, y)
        self._fit(X, y)
        self.n_bits_ = int(self.n_bits)
        self._n_features_out = _bits.n_bytes(self.n_bits)
        return self

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
        return self._project(X)

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

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        # Codes are uint8 whatever the input dtype.
        tags.transformer_tags.preserves_dtype = []
        tags.target_tags.required = self._requires_y
        return tags
