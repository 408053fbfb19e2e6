"""retrieval_split protocols and the exact Euclidean ground truth."""

import numpy as np
import pytest

from skhash.datasets import PROTOCOLS, euclidean_ground_truth, retrieval_split


def _labels(n_per_class, n_classes=10, seed=0):
    return np.random.default_rng(seed).permutation(
        np.repeat(np.arange(n_classes), n_per_class)
    )


def test_cifar10_dnnh_sizes_balance_and_determinism():
    y = _labels(6000)
    s = retrieval_split(y, protocol="cifar10-dnnh", random_state=0)
    assert (len(s.query), len(s.train), len(s.database)) == (1000, 5000, 59000)
    assert np.bincount(y[s.query]).tolist() == [100] * 10
    assert np.bincount(y[s.train]).tolist() == [500] * 10
    assert np.intersect1d(s.query, s.database).size == 0
    assert np.isin(s.train, s.database).all()
    assert s.relevance == "label" and s.n_neighbors is None
    again = retrieval_split(y, protocol="cifar10-dnnh", random_state=0)
    other = retrieval_split(y, protocol="cifar10-dnnh", random_state=1)
    np.testing.assert_array_equal(s.query, again.query)
    np.testing.assert_array_equal(s.train, again.train)
    assert not np.array_equal(s.query, other.query)


@pytest.mark.parametrize("name", ["mnist-dnnh", "fashion-mnist-dnnh"])
def test_mnist_dnnh(name):
    y = _labels(7000)
    s = retrieval_split(y, protocol=name, random_state=3)
    assert (len(s.query), len(s.train), len(s.database)) == (1000, 5000, 69000)


@pytest.mark.parametrize(
    "name, n_train, n_test, db, relevance",
    [
        ("cifar10-dsh", 50000, 10000, "test", "label"),
        ("cifar10-bdnn", 50000, 10000, "train", "euclidean"),
        ("mnist-dsh", 60000, 10000, "test", "label"),
        ("mnist-bdnn", 60000, 10000, "train", "euclidean"),
        ("fashion-mnist-dsh", 60000, 10000, "test", "label"),
        ("fashion-mnist-bdnn", 60000, 10000, "train", "euclidean"),
    ],
)
def test_official_split_protocols(name, n_train, n_test, db, relevance):
    y = np.arange(n_train + n_test) % 10
    s = retrieval_split(y, protocol=name)
    np.testing.assert_array_equal(s.query, np.arange(n_train, n_train + n_test))
    np.testing.assert_array_equal(s.train, np.arange(n_train))
    np.testing.assert_array_equal(s.database, s.query if db == "test" else s.train)
    assert s.relevance == relevance
    if relevance == "euclidean":
        assert s.n_neighbors == 50
    # An explicit split (e.g. the loaders' Bunch.split) overrides the layout.
    split = np.where(np.arange(20) % 4 == 0, "test", "train")
    s = retrieval_split(np.zeros(20), protocol=name, split=split)
    np.testing.assert_array_equal(s.query, np.arange(0, 20, 4))
    with pytest.raises(ValueError, match="official train/test split"):
        retrieval_split(np.zeros(20), protocol=name)


def test_custom_split_databases():
    y = _labels(20, n_classes=3)
    kw = dict(n_query_per_class=2, n_train_per_class=5, random_state=0)
    rest = retrieval_split(y, database="rest", **kw)
    assert len(rest.database) == 54
    assert len(retrieval_split(y, database="all", **kw).database) == 60
    tr = retrieval_split(y, database="train", **kw)
    np.testing.assert_array_equal(tr.database, tr.train)
    dis = retrieval_split(y, database="disjoint", **kw)
    assert len(dis.database) == 60 - 6 - 15
    assert np.intersect1d(dis.database, dis.train).size == 0
    everything = retrieval_split(y, n_query_per_class=2, random_state=0)
    assert len(everything.train) == 54
    # string labels work too
    s = retrieval_split(np.array(["a", "b"] * 5), n_query_per_class=1, random_state=0)
    assert len(s.query) == 2


