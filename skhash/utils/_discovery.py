"""``all_estimators``: the estimators of skhash, by type, as scikit-learn's."""

import importlib
import importlib.util
import inspect

from sklearn.base import BaseEstimator, TransformerMixin

#: Packages searched, in order; the first to export a name wins.
_LIGHT_MODULES = (
    "skhash",
    "skhash.linear",
    "skhash.quantization",
    "skhash.neighbors",
    "skhash.features",
)
#: The only package that imports torch and skorch.
_DEEP_MODULE = "skhash.deep"

_TYPES = ("hasher", "quantizer", "searcher", "transformer")


def _deep_installed():
    """Whether torch and skorch can be imported (without importing them)."""
    return all(importlib.util.find_spec(m) is not None for m in ("torch", "skorch"))


def _types(cls):
    """The set of ``_TYPES`` an estimator class belongs to."""
    from skhash.base import BaseHasher

    types = set()
    if issubclass(cls, TransformerMixin):
        types.add("transformer")
    if callable(getattr(cls, "distance_tables", None)) and hasattr(cls, "transform"):
        types.add("quantizer")
    elif issubclass(cls, BaseHasher):
        types.add("hasher")
    if callable(getattr(cls, "kneighbors", None)):
        types.add("searcher")
    return types


def _module_estimators(modname, lazy):
    mod = importlib.import_module(modname)
    found = {}
    for name in getattr(mod, "__all__", ()):
        # vars(): names a package serves lazily through __getattr__ (skhash's
        # deep hashers, skhash.features.PretrainedBackbone) are not imported
        obj = getattr(mod, name, None) if lazy else vars(mod).get(name)
        if (
            isinstance(obj, type)
            and issubclass(obj, BaseEstimator)
            and not name.startswith(("Base", "_"))
            and not inspect.isabstract(obj)
        ):
            found[name] = obj
    return found


def all_estimators(type_filter=None, *, include_deep="auto"):
    """The estimators that skhash exports, sorted by name.

    The counterpart of :func:`sklearn.utils.all_estimators` for skhash: every
    public, concrete scikit-learn estimator class of :mod:`skhash`,
    :mod:`skhash.linear`, :mod:`skhash.quantization`, :mod:`skhash.neighbors`,
    :mod:`skhash.features` and, when asked for or installed,
    :mod:`skhash.deep`.

    Parameters
    ----------
    type_filter : {"hasher", "quantizer", "searcher", "transformer"} or list \
of such str, default=None
        Keep only the estimators of these types (any of them, for a list).
        ``"hasher"``: binary codes (a :class:`~skhash.BaseHasher` that is not a
        quantizer); ``"quantizer"``: codeword indices searched by asymmetric
        distance (has ``distance_tables``); ``"searcher"``: has
        ``kneighbors`` (:class:`~skhash.HammingNeighbors`,
        :class:`~skhash.QuantizedNeighbors`); ``"transformer"``: a
        :class:`~sklearn.base.TransformerMixin` (hashers, quantizers and
        feature extractors). ``None`` keeps every estimator.
    include_deep : bool or "auto", default="auto"
        Whether to list the deep estimators of :mod:`skhash.deep`, which
        imports torch and skorch. ``"auto"``: when both are installed (checked
        without importing them). ``True`` raises an :class:`ImportError` that
        names the ``deep`` extra when they are missing; ``False`` never
        imports torch.

    Returns
    -------
    estimators : list of (str, type)
        ``(name, class)`` pairs, sorted by name.

    See Also
    --------
    sklearn.utils.all_estimators : The same for scikit-learn's estimators.

    Examples
    --------
    >>> from skhash.utils import all_estimators
    >>> hashers = all_estimators("hasher", include_deep=False)
    >>> [name for name, _ in hashers][:4]
    ['CCAITQ', 'ITQ', 'KSH', 'LSH']
    >>> [name for name, _ in all_estimators("searcher", include_deep=False)]
    ['HammingNeighbors', 'QuantizedNeighbors']
    """
    if type_filter is None:
        wanted = None
    else:
        wanted = [type_filter] if isinstance(type_filter, str) else list(type_filter)
        unknown = sorted(set(wanted) - set(_TYPES))
        if unknown:
            raise ValueError(
                f"type_filter must be None or one or a list of {list(_TYPES)}; "
                f"got {unknown}."
            )
    if include_deep not in (True, False, "auto"):
        raise ValueError(
            f"include_deep must be True, False or 'auto'; got {include_deep!r}."
        )
    if include_deep == "auto":
        include_deep = _deep_installed()

    found = {}
    for modname in _LIGHT_MODULES:
        for name, cls in _module_estimators(modname, lazy=False).items():
            found.setdefault(name, cls)
    if include_deep:
        for name, cls in _module_estimators(_DEEP_MODULE, lazy=True).items():
            found.setdefault(name, cls)
    out = sorted(found.items())
    if wanted is not None:
        out = [(n, c) for n, c in out if _types(c) & set(wanted)]
    return out
