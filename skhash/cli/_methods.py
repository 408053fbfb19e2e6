"""The hashers and quantizers the ``skhash`` command can run, by name."""

import ast

from skhash.cli._io import CommandError


def available_methods(include_deep=False):
    """Hashers and quantizers that this installation exports, by name.

    Parameters
    ----------
    include_deep : bool, default=False
        Also list the deep hashers of :mod:`skhash.deep` when torch and
        skorch are installed (imports them).

    Returns
    -------
    methods : dict
        ``name -> (class, kind)`` with kind ``"hasher"`` or ``"quantizer"``.

    Examples
    --------
    >>> from skhash.cli import available_methods
    >>> methods = available_methods()
    >>> methods["ITQ"][1]
    'hasher'
    """
    from skhash.utils import all_estimators

    deep = "auto" if include_deep else False
    found = {}
    for kind in ("hasher", "quantizer"):
        for name, cls in all_estimators(kind, include_deep=deep):
            found[name] = (cls, kind)

    def order(item):  # the NumPy methods first, then the deep ones
        return (item[1][0].__module__.startswith("skhash.deep"), item[0])

    return dict(sorted(found.items(), key=order))


# The default of `skhash bench`: the methods that fit in seconds on digits
# (KSH and the deep hashers take minutes there; name them or pass "all").
_DEFAULT_METHODS = (
    "LSH",
    "PCAH",
    "ITQ",
    "SpectralHashing",
    "CCAITQ",
    "SDH",
    "PQ",
    "OPQ",
)


def _resolve_methods(names):
    light = available_methods()
    if names is None:
        return {k: light[k] for k in _DEFAULT_METHODS if k in light}
    wanted = list(dict.fromkeys(names))
    everything = dict(light)
    light_lower = {k.lower() for k in light}
    if "all" in wanted or any(n.lower() not in light_lower for n in wanted):
        try:
            everything = available_methods(include_deep=True)
        except Exception as exc:  # a broken install, not a missing extra
            raise CommandError(
                f"skhash.deep failed to import ({type(exc).__name__}: {exc}); "
                f"the other methods are {', '.join(sorted(light))}."
            ) from exc
    if "all" in wanted:
        return everything
    lower = {k.lower(): k for k in everything}
    out = {}
    for n in wanted:
        key = lower.get(n.lower())
        if key is None:
            raise CommandError(
                f"unknown method {n!r}; available: {', '.join(sorted(everything))}."
            )
        out[key] = everything[key]
    return out


def _parse_params(items):
    params = {}
    for item in items or []:
        if "=" not in item:
            raise CommandError(f"--param {item!r}: expected NAME=VALUE.")
        name, value = item.split("=", 1)
        try:
            params[name.strip()] = ast.literal_eval(value)
        except (ValueError, SyntaxError):
            params[name.strip()] = value
    return params


def _make_estimator(cls, n_bits, random_state, params):
    import inspect

    kwargs = {"n_bits": n_bits}
    if "random_state" in inspect.signature(cls).parameters:
        kwargs["random_state"] = random_state
    est = cls(**kwargs)
    try:
        est.set_params(**params)
    except ValueError as exc:
        raise CommandError(f"--param: {exc}") from exc
    return est


def _requires_y(est):
    try:
        return bool(est.__sklearn_tags__().target_tags.required)
    except AttributeError:  # pragma: no cover - every skhash estimator has tags
        return bool(getattr(est, "_requires_y", False))
