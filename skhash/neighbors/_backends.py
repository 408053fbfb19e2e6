"""The search backends of HammingNeighbors by name, and the ``auto`` policy.

Backends are named as ``"module:Class"`` and imported when first built, so
that ``import skhash`` loads neither numba, faiss nor torch. Each backend
class takes the database (codes or a
:class:`~skhash.neighbors._database.CodeDatabase`) plus the keyword arguments
of ``algorithm_params``, declares those in ``_parameter_constraints``, and
exposes ``kneighbors(codes, k, n_jobs)`` and ``radius_neighbors(codes,
radius, n_jobs)``, which return exactly the brute-force result, ordered by
(distance, index).

*Scan* backends (``numpy``, ``numba``, ``faiss``) read a memory-mapped
database in chunks and never copy it; *index* backends (``mih``, ``torch``)
hold their own copy of the codes (hash tables, device memory).
"""

import importlib
import importlib.util
import math
import os

from sklearn.utils._param_validation import validate_parameter_constraints

#: Search backends by name.
BACKENDS = {
    "numpy": "skhash.neighbors._brute:BruteSearcher",
    "numba": "skhash.neighbors._numba_brute:NumbaBruteSearcher",
    "mih": "skhash.neighbors._mih:MIHSearcher",
    "faiss": "skhash.neighbors._faiss:FaissSearcher",
    "torch": "skhash.neighbors._torch:TorchSearcher",
}

#: Valid values of ``HammingNeighbors(algorithm=...)``.
ALGORITHMS = {"auto", "brute", *BACKENDS}

#: ``auto`` answers radius queries with multi-index hashing from this many codes.
MIH_MIN_SAMPLES = 50_000


def backend_class(name):
    """The searcher class of a backend name (imported on first use)."""
    module, cls = BACKENDS[name].split(":")
    return getattr(importlib.import_module(module), cls)


def check_algorithm_params(cls, name, params):
    """Validate ``algorithm_params`` against a backend's declared constraints.

    Each searcher class declares its keyword arguments in
    ``_parameter_constraints``, as estimators do; unknown names and values
    outside the declared ranges raise a ``ValueError`` naming the parameter.
    """
    allowed = cls._parameter_constraints
    unknown = sorted(set(params) - set(allowed))
    if unknown:
        raise ValueError(
            f"algorithm_params {unknown} are not valid for algorithm={name!r}; "
            f"it accepts {sorted(allowed) or 'none'}."
        )
    validate_parameter_constraints(
        allowed, params, caller_name=f"algorithm_params of algorithm={name!r}"
    )


def build_backend(name, database, params):
    """Validate ``params`` and build backend ``name`` on ``database``."""
    cls = backend_class(name)
    check_algorithm_params(cls, name, params)
    return cls(database, **params)


def have_numba():
    """Whether the numba backend can be used, without importing numba."""
    if os.environ.get("SKHASH_DISABLE_NUMBA"):
        return False
    return importlib.util.find_spec("numba") is not None


def _cuda_available():
    try:
        import torch
    except ImportError:
        return False
    return torch.cuda.is_available()


def choose_algorithm(algorithm, device=None):
    """The backend that ``algorithm`` names, and why.

    ``"auto"`` is ``"torch"`` when ``device`` is a CUDA device and one is
    available, else ``"brute"``; ``"brute"`` is ``"numba"`` when numba is
    installed (and not disabled by ``SKHASH_DISABLE_NUMBA``), else
    ``"numpy"``. ``auto`` never picks ``"faiss"``, whose flat index is slower
    than the numba scan, nor ``"mih"`` for k-NN, which is slower than a scan
    on uniformly random codes.

    Returns
    -------
    name : str
        A key of ``BACKENDS``.
    reason : str
        Why, for ``verbose`` output.
    """
    reason = "requested"
    if algorithm == "auto":
        if device is not None and str(device).startswith("cuda") and _cuda_available():
            return "torch", f"device={device!r}"
        algorithm = "brute"
        reason = "exact scan, the fastest exact k-NN on random and real codes"
    if algorithm == "brute":
        numba = have_numba()
        algorithm = "numba" if numba else "numpy"
        reason = "" if reason == "requested" else reason + "; "
        reason += "numba is installed" if numba else "numba not installed"
    return algorithm, reason


def radius_uses_mih(n_samples, n_bits, radius):
    """Whether ``auto`` answers radius queries by multi-index hashing.

    It does on databases of at least ``MIH_MIN_SAMPLES`` codes when the
    ``floor(radius) + 1`` pigeonhole substrings of the ``n_bits``-bit codes
    are at least ``log2(n_samples)`` bits long: the tables' buckets then hold
    about one code each and a query probes a few of them instead of scanning.
    """
    m = math.floor(radius) + 1
    return n_samples >= MIH_MIN_SAMPLES and n_bits / m >= math.log2(n_samples)
