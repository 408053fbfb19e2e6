"""Tests of PQ and of the product-quantization kernels."""

import pickle

import numpy as np
import pytest
from sklearn.cluster import KMeans
from sklearn.pipeline import make_pipeline

from skhash import HammingNeighbors
from skhash._kernels import pq as _pq
from skhash.base import QuantizerCodes
from skhash.quantization import PQ


@pytest.fixture
def X():
    return np.random.RandomState(0).normal(size=(400, 12))


def test_subspace_bounds():
    assert _pq.subspace_bounds(12, 3).tolist() == [0, 4, 8, 12]
    assert _pq.subspace_bounds(10, 3).tolist() == [0, 4, 7, 10]
    assert _pq.subspace_bounds(784, 3).tolist() == [0, 262, 523, 784]


def test_kmeans_matches_sklearn_lloyd(X):
    # Same initial centroids -> the same Lloyd iterates as scikit-learn's.
    init = X[:8].copy()
    C, labels, inertia = _pq.kmeans(X, 8, 10, None, init=init)
    km = KMeans(8, init=init, n_init=1, max_iter=10, tol=0, algorithm="lloyd")
    km.fit(X)
    np.testing.assert_allclose(np.sort(C, axis=0), np.sort(km.cluster_centers_, 0))
    np.testing.assert_allclose(inertia, km.inertia_, rtol=1e-10)


def test_kmeans_reseeds_empty_clusters():
    X = np.repeat(np.arange(6.0), 10)[:, None] + 0.01 * np.arange(60)[:, None]
    init = np.array([[0.0], [100.0], [200.0], [2.0]])  # two far, empty codewords
    C, labels, _ = _pq.kmeans(X, 4, 5, None, init=init)
    assert len(np.unique(labels)) == 4
    assert C.max() <= X.max()


def test_split_empty_clusters_prefers_error():
    # The empty row 0 becomes a perturbed copy of the only cluster with an
    # error (row 2), never of the larger zero-error cluster (row 1).
    C = np.array([[9.0, 9.0], [1.0, 1.0], [4.0, 8.0]])
    sse = np.array([0.0, 0.0, 7.0])
    _pq.split_empty_clusters(C, np.array([0, 10, 5]), sse, np.random.RandomState(0))
    eps = 1 / 1024
    np.testing.assert_allclose(C[0], [4 * (1 + eps), 8 * (1 - eps)])
    np.testing.assert_allclose(C[2], [4 * (1 - eps), 8 * (1 + eps)])
    np.testing.assert_array_equal(C[1], [1.0, 1.0])
    np.testing.assert_allclose(sse, [7 / 4, 0, 7 / 4])
    # no error anywhere: the empty row is kept
    C = np.array([[9.0, 9.0], [1.0, 1.0]])
    _pq.split_empty_clusters(C, np.array([0, 3]), np.zeros(2), None)
    np.testing.assert_array_equal(C, [[9.0, 9.0], [1.0, 1.0]])


def test_kmeans_empty_clusters_with_duplicate_points():
    # Many identical rows: random initial codewords coincide and go empty;
    # they are re-seeded on the spread-out rows, so the 40 distinct rows
    # end up with (nearly) one codeword each and a small error, deterministic
    # for a seed.
    rng = np.random.RandomState(0)
    X = np.vstack([np.zeros((400, 3)), rng.uniform(1, 2, size=(40, 3))])
    runs = [_pq.kmeans(X, 32, 25, np.random.RandomState(1)) for _ in range(2)]
    np.testing.assert_array_equal(runs[0][0], runs[1][0])
    C, labels, inertia = runs[0]
    assert len(np.unique(labels)) == 32
    assert (np.abs(C).sum(axis=1) == 0).sum() <= 1  # one codeword for the zeros
    # all 32 codewords used on 41 distinct points: well below one cluster's error
    one = ((X[400:] - X[400:].mean(0)) ** 2).sum()
    assert inertia < 0.1 * one


