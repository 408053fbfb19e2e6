"""Validation shared by every estimator: parameters, targets, sizes, outputs.

One home for the checks that keep an estimator from answering wrongly without
a word: integer parameters that refuse booleans, class-label targets,
memory-implied sizes checked before allocating, inputs beyond the float32
range of the networks, and non-finite fitted values or outputs.
"""

import os
import warnings
from numbers import Integral, Real

import numpy as np
from sklearn.utils._param_validation import Interval
from sklearn.utils.multiclass import check_classification_targets, type_of_target

__all__ = [
    "IntInterval",
    "RealInterval",
    "check_class_labels",
    "check_finite_fit",
    "check_finite_output",
    "check_float32_range",
    "check_kernel_width",
    "check_memory",
    "check_n_neighbors",
    "format_bytes",
    "renamed_param",
]

FLOAT32_MAX = float(np.finfo(np.float32).max)


class IntInterval(Interval):
    """An interval of integers that refuses booleans.

    ``numbers.Integral`` includes ``bool``, so scikit-learn's
    ``Interval(Integral, ...)`` accepts ``n_bits=True`` as 1. Every integer
    parameter of skhash uses this constraint instead.

    Parameters
    ----------
    left : int or None
        Lower bound (None: unbounded).
    right : int or None
        Upper bound (None: unbounded).
    closed : {"left", "right", "both", "neither"}
        Which bounds belong to the interval.
    """

    _type = Integral

    def __init__(self, left, right, *, closed):
        super().__init__(self._type, left, right, closed=closed)

    def is_satisfied_by(self, val):
        if isinstance(val, (bool, np.bool_)):
            return False
        return super().is_satisfied_by(val)

    def __str__(self):
        text = super().__str__()
        return text.replace(" in the range", " (not a bool) in the range", 1)


class RealInterval(IntInterval):
    """An interval of real numbers that refuses booleans (and NaN).

    Parameters
    ----------
    left : float or None
        Lower bound (None: unbounded).
    right : float or None
        Upper bound (None: unbounded).
    closed : {"left", "right", "both", "neither"}
        Which bounds belong to the interval.
    """

    _type = Real


def check_n_neighbors(k, name="n_neighbors"):
    """Validate a number of neighbours given at query time.

    Parameters
    ----------
    k : object
        The value given.
    name : str, default="n_neighbors"
        Its name in the message.

    Returns
    -------
    k : int
        ``k`` as a Python int: an integer >= 1, not a bool and not a float
        such as 2.7 (which ``int`` would silently truncate).
    """
    if isinstance(k, (bool, np.bool_)) or not isinstance(k, Integral) or k < 1:
        raise ValueError(f"{name} must be a positive integer, got {k!r}.")
    return int(k)


def renamed_param(estimator, old, new, default, *, since="0.1", removal="0.3"):
    """The value of a renamed parameter, warning when the old name is used.

    scikit-learn's pattern: the old parameter stays in ``__init__`` with the
    default ``"deprecated"`` for two releases; setting it gives a
    ``FutureWarning`` and its value is used. Setting both names (the new one
    away from its default ``default``) is an error.
    """
    value_old, value_new = getattr(estimator, old), getattr(estimator, new)
    if isinstance(value_old, str) and value_old == "deprecated":
        return value_new
    if value_new != default:
        raise ValueError(
            f"{type(estimator).__name__}: both `{old}` and `{new}` are set; `{old}` "
            f"was renamed `{new}`, set only `{new}`."
        )
    warnings.warn(
        f"{type(estimator).__name__}: `{old}` was renamed `{new}` in {since} and "
        f"will be removed in {removal}; use `{new}`.",
        FutureWarning,
        stacklevel=3,
    )
    return value_old


def format_bytes(n_bytes):
    """``n_bytes`` as a short human-readable size (``"7.28 TiB"``)."""
    size = float(n_bytes)
    for unit in ("B", "KiB", "MiB", "GiB", "TiB", "PiB"):
        if size < 1024 or unit == "PiB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.2f} {unit}"
        size /= 1024
    return f"{size:.2f} PiB"  # pragma: no cover - the loop returns


def _physical_memory():
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (AttributeError, ValueError, OSError):  # pragma: no cover - not POSIX
        return None


def check_memory(estimator, n_bytes, what):
    """Refuse a size that could not fit in this machine's memory.

    Parameters
    ----------
    estimator : object
        The estimator, named in the message.
    n_bytes : int or float
        Bytes the allocation would need (an estimate from the parameters and
        the data shape, computed before allocating anything).
    what : str
        What needs it, with the parameters that set its size
        (``"the (n_bits, n_bits) matrices for n_bits=1000000"``).

    Raises
    ------
    ValueError
        When ``n_bytes`` exceeds the physical memory of the machine.
    """
    total = _physical_memory()
    if total is not None and n_bytes > total:
        raise ValueError(
            f"{type(estimator).__name__} would need about {format_bytes(n_bytes)} "
            f"for {what}, more than this machine's {format_bytes(total)} of "
            "memory. Lower the parameter."
        )