def test_multilabel_per_label():
    rng = np.random.default_rng(0)
    Y = (rng.random((300, 4)) < 0.4).astype(int)
    s = retrieval_split(Y, n_query_per_class=5, n_train_per_class=10, random_state=0)
    assert len(s.query) == 20 and len(np.unique(s.query)) == 20
    assert (Y[s.query].sum(axis=0) >= 5).all()
    assert len(s.train) == 40 and np.intersect1d(s.query, s.train).size == 0
    with pytest.raises(ValueError, match="indicator"):
        retrieval_split(Y * 2, n_query_per_class=1)


def test_split_errors():
    y = _labels(3, n_classes=2)
    with pytest.raises(ValueError, match="Unknown protocol"):
        retrieval_split(y, protocol="nope")
    with pytest.raises(ValueError, match="60,000"):
        retrieval_split(y, protocol="cifar10-dnnh")
    with pytest.raises(ValueError, match="only 3 eligible"):
        retrieval_split(y, n_query_per_class=4)
    with pytest.raises(ValueError, match="n_query_per_class"):
        retrieval_split(y)
    with pytest.raises(ValueError, match="n_train_per_class"):
        retrieval_split(y, n_query_per_class=1, n_train_per_class=-1)
    with pytest.raises(ValueError, match="database"):
        retrieval_split(y, n_query_per_class=1, database="test")
    assert set(PROTOCOLS) >= {"cifar10-dnnh", "cifar10-dsh", "mnist-bdnn"}


@pytest.mark.parametrize(
    "old, new",
    [("bdnn-mnist", "mnist-bdnn"), ("bdnn-fashion-mnist", "fashion-mnist-bdnn")],
)
def test_renamed_protocols_still_work_with_a_future_warning(old, new):
    # every protocol is named "<dataset>-<paper>"
    assert all(name.rpartition("-")[2] in ("dnnh", "dsh", "bdnn") for name in PROTOCOLS)
    assert old not in PROTOCOLS
    y = np.arange(70000) % 10
    with pytest.warns(FutureWarning, match=f"{old!r} was renamed {new!r}"):
        s_old = retrieval_split(y, protocol=old)
    s_new = retrieval_split(y, protocol=new)
    assert s_old.protocol == new
    for part in ("query", "train", "database"):
        np.testing.assert_array_equal(s_old[part], s_new[part])


def _brute(Q, D, k):
    d = ((Q[:, None, :] - D[None, :, :]) ** 2).sum(-1)
    idx = np.array([np.lexsort((np.arange(len(D)), row))[:k] for row in d])
    return np.sqrt(np.take_along_axis(d, idx, 1)), idx


@pytest.mark.parametrize("chunk_size", [None, 1, 7])
def test_ground_truth_equals_brute_force_with_ties(chunk_size):
    rng = np.random.default_rng(0)
    D = rng.integers(0, 3, size=(200, 4)).astype(float)  # many exact ties
    Q = rng.integers(0, 3, size=(15, 4)).astype(float)
    dist, idx = euclidean_ground_truth(
        Q, D, 25, chunk_size=chunk_size, return_distance=True
    )
    want_d, want_i = _brute(Q, D, 25)
    np.testing.assert_array_equal(idx, want_i)
    np.testing.assert_allclose(dist, want_d)


def test_ground_truth_float_data():
    rng = np.random.default_rng(1)
    D = rng.normal(size=(300, 16)) * 1e3 + 5e3
    Q = D[:10] + rng.normal(size=(10, 16)) * 1e-3
    idx = euclidean_ground_truth(Q, D, 10, chunk_size=4)
    np.testing.assert_array_equal(idx, _brute(Q, D, 10)[1])
    assert (idx[:, 0] == np.arange(10)).all()


def test_ground_truth_errors():
    D = np.zeros((5, 2))
    with pytest.raises(ValueError, match="k must be"):
        euclidean_ground_truth(D, D, 6)
    with pytest.raises(ValueError, match="features"):
        euclidean_ground_truth(np.zeros((1, 3)), D, 1)
    with pytest.raises(ValueError, match="NaN"):
        euclidean_ground_truth(np.full((1, 2), np.nan), D, 1)
