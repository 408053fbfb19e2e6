"""Tests of QuantizedNeighbors: exact ADC search, scoring, prediction."""

import pickle

import numpy as np
import pytest
from sklearn.pipeline import make_pipeline

from skhash._kernels import pq as _pq
from skhash.metrics import mean_average_precision
from skhash.quantization import OPQ, PQ, QuantizedNeighbors

ALGORITHMS = ["numpy", "numba", "auto"]


def _naive(T, codes):
    """ADC by a plain loop over subspaces, in the tables' dtype."""
    d = np.zeros((T.shape[0], codes.shape[0]), dtype=T.dtype)
    for m in range(T.shape[1]):
        d = d + T[:, m, :][:, codes[:, m]]
    return d


def _naive_knn(D, k):
    ind = np.array([np.lexsort((np.arange(D.shape[1]), row))[:k] for row in D])
    return np.take_along_axis(D, ind, axis=1), ind


def _algorithm(algorithm):
    if algorithm == "numba":
        pytest.importorskip("numba")
    return algorithm


@pytest.fixture
def data():
    rng = np.random.RandomState(0)
    y = rng.randint(0, 4, size=500)
    X = rng.normal(size=(500, 8)) + 2 * y[:, None]
    return X, y


@pytest.mark.parametrize("algorithm", ALGORITHMS)
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("k", [1, 7, 500])
def test_kneighbors_exact_with_ties(data, algorithm, dtype, k):
    # Two codewords per subspace and two subspaces: at most 4 distinct codes,
    # so nearly every distance is tied and the index tie rule decides.
    X, y = data
    X = X.astype(dtype)
    nn = QuantizedNeighbors(
        PQ(n_bits=2, n_clusters=2, random_state=0),
        n_neighbors=k,
        algorithm=_algorithm(algorithm),
    ).fit(X, y)
    dist, ind = nn.kneighbors(X[:30])
    T = nn.quantizer_.distance_tables(X[:30])
    d_ref, i_ref = _naive_knn(_naive(T, nn.codes_), k)
    np.testing.assert_array_equal(ind, i_ref)
    np.testing.assert_array_equal(dist, d_ref)
    assert dist.dtype == dtype and ind.dtype == np.int64


@pytest.mark.parametrize("algorithm", ["numpy", "numba"])
def test_kneighbors_exact_continuous(data, algorithm):
    X, y = data
    nn = QuantizedNeighbors(
        OPQ(n_bits=8, n_clusters=16, max_iter=3, random_state=0),
        n_neighbors=20,
        algorithm=_algorithm(algorithm),
    ).fit(X[:400], y[:400])
    dist, ind = nn.kneighbors(X[400:])
    d_ref, i_ref = _naive_knn(
        _naive(nn.quantizer_.distance_tables(X[400:]), nn.codes_), 20
    )
    np.testing.assert_array_equal(ind, i_ref)
    np.testing.assert_array_equal(dist, d_ref)
    assert nn.kneighbors(X[400:], return_distance=False).shape == (100, 20)


def test_numpy_blocks_bound_memory(data, monkeypatch):
    X, y = data
    nn = QuantizedNeighbors(
        PQ(n_bits=4, n_clusters=4, random_state=0), n_neighbors=9, algorithm="numpy"
    ).fit(X, y)
    full = nn.kneighbors(X[:50])
    monkeypatch.setattr(_pq, "BLOCK_BYTES", 8 * 500 * 3)  # 3 queries per block
    blocked = nn.kneighbors(X[:50])
    np.testing.assert_array_equal(full[1], blocked[1])
    np.testing.assert_array_equal(full[0], blocked[0])


def test_score_is_full_ranking_map(data):
    X, y = data
    nn = QuantizedNeighbors(
        PQ(n_bits=8, n_clusters=16, random_state=0), algorithm="numpy"
    ).fit(X[:400], y[:400])
    T = nn.quantizer_.distance_tables(X[400:])
    _, ranking = _naive_knn(_naive(T, nn.codes_), 400)
    expected = mean_average_precision(y[400:], y[:400], ranking)
    assert nn.score(X[400:], y[400:]) == pytest.approx(expected, abs=1e-12)
    assert expected > 0.5  # well-separated classes


