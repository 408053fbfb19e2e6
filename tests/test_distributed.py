"""Dask helpers: blockwise encoding and sharded exact k-NN on a LocalCluster."""

import numpy as np
import pytest

from skhash import ITQ, LSH, HammingNeighbors

da = pytest.importorskip("dask.array")
distributed = pytest.importorskip("distributed")

from skhash.distributed import encode, kneighbors  # noqa: E402


@pytest.fixture(scope="module")
def client():
    cluster = distributed.LocalCluster(
        n_workers=1, threads_per_worker=2, processes=False, dashboard_address=None
    )
    with distributed.Client(cluster) as c:
        yield c
    cluster.close()


def test_encode_and_sharded_knn_on_cluster(client):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(900, 10))
    itq = ITQ(n_bits=9, max_iter=5, random_state=0).fit(X)  # 2 bytes, 7 padding
    Xd = da.from_array(X, chunks=(250, 5))
    codes = encode(itq, Xd)
    assert codes.shape == (900, 2) and codes.chunks[0] == (250, 250, 250, 150)
    ref_codes = itq.transform(X)
    np.testing.assert_array_equal(codes.compute(), ref_codes)
    q = ref_codes[:40]
    for k in (1, 25, 140):
        dist, ind = kneighbors(q, codes, k)
        d_ref, i_ref = HammingNeighbors(n_neighbors=k).fit(ref_codes).kneighbors(q)
        np.testing.assert_array_equal(ind, i_ref)
        np.testing.assert_array_equal(dist, d_ref)
    # k larger than a shard: shards return what they have, the merge is exact
    dist, ind = kneighbors(q, codes.rechunk((100, 2)), 300, algorithm="numpy")
    d_ref, i_ref = HammingNeighbors(n_neighbors=300).fit(ref_codes).kneighbors(q)
    np.testing.assert_array_equal(ind, i_ref)
    np.testing.assert_array_equal(dist, d_ref)


def test_errors():
    rng = np.random.default_rng(1)
    lsh = LSH(n_bits=8, random_state=0).fit(rng.normal(size=(20, 3)))
    with pytest.raises(TypeError, match="dask array"):
        encode(lsh, np.zeros((3, 3)))
    db = da.from_array(rng.integers(0, 256, (50, 2), dtype=np.uint8), chunks=20)
    with pytest.raises(ValueError, match="n_neighbors"):
        kneighbors(np.zeros((1, 2), np.uint8), db, 51)
    with pytest.raises(ValueError, match="byte"):
        kneighbors(np.zeros((1, 3), np.uint8), db, 5)
