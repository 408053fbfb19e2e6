"""One BLAS thread around the small matrix products of iterative fits."""

import pytest
from sklearn.datasets import load_digits
from threadpoolctl import threadpool_info, threadpool_limits

import skhash._blas
from skhash import CCAITQ, ITQ, KSH, OPQ, PQ
from skhash._kernels import ksh as _ksh
from skhash._kernels import pq as _pq
from skhash.linear import _cca_itq, _itq


def _blas_threads():
    return {i["num_threads"] for i in threadpool_info() if i["user_api"] == "blas"}


def _spy(monkeypatch, module, name):
    """Record the BLAS threads each call of ``module.name`` runs with."""
    seen = []
    original = getattr(module, name)

    def spy(*args, **kwargs):
        seen.append(_blas_threads())
        return original(*args, **kwargs)

    monkeypatch.setattr(module, name, spy)
    return seen


CASES = [
    (ITQ(n_bits=16, max_iter=3, random_state=0), _itq, "itq_rotation"),
    (CCAITQ(n_bits=8, max_iter=3, random_state=0), _cca_itq, "itq_rotation"),
    (PQ(n_bits=16, n_clusters=16, max_iter=3, random_state=0), _pq, "kmeans"),
    (
        OPQ(n_bits=16, n_clusters=16, max_iter=2, kmeans_iter=2, random_state=0),
        _pq,
        "procrustes",
    ),
    (
        KSH(n_bits=8, n_anchors=50, n_labeled=200, max_iter=5, random_state=0),
        _ksh,
        "greedy_ksh",
    ),
]


@pytest.mark.parametrize(
    "est, module, name", CASES, ids=[type(c[0]).__name__ for c in CASES]
)
def test_small_fits_run_on_one_blas_thread(est, module, name, monkeypatch):
    if not _blas_threads():
        pytest.skip("no BLAS library seen by threadpoolctl")
    X, y = load_digits(return_X_y=True)
    X = X[:300]
    seen = _spy(monkeypatch, module, name)
    with threadpool_limits(limits=2, user_api="blas"):
        est.fit(X, y[:300])
        assert _blas_threads() == {2}  # restored after fit
    assert seen and all(s == {1} for s in seen), seen
    # large products keep the threads they were given
    monkeypatch.setattr(skhash._blas, "SMALL_PRODUCT", 0)
    seen.clear()
    with threadpool_limits(limits=2, user_api="blas"):
        est.fit(X, y[:300])
    assert seen and all(s == {2} for s in seen), seen


def test_blas_limit_context():
    with threadpool_limits(limits=2, user_api="blas"):
        with skhash._blas.limit_blas_threads(10):
            inner = _blas_threads()
        with skhash._blas.limit_blas_threads(skhash._blas.SMALL_PRODUCT):
            big = _blas_threads()
    assert inner <= {1} and big <= {2}