def test_predict_and_pipeline(data):
    X, y = data
    nn = QuantizedNeighbors(PQ(n_bits=8, n_clusters=16, random_state=0), 5)
    nn.fit(X[:400], y[:400])
    pred = nn.predict(X[400:])
    ind = nn.kneighbors(X[400:], return_distance=False)
    votes = np.array([np.bincount(y[:400][i], minlength=4).argmax() for i in ind])
    np.testing.assert_array_equal(pred, votes)
    # multi-label indicator targets vote per column
    Y = np.eye(4, dtype=int)[y]
    nn2 = QuantizedNeighbors(PQ(n_bits=8, n_clusters=16, random_state=0), 5)
    assert nn2.fit(X[:400], Y[:400]).predict(X[400:]).shape == (100, 4)
    # in a pipeline, after a scaler
    from sklearn.preprocessing import StandardScaler

    pipe = make_pipeline(StandardScaler(), nn).fit(X[:400], y[:400])
    assert 0 < pipe.score(X[400:], y[400:]) <= 1


def test_default_quantizer_pickle_determinism():
    rng = np.random.RandomState(0)
    X = rng.normal(size=(300, 16)).astype(np.float32)
    nn = QuantizedNeighbors().fit(X)  # PQ(): 32 bits, 256 codewords
    assert nn.codes_.shape == (300, 4) and nn.codes_.dtype == np.uint8
    seeded = [
        QuantizedNeighbors(PQ(n_bits=8, n_clusters=16, random_state=1)).fit(X)
        for _ in range(2)
    ]
    np.testing.assert_array_equal(seeded[0].codes_, seeded[1].codes_)
    restored = pickle.loads(pickle.dumps(seeded[0]))
    np.testing.assert_array_equal(
        restored.kneighbors(X[:5])[1], seeded[0].kneighbors(X[:5])[1]
    )


def test_errors(data):
    X, y = data
    nn = QuantizedNeighbors(PQ(n_bits=4, n_clusters=4, random_state=0)).fit(X[:100])
    with pytest.raises(ValueError, match="n_neighbors = 101"):
        nn.kneighbors(X[:2], n_neighbors=101)
    with pytest.raises(ValueError, match="positive integer"):
        nn.kneighbors(X[:2], n_neighbors=0)
    with pytest.raises(ValueError, match="database labels"):
        nn.score(X[:2], y[:2])
    with pytest.raises(ValueError, match="database labels"):
        nn.predict(X[:2])
    with pytest.raises(ValueError, match="8 features"):
        nn.kneighbors(X[:2, :5])
    with pytest.raises(ValueError, match="n_clusters=4 .* n_samples=3"):
        QuantizedNeighbors(PQ(n_bits=4, n_clusters=4)).fit(X[:3])


@pytest.mark.parametrize("group", [1, 3, 8])
def test_numba_adc_query_groups_match_numpy(group):
    """Grouped queries give the same result as the NumPy path."""
    pytest.importorskip("numba")
    from skhash._kernels import pq_numba

    rng = np.random.default_rng(group)
    T = rng.random((10, 4, 16)).astype(np.float32)
    T = np.round(T * 4) / 4  # coarse values: many ties
    codes = rng.integers(0, 16, (700, 4), dtype=np.uint8)
    d_ref, i_ref = _pq.adc_kneighbors_numpy(T, codes, 25)
    d, i = pq_numba.adc_topk(T, codes, 25, group)
    np.testing.assert_array_equal(i, i_ref)
    np.testing.assert_array_equal(d, d_ref)
    assert pq_numba.group_size(1000, 2) == pq_numba.GROUP
    assert pq_numba.group_size(6, 2) == 3 and pq_numba.group_size(1, 2) == 1