@pytest.mark.faiss
@pytest.mark.data
@pytest.mark.slow
def test_fashion_mnist_border_subspace_distortion_like_faiss():
    # Fashion-MNIST's first 98 pixels (mostly 0): many duplicate sub-vectors
    # and empty clusters. Re-seeding empty clusters on the farthest point was
    # 2.6% above faiss's k-means here; splitting clusters is within 1%.
    import os
    from pathlib import Path

    from skhash.datasets import load_fashion_mnist

    faiss = pytest.importorskip("faiss")
    env = os.environ.get("SKHASH_DATA")
    home = Path(env) if env else Path(__file__).resolve().parents[3] / "shared/data"
    if not (home / "fashion-mnist").is_dir():
        pytest.skip(f"real data not found at {home} (set SKHASH_DATA)")
    X, _ = load_fashion_mnist("train", data_home=home, return_X_y=True)
    X = np.ascontiguousarray(X.reshape(len(X), -1)[:, :98], dtype=np.float32)
    C, _, _ = _pq.kmeans(X[:20000], 256, 25, np.random.RandomState(0))
    ours = _pq.assign(X, C)[1].sum(dtype=np.float64)
    clus = faiss.Clustering(98, 256)
    clus.niter = 25
    clus.train(X[:20000], faiss.IndexFlatL2(98))
    Cf = faiss.vector_to_array(clus.centroids).reshape(256, 98)
    ref = _pq.assign(X, Cf)[1].sum(dtype=np.float64)
    assert ours < 1.01 * ref


def test_fit_transform_inverse(X):
    pq = PQ(n_bits=12, n_clusters=16, random_state=0).fit(X)
    assert pq.n_subspaces_ == 3 and len(pq.codebooks_) == 3
    assert pq.codebooks_[0].shape == (16, 4)
    codes = pq.transform(X)
    assert isinstance(codes, QuantizerCodes)
    assert codes.dtype == np.uint8 and codes.shape == (400, 3)
    # encoding = brute-force nearest codeword per subspace
    for m in range(3):
        sub = X[:, 4 * m : 4 * m + 4]
        d = ((sub[:, None, :] - pq.codebooks_[m][None]) ** 2).sum(-1)
        np.testing.assert_array_equal(codes[:, m], d.argmin(1))
    rec = pq.inverse_transform(codes)
    assert rec.shape == X.shape
    np.testing.assert_allclose(((X - rec) ** 2).sum(), pq.inertia_, rtol=1e-10)
    assert pq.get_feature_names_out().tolist() == ["pq0", "pq1", "pq2"]


def test_uneven_subspaces():
    X = np.random.RandomState(1).normal(size=(200, 10))
    pq = PQ(n_bits=9, n_clusters=8, random_state=0).fit(X)
    assert [c.shape[1] for c in pq.codebooks_] == [4, 3, 3]
    rec = pq.inverse_transform(pq.transform(X))
    np.testing.assert_allclose(((X - rec) ** 2).sum(), pq.inertia_, rtol=1e-10)


def test_distance_tables_are_adc(X):
    pq = PQ(n_bits=12, n_clusters=16, random_state=0).fit(X[:300])
    q, db = X[300:305], X[:50]
    T = pq.distance_tables(q)
    assert T.shape == (5, 3, 16)
    codes = pq.transform(db)
    adc = T[:, np.arange(3), codes].sum(-1)  # (5, 50)
    # PQ's asymmetric distance is the exact distance to the reconstruction
    rec = pq.inverse_transform(codes)
    exact = ((q[:, None, :] - rec[None]) ** 2).sum(-1)
    np.testing.assert_allclose(adc, exact, rtol=1e-10, atol=1e-10)


def test_symmetric_distance_tables(X):
    pq = PQ(n_bits=8, n_clusters=16, random_state=0).fit(X)
    S = pq.symmetric_distance_tables()
    assert S.shape == (2, 16, 16)
    np.testing.assert_allclose(S, S.transpose(0, 2, 1))
    assert (np.diagonal(S, axis1=1, axis2=2) == 0).all()
    a, b = pq.transform(X[:2])
    ra, rb = pq.inverse_transform(np.stack([a, b]))
    np.testing.assert_allclose(S[np.arange(2), a, b].sum(), ((ra - rb) ** 2).sum())


