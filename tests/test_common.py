"""scikit-learn's common estimator checks on every estimator of ``all_estimators()``.

One driver, two tables:

* ``TEST_PARAMS``: the small settings each estimator runs the checks with (the
  checks fit on 10-30 samples of a few features), as scikit-learn's
  ``INIT_PARAMS``; ``VARIANTS`` adds the other configurations worth checking
  (search backends, a pipeline that turns the checks' data into codes);
* ``EXPECTED_FAILED``: the checks each estimator fails by design, each with
  its reason.

Besides ``parametrize_with_checks`` (the checks of ``check_estimator``), the
checks it skips run too: parameter validation, ``set_output`` and feature
names. Estimators whose full set takes minutes on 2 cores are marked ``slow``
(run with ``-m slow``); ``KEY_CHECKS`` lists what runs for them by default.
Deep estimators (``skhash.deep``, marker ``torch``) are checked when torch and
skorch are installed.
"""

import sys

import pytest
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.utils import estimator_checks as ec
from sklearn.utils.estimator_checks import (
    _get_check_estimator_ids,
    check_get_feature_names_out_error,
    check_global_output_transform_pandas,
    check_param_validation,
    check_set_output_transform,
    check_set_output_transform_pandas,
    check_transformer_get_feature_names_out,
    check_transformer_get_feature_names_out_pandas,
    estimator_checks_generator,
)

from skhash import LSH, OPQ, PQ, HammingNeighbors, QuantizedNeighbors
from skhash._kernels.jit import HAVE_NUMBA
from skhash.neighbors._testing import (
    CODES_ONLY_REASON,
    HAMMING_NEIGHBORS_XFAIL,
    PIPELINE_XFAIL,
)
from skhash.utils import all_estimators

# ----------------------------------------------------------------------------
# Test parameters: one entry per estimator of all_estimators()
# ----------------------------------------------------------------------------
_DEEP_MLP = dict(n_bits=4, hidden_layer_sizes=(8,), max_epochs=1, random_state=0)
_BDNN = dict(
    n_bits=2, hidden_layer_sizes=(4, 3), max_iter=2, lbfgs_max_iter=5, random_state=0
)

TEST_PARAMS = {
    # linear hashers (NumPy)
    "LSH": dict(n_bits=4, random_state=0),
    "PCAH": dict(n_bits=2),
    "ITQ": dict(n_bits=2, max_iter=5, random_state=0),
    "SpectralHashing": dict(n_bits=4),
    "KSH": dict(n_bits=4, n_anchors=5, n_labeled=20, max_iter=5, random_state=0),
    "CCAITQ": dict(n_bits=2, max_iter=5, random_state=0),
    "SDH": dict(n_bits=4, n_anchors=10, max_iter=2, random_state=0),
    # quantizers: 2 subspaces of 4 codewords
    "PQ": dict(n_bits=4, n_clusters=4, max_iter=5, random_state=0),
    "OPQ": dict(n_bits=4, n_clusters=4, max_iter=3, kmeans_iter=5, random_state=0),
    # searchers
    "HammingNeighbors": dict(n_neighbors=2),
    "QuantizedNeighbors": dict(
        quantizer=PQ(n_bits=4, n_clusters=4, max_iter=5, random_state=0),
        n_neighbors=2,
    ),
    # deep hashers and quantizers (torch)
    "DSH": _DEEP_MLP,
    "DHN": _DEEP_MLP,
    "HashNet": {**_DEEP_MLP, "continuation_step": 1},
    "DNNH": _DEEP_MLP,
    "DH": dict(n_bits=2, hidden_layer_sizes=(4,), max_epochs=2, random_state=0),
    "LDPH": dict(
        n_bits=2,
        max_epochs=2,
        n_rounds=1,
        epochs_per_round=1,
        pairs_per_sample=2,
        batch_size=20,
        random_state=0,
    ),
    "SuBiC": dict(
        n_bits=2, n_clusters=2, hidden_layer_sizes=(4,), max_epochs=2, random_state=0
    ),
    "UHBDNN": _BDNN,
    "SHBDNN": _BDNN,
    "DQN": dict(
        n_bits=4,
        n_clusters=4,
        bottleneck=4,
        hidden_layer_sizes=(8,),
        max_epochs=1,
        kmeans_iter=2,
        random_state=0,
    ),
}

#: Estimators of all_estimators() whose checks live with their own tests.
CHECKED_ELSEWHERE = {
    "GIST": "image input; tests/features/test_gist.py",
    "PretrainedFeatures": "image input, pretrained weights; tests/features/",
}

# The search backends installed here (HammingNeighbors' ``algorithm``).
ALGORITHMS = ["numpy"]
if HAVE_NUMBA:
    ALGORITHMS += ["numba", "mih"]
