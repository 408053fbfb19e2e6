"""What BaseSearcher gives both searchers: labels, k checks, voting, graphs."""

import pickle

import numpy as np
import pytest
from scipy import sparse
from sklearn.base import clone

from skhash import HammingNeighbors, pack_bits
from skhash.neighbors import BaseSearcher
from skhash.neighbors._base import RadiusNeighborsMixin
from skhash.quantization import PQ, QuantizedNeighbors


@pytest.fixture
def vectors():
    rng = np.random.RandomState(0)
    y = rng.randint(0, 3, size=120)
    X = rng.normal(size=(120, 8)) + 2 * y[:, None]
    return X, y


def _searchers(X, y):
    codes = pack_bits(X >= X.mean(axis=0))
    hn = HammingNeighbors(n_neighbors=5).fit(codes, y)
    qn = QuantizedNeighbors(
        PQ(n_bits=8, n_clusters=16, random_state=0), n_neighbors=5, algorithm="numpy"
    ).fit(X, y)
    return (hn, codes), (qn, X)


def test_both_searchers_share_the_base():
    """Check that predict, score and the graph come from one class."""
    for cls in (HammingNeighbors, QuantizedNeighbors):
        assert issubclass(cls, BaseSearcher)
        for name in ("predict", "score", "kneighbors_graph", "_check_k"):
            assert getattr(cls, name) is getattr(BaseSearcher, name), (cls, name)
    assert issubclass(HammingNeighbors, RadiusNeighborsMixin)
    assert not hasattr(QuantizedNeighbors, "radius_neighbors_graph")


def test_labels_attribute(vectors):
    """Check that labels_ holds the database labels, or None without y."""
    X, y = vectors
    for nn, Q in _searchers(X, y):
        assert nn.labels_ is not None
        np.testing.assert_array_equal(nn.labels_, y)
        # the private name still reads (and writes) the same labels
        assert nn._fit_y is nn.labels_
        unlabelled = clone(nn).fit(Q)
        assert unlabelled.labels_ is None
        with pytest.raises(ValueError, match=f"fit {type(nn).__name__} with y"):
            unlabelled.predict(Q[:3])
        with pytest.raises(ValueError, match=f"fit {type(nn).__name__} with y"):
            unlabelled.score(Q[:3], y[:3])
        unlabelled._fit_y = y
        np.testing.assert_array_equal(unlabelled.predict(Q[:3]), nn.predict(Q[:3]))


def test_pickled_private_labels_load(vectors):
    """Check that a searcher pickled with ``_fit_y`` loads with ``labels_``."""
    X, y = vectors
    for nn, Q in _searchers(X, y):
        state = dict(nn.__getstate__())
        state["_fit_y"] = state.pop("labels_")
        old = type(nn).__new__(type(nn))
        old.__setstate__(state)
        assert "_fit_y" not in vars(old)
        np.testing.assert_array_equal(old.labels_, y)
        np.testing.assert_array_equal(old.predict(Q[:10]), nn.predict(Q[:10]))
        assert old.score(Q[:20], y[:20]) == nn.score(Q[:20], y[:20])
        again = pickle.loads(pickle.dumps(old))
        np.testing.assert_array_equal(again.labels_, y)


@pytest.mark.parametrize("multi_label", [False, True])
def test_predict_is_a_majority_vote(vectors, multi_label):
    """Check predict against a vote over kneighbors, ties to the smallest label."""
    X, y = vectors
    if multi_label:
        y = np.column_stack([y == 0, y != 1]).astype(int)
    for nn, Q in _searchers(X, y):
        ind = nn.kneighbors(Q[:30], return_distance=False)
        labels = y[ind]
        expected = []
        for col in (labels[..., None] if y.ndim == 1 else labels).transpose(2, 0, 1):
            counts = np.stack([(col == c).sum(axis=1) for c in np.unique(y)], axis=1)
            expected.append(np.unique(y)[np.argmax(counts, axis=1)])
        expected = expected[0] if y.ndim == 1 else np.column_stack(expected)
        np.testing.assert_array_equal(nn.predict(Q[:30]), expected)


def test_k_larger_than_database(vectors):
    """Check the n_neighbors error, and its self-query variant."""
    X, y = vectors
    (hn, codes), (qn, _) = _searchers(X, y)
    with pytest.raises(ValueError, match="n_neighbors = 121, n_samples_fit = 120."):
        qn.kneighbors(X[:2], n_neighbors=121)
    with pytest.raises(ValueError, match=r"120 \(minus the query itself\)"):
        hn.kneighbors(n_neighbors=120)


@pytest.mark.parametrize("mode", ["connectivity", "distance"])
def test_kneighbors_graph_of_both_searchers(vectors, mode):
    """Check that the graph holds the kneighbors result row by row."""
    X, y = vectors
    for nn, Q in _searchers(X, y):
        graph = nn.kneighbors_graph(Q[:7], n_neighbors=4, mode=mode)
        assert sparse.issparse(graph) and graph.format == "csr"
        assert graph.shape == (7, nn.n_samples_fit_)
        dist, ind = nn.kneighbors(Q[:7], n_neighbors=4)
        np.testing.assert_array_equal(graph.indices.reshape(7, 4), ind)
        expected = np.ones_like(dist) if mode == "connectivity" else dist
        np.testing.assert_allclose(graph.data.reshape(7, 4), expected)
    with pytest.raises(ValueError, match="mode must be"):
        nn.kneighbors_graph(Q[:2], mode="weights")