@pytest.mark.parametrize("cls", [PQ, OPQ])
def test_frozen_quantizer_indexes_another_set(data, cls):
    # Train on 200 vectors, index the other 300: the frozen quantizer is used
    # as it is (not refitted on the database), the codes are its transform.
    from sklearn.base import clone
    from sklearn.frozen import FrozenEstimator

    X, y = data
    params = dict(n_bits=8, n_clusters=16, random_state=0)
    if cls is OPQ:
        params["max_iter"] = 2
    q = cls(**params).fit(X[:200])
    nn = QuantizedNeighbors(FrozenEstimator(q), n_neighbors=5, algorithm="numpy")
    nn.fit(X[200:], y[200:])
    np.testing.assert_array_equal(nn.codes_, q.transform(X[200:]))
    assert nn.quantizer_.estimator is q
    assert nn.n_samples_fit_ == 300 and nn.n_features_in_ == 8
    dist, ind = nn.kneighbors(X[:20])
    d_ref, i_ref = _naive_knn(_naive(q.distance_tables(X[:20]), nn.codes_), 5)
    np.testing.assert_array_equal(ind, i_ref)
    np.testing.assert_array_equal(dist, d_ref)
    assert 0 < nn.score(X[:20], y[:20]) <= 1
    # unfrozen, the same quantizer is refitted on the database: other codebooks
    refit = QuantizedNeighbors(clone(q), n_neighbors=5).fit(X[200:])
    assert not all(
        np.array_equal(a, b)
        for a, b in zip(refit.quantizer_.codebooks_, q.codebooks_, strict=True)
    )
    # clone keeps the fitted quantizer; pickling keeps the search
    again = clone(nn).fit(X[200:], y[200:])
    np.testing.assert_array_equal(again.kneighbors(X[:20])[1], ind)
    restored = pickle.loads(pickle.dumps(nn))
    np.testing.assert_array_equal(restored.kneighbors(X[:20])[1], ind)


def test_frozen_unfitted_quantizer_error(data):
    from sklearn.exceptions import NotFittedError
    from sklearn.frozen import FrozenEstimator

    X, _ = data
    nn = QuantizedNeighbors(FrozenEstimator(PQ(n_bits=8, n_clusters=16)))
    with pytest.raises(NotFittedError, match="quantizer is a FrozenEstimator"):
        nn.fit(X)


def _digits():
    from sklearn.datasets import load_digits

    X, y = load_digits(return_X_y=True)
    return X.astype(np.float32), y