for _backend in ("faiss", "torch"):
    try:
        __import__(_backend)
        ALGORITHMS.append(_backend)
    except ImportError:  # pragma: no cover
        pass


def _pipeline(searcher):
    # A hasher turns the checks' real-valued data into codes, so every check
    # also runs on the searcher (on its own it takes codes only).
    return make_pipeline(LSH(n_bits=12, random_state=0), searcher)


#: Further configurations: (instance, slow). The slow ones run with -m slow;
#: their KEY_CHECKS run by default.
VARIANTS = [
    (
        QuantizedNeighbors(OPQ(**TEST_PARAMS["OPQ"]), n_neighbors=2, algorithm="numpy"),
        False,
    ),
    (_pipeline(HammingNeighbors(n_neighbors=2)), False),
    *[(HammingNeighbors(n_neighbors=2, algorithm=a), True) for a in ALGORITHMS],
    *[
        (_pipeline(HammingNeighbors(n_neighbors=2, algorithm=a)), True)
        for a in ALGORITHMS
    ],
]

#: Estimators whose full common checks take minutes: marked slow.
SLOW = {"DQN": "hundreds of tiny fits with k-means codebook refreshes"}

# ----------------------------------------------------------------------------
# Expected failures, each with its reason
# ----------------------------------------------------------------------------
#: Checks that assign ``n_clusters = 1`` (or 2) to any estimator with that
#: attribute, a shortcut meant for clusterers. For a quantizer ``n_clusters`` is
#: the codebook size (a power of two >= 2, with ``n_bits / log2(n_clusters)``
#: subspaces), so validation rejects it. ``test_checks_that_set_n_clusters``
#: runs them again, unchanged, on a subclass that ignores the assignment.
N_CLUSTERS_CHECKS = {
    "check_dont_overwrite_parameters": ec.check_dont_overwrite_parameters,
    "check_fit2d_predict1d": ec.check_fit2d_predict1d,
    "check_methods_subset_invariance": ec.check_methods_subset_invariance,
    "check_methods_sample_order_invariance": ec.check_methods_sample_order_invariance,
    "check_fit2d_1sample": ec.check_fit2d_1sample,
    "check_fit2d_1feature": ec.check_fit2d_1feature,
}
N_CLUSTERS_REASON = (
    "sets n_clusters=1 (a clusterer shortcut); rerun on a pinned subclass"
)
# SuBiC and DQN accept the n_clusters=2 of the sample-order check.
_N_CLUSTERS_ONE = [
    c for c in N_CLUSTERS_CHECKS if c != "check_methods_sample_order_invariance"
]

EXPECTED_FAILED = {
    "HammingNeighbors": {c: CODES_ONLY_REASON for c in HAMMING_NEIGHBORS_XFAIL},
    "Pipeline": PIPELINE_XFAIL,
    "PQ": {c: N_CLUSTERS_REASON for c in N_CLUSTERS_CHECKS},
    "OPQ": {c: N_CLUSTERS_REASON for c in N_CLUSTERS_CHECKS},
    "SuBiC": {c: N_CLUSTERS_REASON for c in _N_CLUSTERS_ONE},
    "DQN": {c: N_CLUSTERS_REASON for c in _N_CLUSTERS_ONE},
}

#: What runs by default for the slow configurations: the checks that exercise
#: what differs between them (for the backends: pickling of a fitted index,
#: read-only and memory-mapped input, determinism, subset and order invariance).
KEY_CHECKS = {
    "DQN": [
        ec.check_transformer_general,
        ec.check_estimators_pickle,
        ec.check_estimators_dtypes,
        ec.check_fit_idempotent,
        ec.check_n_features_in_after_fitting,
        ec.check_estimators_overwrite_params,
        ec.check_get_params_invariance,
        ec.check_estimators_nan_inf,
        ec.check_requires_y_none,
    ],
    "Pipeline": [
        ec.check_estimators_pickle,
        ec.check_fit_idempotent,
        ec.check_methods_subset_invariance,
        ec.check_methods_sample_order_invariance,
        ec.check_readonly_memmap_input,
        ec.check_f_contiguous_array_estimator,
    ],
}

TRANSFORMER_CHECKS = [
    check_transformer_get_feature_names_out,
    check_transformer_get_feature_names_out_pandas,
    check_set_output_transform,
    check_set_output_transform_pandas,
    check_global_output_transform_pandas,
    check_get_feature_names_out_error,
]


# ----------------------------------------------------------------------------
# The estimators
# ----------------------------------------------------------------------------
def _name(estimator):
    return type(estimator).__name__


def _marks(estimator, slow=False):
    marks = []
    if slow or _name(estimator) in SLOW:
        marks.append(pytest.mark.slow)
    if type(estimator).__module__.startswith("skhash.deep"):
        marks.append(pytest.mark.torch)
    return marks