def test_deterministic_and_pickle(X):
    a = PQ(n_bits=8, n_clusters=16, random_state=3).fit(X)
    b = PQ(n_bits=8, n_clusters=16, random_state=3).fit(X)
    np.testing.assert_array_equal(a.transform(X), b.transform(X))
    c = pickle.loads(pickle.dumps(a))
    np.testing.assert_array_equal(a.transform(X), c.transform(X))
    assert isinstance(pickle.loads(pickle.dumps(a.transform(X))), QuantizerCodes)


def test_float32_stays_float32(X):
    pq = PQ(n_bits=8, n_clusters=16, random_state=0).fit(X.astype(np.float32))
    assert pq.codebooks_[0].dtype == np.float32
    assert pq.distance_tables(X[:3].astype(np.float32)).dtype == np.float32


@pytest.mark.parametrize(
    "params, n_features, match",
    [
        (dict(n_bits=10, n_clusters=16), 12, "n_bits=10 must be a multiple"),
        (dict(n_bits=16, n_clusters=4), 6, "n_bits=16 .* 8 subspaces"),
        (dict(n_bits=8, n_clusters=256), 12, "n_clusters=256 .* n_samples=100"),
    ],
)
def test_bad_parameters(params, n_features, match):
    X = np.random.RandomState(0).normal(size=(100, n_features))
    with pytest.raises(ValueError, match=match):
        PQ(**params).fit(X)


def test_bad_input(X):
    pq = PQ(n_bits=8, n_clusters=16, random_state=0).fit(X)
    bad = X.copy()
    bad[0, 0] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        PQ(n_bits=8, n_clusters=16).fit(bad)
    with pytest.raises(ValueError, match="12 features"):
        pq.transform(X[:, :5])
    with pytest.raises(ValueError, match="n_subspaces=2"):
        pq.inverse_transform(np.zeros((3, 3), np.uint8))
    with pytest.raises(ValueError, match=r"\[0, n_clusters=16\)"):
        pq.inverse_transform(np.full((3, 2), 16))
    with pytest.raises(ValueError, match="integer codeword"):
        pq.inverse_transform(np.full((3, 2), 0.5))


def test_verbose(X, capsys):
    PQ(n_bits=8, n_clusters=16, random_state=0, verbose=1).fit(X)
    assert "[PQ] subspace 2/2" in capsys.readouterr().out


def test_hamming_neighbors_refuses_query_codes(X):
    pq = PQ(n_bits=16, n_clusters=16, random_state=0).fit(X)
    nn = HammingNeighbors(n_neighbors=2).fit(np.zeros((5, 2), np.uint8))
    with pytest.raises(ValueError, match="QuantizedNeighbors"):
        nn.kneighbors(pq.transform(X[:3]))


def test_hamming_neighbors_refuses_database_codes(X):
    pq = PQ(n_bits=16, n_clusters=16, random_state=0).fit(X)
    with pytest.raises(ValueError, match="QuantizedNeighbors"):
        HammingNeighbors().fit(pq.transform(X))
    with pytest.raises(ValueError, match="QuantizedNeighbors"):
        make_pipeline(PQ(n_bits=16, n_clusters=16), HammingNeighbors()).fit(X)


@pytest.mark.faiss
def test_distortion_close_to_faiss():
    faiss = pytest.importorskip("faiss")
    rng = np.random.RandomState(0)
    X = (rng.normal(size=(3000, 16)) @ rng.normal(size=(16, 16))).astype(np.float32)
    ours = PQ(n_bits=16, n_clusters=16, random_state=0).fit(X)
    err = ((X - ours.inverse_transform(ours.transform(X))) ** 2).sum()
    fpq = faiss.ProductQuantizer(16, 4, 4)
    fpq.train(X)
    ferr = ((X - fpq.decode(fpq.compute_codes(X))) ** 2).sum()
    assert abs(err - ferr) / ferr < 0.03