def check_class_labels(estimator, y):
    """Check a supervised target: class labels or a 0/1 indicator matrix.

    Continuous values are refused as scikit-learn's classifiers refuse them
    ("Unknown label type: continuous"); a target with a single class (or a
    single label set) is refused too: every pair of samples would be similar,
    so the codes could carry no label information.

    Parameters
    ----------
    estimator : object
        The estimator, named in the message.
    y : ndarray of shape (n_samples,) or (n_samples, n_labels)
        Target validated by ``validate_data``.
    """
    y = np.asarray(y)
    name = type(estimator).__name__
    if y.ndim == 2 and y.shape[1] == 1:
        y = y.ravel()
    if y.ndim == 2:
        kind = type_of_target(y)
        if kind != "multilabel-indicator" or not np.isin(y, (0, 1)).all():
            raise ValueError(
                f"{name}: a 2-D y must be a 0/1 multi-label indicator matrix; got "
                f"a 2-D y of type {kind!r} (values other than 0 and 1)."
            )
    else:
        check_classification_targets(y)
    n_distinct = len(np.unique(y)) if y.ndim == 1 else len(np.unique(y, axis=0))
    if y.shape[0] and n_distinct < 2:
        raise ValueError(
            f"{name} needs at least two classes in y (or two distinct label "
            "sets), got a single one: every pair of samples would be similar, "
            "so the codes would carry no label information."
        )


def check_kernel_width(estimator, sigma):
    """Refuse a kernel width whose square underflows or overflows float64.

    The RBF kernel ``exp(-d^2 / (2 sigma^2))`` is then ``0 / 0`` or constant:
    every sample would get the same code.

    Parameters
    ----------
    estimator : object
        The estimator, named in the message.
    sigma : float
        The kernel width (given or estimated from the data).
    """
    denom = 2.0 * float(sigma) * float(sigma)
    if not (np.isfinite(denom) and denom > 0):
        raise ValueError(
            f"{type(estimator).__name__}: sigma={sigma!r} is out of the usable "
            f"range: 2 * sigma**2 = {denom!r} in float64, so the kernel "
            "exp(-d**2 / (2 sigma**2)) would be undefined or constant. Use a "
            "sigma of the order of the distances between samples (or None to "
            "estimate it)."
        )


def check_float32_range(estimator, X, name="X"):
    """Refuse float64 values that overflow float32 (the precision of torch).

    Parameters
    ----------
    estimator : object
        The estimator, named in the message.
    X : ndarray
        Validated (finite) input.
    name : str
        Name of the input in the message.
    """
    if X.dtype == np.float64 and X.size:
        largest = float(np.abs(X).max())
        if largest > FLOAT32_MAX:
            raise ValueError(
                f"{name} holds values up to {largest:.3g}, beyond the float32 "
                f"range (+-{FLOAT32_MAX:.3g}) in which {type(estimator).__name__} "
                "computes: they would become infinite. Scale the inputs."
            )


def _real_params(estimator):
    params = estimator.get_params(deep=False)
    return ", ".join(
        f"{k}={v!r}"
        for k, v in sorted(params.items())
        if isinstance(v, Real) and not isinstance(v, (Integral, bool))
    )


def divergence_hint(estimator):
    """The likely causes of non-finite values, with the estimator's real parameters.

    Parameters
    ----------
    estimator : object
        The estimator.

    Returns
    -------
    hint : str
    """
    params = _real_params(estimator)
    return (
        "a fit that diverged (too large a learning rate or loss weight), "
        "inputs too large for the precision the model computes in, or a "
        "degenerate parameter value"
        + (f" (real-valued parameters: {params})" if params else "")
    )


def _non_finite(value):
    """Whether ``value`` (array, number or list of them) holds NaN or inf."""
    if isinstance(value, np.ndarray):
        return value.dtype.kind in "fc" and not np.isfinite(value).all()
    if isinstance(value, (float, np.floating)):
        return not np.isfinite(value)
    if isinstance(value, (list, tuple)):
        return any(isinstance(v, np.ndarray) and _non_finite(v) for v in value)
    return False


def check_finite_fit(estimator):
    """Raise when a fitted array of ``estimator`` holds NaN or inf.

    Scans the public fitted attributes (names ending with ``_``) that are
    float arrays or lists of arrays (``projection_``, ``coefs_``,
    ``codebooks_``...).

    Parameters
    ----------
    estimator : object
        A fitted estimator.
    """
    for attr, value in vars(estimator).items():
        if attr.startswith("_") or not attr.endswith("_"):
            continue
        if isinstance(value, (np.ndarray, list, tuple)) and _non_finite(value):
            raise ValueError(
                f"{type(estimator).__name__}.fit produced non-finite values (NaN "
                f"or inf) in {attr}: its codes would be meaningless. Likely "
                f"causes: {divergence_hint(estimator)}."
            )


def check_finite_output(estimator, values, method="decision_function"):
    """Raise when the real-valued outputs of ``estimator`` hold NaN or inf.

    A NaN output is not ``>= 0``, so it would silently become bit 0 (and a
    constant code for every sample).

    Parameters
    ----------
    estimator : object
        The estimator, named in the message.
    values : ndarray of shape (n_samples, ...)
        The outputs.
    method : str
        The method that computed them.

    Returns
    -------
    values : ndarray
        ``values`` unchanged.
    """
    if values.dtype.kind in "fc" and not np.isfinite(values).all():
        flat = values.reshape(values.shape[0], -1)
        n_bad = int((~np.isfinite(flat)).any(axis=1).sum())
        raise ValueError(
            f"{type(estimator).__name__}.{method} gave NaN or infinite values for "
            f"{n_bad} of {values.shape[0]} sample(s): their codes would be "
            f"meaningless. Likely causes: {divergence_hint(estimator)}."
        )
    return values