def _configurations():
    """(instance, marks) for every estimator and variant."""
    out = []
    for name, cls in all_estimators():
        if name not in CHECKED_ELSEWHERE:
            est = cls(**TEST_PARAMS[name])
            out.append((est, _marks(est)))
    out += [(est, _marks(est, slow)) for est, slow in VARIANTS]
    return out


CONFIGURATIONS = _configurations()
ESTIMATORS = [(e, m) for e, m in CONFIGURATIONS if not isinstance(e, Pipeline)]
TRANSFORMERS = [(e, m) for e, m in ESTIMATORS if hasattr(e, "transform")]


def _expected_failed(estimator):
    return EXPECTED_FAILED.get(_name(estimator), {})


def _all_checks():
    for estimator, marks in CONFIGURATIONS:
        for params in estimator_checks_generator(
            estimator,
            legacy=True,
            expected_failed_checks=_expected_failed(estimator),
            mark="xfail",
        ):
            values = getattr(params, "values", params)
            own = list(getattr(params, "marks", ()))
            yield pytest.param(*values, marks=own + marks)


def _key_checks():
    for estimator, marks in CONFIGURATIONS:
        if not any(m.name == "slow" for m in marks):
            continue
        for check in KEY_CHECKS.get(_name(estimator), []):
            other = [m for m in marks if m.name != "slow"]
            yield pytest.param(estimator, check, marks=other)


def _params(pairs, slow=True):
    # slow=False: a check cheap enough to run by default for every estimator
    return [
        pytest.param(e, marks=[m for m in marks if slow or m.name != "slow"])
        for e, marks in pairs
    ]


@pytest.fixture(autouse=True, scope="module")
def _one_torch_thread():
    # The checks fit hundreds of tiny nets: one intra-op thread avoids the
    # thread start-up and contention costs on a shared 2-core machine.
    torch = sys.modules.get("torch")
    if torch is None:
        yield
        return
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)


def test_every_estimator_has_test_params():
    for name, _ in all_estimators():
        assert (name in TEST_PARAMS) != (name in CHECKED_ELSEWHERE), name


@pytest.mark.parametrize(
    "estimator, check", list(_all_checks()), ids=_get_check_estimator_ids
)
def test_sklearn_compatible(estimator, check):
    check(estimator)


@pytest.mark.parametrize(
    "estimator, check", list(_key_checks()), ids=_get_check_estimator_ids
)
def test_key_checks(estimator, check):
    check(_name(estimator), estimator)


@pytest.mark.parametrize(
    "estimator", _params(ESTIMATORS, slow=False), ids=_get_check_estimator_ids
)
def test_param_validation(estimator):
    check_param_validation(_name(estimator), estimator)


# These checks mix DataFrame and array inputs on purpose, which warns.
@pytest.mark.filterwarnings("ignore:X does not have valid feature names")
@pytest.mark.filterwarnings("ignore:X has feature names")
@pytest.mark.parametrize("check", TRANSFORMER_CHECKS, ids=lambda c: c.__name__)
@pytest.mark.parametrize(
    "estimator", _params(TRANSFORMERS), ids=_get_check_estimator_ids
)
def test_transformer_output_checks(estimator, check):
    pytest.importorskip("pandas")
    check(_name(estimator), estimator)


def _pinned(cls):
    """Subclass whose ``n_clusters`` ignores assignments after construction."""

    class Pinned(cls):
        @property
        def n_clusters(self):
            return self._n_clusters

        @n_clusters.setter
        def n_clusters(self, value):
            if not hasattr(self, "_n_clusters"):
                self._n_clusters = value

    Pinned.__name__ = cls.__name__
    return Pinned


def _n_clusters_reruns():
    for estimator, marks in ESTIMATORS:
        for check, reason in _expected_failed(estimator).items():
            if reason == N_CLUSTERS_REASON:
                yield pytest.param(estimator, check, marks=marks)


@pytest.mark.parametrize(
    "estimator, name", list(_n_clusters_reruns()), ids=_get_check_estimator_ids
)
def test_checks_that_set_n_clusters(estimator, name):
    cls = type(estimator)
    pinned = _pinned(cls)(**estimator.get_params())
    N_CLUSTERS_CHECKS[name](cls.__name__, pinned)
    assert pinned.n_clusters == estimator.n_clusters


# Parameters that make an estimator iterative (a loop the user may watch).
_ITERATION_PARAMS = {"max_iter", "max_epochs", "n_rounds", "kmeans_iter"}


def test_every_iterative_estimator_has_verbose():
    import inspect

    from skhash.utils import all_estimators

    estimators = dict(all_estimators())
    assert {"ITQ", "CCAITQ", "PQ", "SDH"} <= set(estimators)
    missing = [
        name
        for name, cls in estimators.items()
        if _ITERATION_PARAMS & set(inspect.signature(cls).parameters)
        and "verbose" not in inspect.signature(cls).parameters
    ]
    assert missing == []