@pytest.mark.parametrize("cls", [PQ, OPQ])
@pytest.mark.parametrize("n_bits", [8, 32, 64])
def test_fastscan_rerank_equals_exact_adc(cls, n_bits):
    # Digits: 1,697 database images (not a multiple of 32), 100 queries.
    X, y = _digits()
    params = dict(n_bits=n_bits, n_clusters=16, random_state=0)
    if cls is OPQ:
        params["max_iter"] = 3
    q = cls(**params).fit(X[100:])
    from sklearn.frozen import FrozenEstimator

    exact = QuantizedNeighbors(FrozenEstimator(q), n_neighbors=10).fit(X[100:], y[100:])
    fast = QuantizedNeighbors(
        FrozenEstimator(q), n_neighbors=10, algorithm="fastscan", rerank=10
    ).fit(X[100:], y[100:])
    certain = QuantizedNeighbors(
        FrozenEstimator(q), n_neighbors=10, algorithm="fastscan", rerank="exact"
    ).fit(X[100:], y[100:])
    assert fast.packed_codes_.shape == (-(-1697 // 32), -(-(n_bits // 4) // 2), 32)
    for k in (1, 10, 100):
        d_ref, i_ref = exact.kneighbors(X[:100], n_neighbors=k)
        for searcher in (fast, certain):
            d, i = searcher.kneighbors(X[:100], n_neighbors=k)
            np.testing.assert_array_equal(i, i_ref)
            np.testing.assert_array_equal(d, d_ref)
    assert fast.score(X[:100], y[:100]) == pytest.approx(exact.score(X[:100], y[:100]))


def test_fastscan_without_rerank_is_within_its_bound(data):
    from skhash._kernels import pq_fastscan as fs

    X, y = data
    nn = QuantizedNeighbors(
        PQ(n_bits=16, n_clusters=16, random_state=0),
        n_neighbors=30,
        algorithm="fastscan",
    ).fit(X, y)
    dist, ind = nn.kneighbors(X[:40])
    T = nn.quantizer_.distance_tables(X[:40])
    exact = _naive(T, nn.codes_)
    _, scale, _ = fs.quantize_tables(T)
    bound = fs.error_bound(scale, 4)[:, None]
    # the distances of the returned items are within the bound of their exact
    # ADC distances, and no item left out is closer than the k-th by 2 bounds
    ex_ret = np.take_along_axis(exact, ind, axis=1)
    assert (np.abs(dist - ex_ret) <= bound * (1 + 1e-6) + 1e-6).all()
    assert (np.diff(dist, axis=1) >= 0).all()
    left_out = exact.copy()
    np.put_along_axis(left_out, ind, np.inf, axis=1)
    assert (left_out.min(axis=1) >= ex_ret.max(axis=1) - 2 * bound[:, 0] - 1e-6).all()
    # the ranking is that of the reference kernel on the same quantized tables
    Q, _, _ = fs.quantize_tables(T)
    _, i_ref = fs.fastscan_kneighbors_numpy(Q, nn.packed_codes_, 500, 30)
    np.testing.assert_array_equal(ind, i_ref)


def test_fastscan_errors(data):
    X, y = data
    with pytest.raises(ValueError, match="n_clusters=16, got n_clusters=256"):
        QuantizedNeighbors(PQ(n_bits=8), algorithm="fastscan").fit(X)
    with pytest.raises(ValueError, match="rerank=4 applies to algorithm='fastscan'"):
        QuantizedNeighbors(PQ(n_bits=8, n_clusters=16), rerank=4).fit(X)
    with pytest.raises(ValueError, match="rerank='exact' applies"):
        QuantizedNeighbors(PQ(n_bits=8, n_clusters=16), rerank="exact").fit(X)
    with pytest.raises(ValueError, match="rerank"):
        QuantizedNeighbors(
            PQ(n_bits=8, n_clusters=16), algorithm="fastscan", rerank="all"
        ).fit(X)
    nn = QuantizedNeighbors(PQ(n_bits=8, n_clusters=16, random_state=0)).fit(X)
    assert not hasattr(nn, "packed_codes_")
    # switched to the fast scan after fit: packed on the fly, same ranking
    nn.set_params(algorithm="fastscan", rerank=50)
    fast_ind = nn.kneighbors(X[:5], return_distance=False)
    assert not hasattr(nn, "packed_codes_")
    nn.set_params(algorithm="numpy", rerank=None)
    np.testing.assert_array_equal(fast_ind, nn.kneighbors(X[:5], return_distance=False))
    nn.set_params(rerank=3)
    with pytest.raises(ValueError, match="rerank=3 applies"):
        nn.kneighbors(X[:5])


def test_fastscan_dqn_codes():
    pytest.importorskip("torch")
    pytest.importorskip("skorch")
    from skhash.deep import DQN

    X, y = _digits()
    dqn = DQN(
        n_bits=16,
        n_clusters=16,
        bottleneck=16,
        hidden_layer_sizes=(32,),
        max_epochs=2,
        random_state=0,
    ).fit(X[:600] / 16, y[:600])
    from sklearn.frozen import FrozenEstimator

    exact = QuantizedNeighbors(FrozenEstimator(dqn), n_neighbors=5).fit(X[100:600] / 16)
    d_ref, i_ref = exact.kneighbors(X[:50] / 16)
    for rerank in (10, "exact"):
        fast = QuantizedNeighbors(
            FrozenEstimator(dqn), n_neighbors=5, algorithm="fastscan", rerank=rerank
        ).fit(X[100:600] / 16)
        d, i = fast.kneighbors(X[:50] / 16)
        np.testing.assert_array_equal(i, i_ref)
        np.testing.assert_array_equal(d, d_ref)
