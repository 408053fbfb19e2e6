"""HammingNeighbors against a brute-force oracle (ties by index), and its errors."""

import numpy as np
import pytest
from scipy import sparse

from skhash import HammingNeighbors, hamming_distance, pack_bits


def _codes(rng, n, n_bits, p=0.5):
    return pack_bits((rng.random((n, n_bits)) < p).astype(np.uint8))


def _oracle_knn(q, db, k):
    D = hamming_distance(q, db)
    idx = np.broadcast_to(np.arange(db.shape[0]), D.shape)
    order = np.lexsort((idx, D), axis=1)[:, :k]
    return np.take_along_axis(D, order, 1), order


@pytest.mark.parametrize("n_bits", [1, 3, 7, 8, 9, 16, 31, 64, 65, 100, 128])
def test_kneighbors_equals_brute_force(n_bits):
    rng = np.random.default_rng(n_bits)
    # Skewed bits give many ties.
    db = _codes(rng, 300, n_bits, p=0.2)
    q = _codes(rng, 25, n_bits, p=0.2)
    k = min(40, 300)
    nn = HammingNeighbors(n_neighbors=k).fit(db)
    dist, ind = nn.kneighbors(q)
    d_ref, i_ref = _oracle_knn(q, db, k)
    np.testing.assert_array_equal(ind, i_ref)
    np.testing.assert_array_equal(dist, d_ref)
    assert dist.dtype == np.int32 and ind.dtype == np.int64


def test_kneighbors_small_blocks_and_threads():
    from skhash.neighbors._brute import BruteSearcher

    rng = np.random.default_rng(0)
    db, q = _codes(rng, 1000, 24), _codes(rng, 70, 24)
    s = BruteSearcher(db, block_bytes=3000)  # forces many query blocks
    assert s.block_rows == 3
    dist, ind = s.kneighbors(q, 15, n_jobs=2)
    d_ref, i_ref = _oracle_knn(q, db, 15)
    np.testing.assert_array_equal(ind, i_ref)
    np.testing.assert_array_equal(dist, d_ref)


def test_kneighbors_all_database():
    rng = np.random.default_rng(1)
    db, q = _codes(rng, 50, 10), _codes(rng, 5, 10)
    dist, ind = HammingNeighbors().fit(db).kneighbors(q, n_neighbors=50)
    d_ref, i_ref = _oracle_knn(q, db, 50)
    np.testing.assert_array_equal(ind, i_ref)


def test_kneighbors_self_query_excludes_self():
    rng = np.random.default_rng(2)
    db = _codes(rng, 80, 6)  # 6 bits, 80 codes: many exact duplicates
    nn = HammingNeighbors(n_neighbors=5).fit(db)
    dist, ind = nn.kneighbors()
    D = hamming_distance(db, db)
    for i in range(80):
        others = np.delete(np.arange(80), i)
        order = others[np.lexsort((others, D[i, others]))][:5]
        np.testing.assert_array_equal(ind[i], order)
        np.testing.assert_array_equal(dist[i], D[i, order])
    assert not (ind == np.arange(80)[:, None]).any()


@pytest.mark.parametrize("n_bits", [5, 16, 33])
@pytest.mark.parametrize("radius", [0, 1, 2, 4])
def test_radius_neighbors_inclusive(n_bits, radius):
    rng = np.random.default_rng(n_bits + radius)
    db, q = _codes(rng, 200, n_bits, p=0.1), _codes(rng, 20, n_bits, p=0.1)
    nn = HammingNeighbors(radius=radius).fit(db)
    dists, inds = nn.radius_neighbors(q)
    D = hamming_distance(q, db)
    for i in range(20):
        ref = np.flatnonzero(D[i] <= radius)
        ref = ref[np.argsort(D[i, ref], kind="stable")]
        np.testing.assert_array_equal(inds[i], ref)
        np.testing.assert_array_equal(dists[i], D[i, ref])
    assert any(len(r) for r in inds)


def test_radius_default_is_two():
    db = pack_bits(np.array([[0, 0, 0, 0], [1, 1, 0, 0], [1, 1, 1, 0]]))
    _, ind = HammingNeighbors().fit(db).radius_neighbors(db[:1])
    np.testing.assert_array_equal(ind[0], [0, 1])


def test_graphs():
    rng = np.random.default_rng(3)
    db, q = _codes(rng, 60, 12), _codes(rng, 7, 12)
    nn = HammingNeighbors(n_neighbors=4, radius=3).fit(db)
    G = nn.kneighbors_graph(q, mode="distance")
    assert sparse.issparse(G) and G.shape == (7, 60)
    dist, ind = nn.kneighbors(q)
    for i in range(7):
        row = G.getrow(i)
        np.testing.assert_array_equal(np.sort(row.indices), np.sort(ind[i]))
        np.testing.assert_array_equal(G[i, ind[i]].toarray().ravel(), dist[i])
    C = nn.kneighbors_graph(q)
    assert C.nnz == 28 and set(C.data) == {1.0}
    R = nn.radius_neighbors_graph(q, mode="distance")
    D = hamming_distance(q, db)
    assert R.nnz == int((D <= 3).sum())
    Rc = nn.radius_neighbors_graph(q).toarray()
    np.testing.assert_array_equal(Rc, (D <= 3).astype(float))
    with pytest.raises(ValueError, match="mode"):
        nn.kneighbors_graph(q, mode="weights")


def test_predict_majority_and_ties():
    db = pack_bits(np.array([[0, 0, 0], [0, 0, 1], [1, 1, 1], [1, 1, 0]]))
    nn = HammingNeighbors(n_neighbors=2).fit(db, y=[5, 3, 3, 3])
    # nearest of 000 are 000 (5) and 001 (3): a tie goes to the smaller label
    np.testing.assert_array_equal(nn.predict(db[:1]), [3])
    Y = np.array([[1, 0], [1, 1], [0, 1], [0, 1]])
    nn3 = HammingNeighbors(n_neighbors=3).fit(db, Y)
    np.testing.assert_array_equal(nn3.predict(db[:1]), [[1, 1]])


@pytest.mark.parametrize(
    "bad, match",
    [
        (np.zeros((3,), np.uint8), "2D|2-D"),
        (np.full((3, 2), 0.5), "packed uint8"),
        (np.full((3, 2), -1), "packed uint8"),
        (np.full((3, 2), 300), "packed uint8"),
        (np.array([["a", "b"]]), "numeric|must be packed"),
    ],
)
def test_bad_codes(bad, match):
    with pytest.raises(ValueError, match=match):
        HammingNeighbors().fit(bad)


def test_width_mismatch_names_both_widths():
    rng = np.random.default_rng(4)
    nn = HammingNeighbors(n_neighbors=2).fit(_codes(rng, 10, 16))
    with pytest.raises(ValueError, match=r"1 byte\(s\).*2 byte\(s\)"):
        nn.kneighbors(_codes(rng, 2, 8))


def test_errors_k_and_labels():
    rng = np.random.default_rng(5)
    db = _codes(rng, 10, 16)
    nn = HammingNeighbors(n_neighbors=11).fit(db)
    with pytest.raises(ValueError, match="n_neighbors <= n_samples_fit"):
        nn.kneighbors(db)
    with pytest.raises(ValueError, match="n_neighbors <= n_samples_fit"):
        HammingNeighbors().fit(db).kneighbors(n_neighbors=10)
    with pytest.raises(ValueError, match="fit HammingNeighbors with y"):
        HammingNeighbors(n_neighbors=2).fit(db).predict(db)
    with pytest.raises(ValueError, match="fit HammingNeighbors with y"):
        HammingNeighbors(n_neighbors=2).fit(db).score(db, np.zeros(10))


def test_integer_codes_accepted():
    rng = np.random.default_rng(6)
    db = _codes(rng, 20, 16)
    d1, i1 = HammingNeighbors(n_neighbors=3).fit(db).kneighbors(db)
    d2, i2 = HammingNeighbors(n_neighbors=3).fit(db.astype(np.int64)).kneighbors(db)
    np.testing.assert_array_equal(i1, i2)


def test_memory_is_bounded():
    """A 10,000 x 1,000,000 search must not allocate the full distance matrix."""
    from skhash.neighbors._brute import BLOCK_BYTES, BruteSearcher

    s = BruteSearcher(np.zeros((1_000_000, 8), np.uint8))
    assert s.block_rows * s.n_db <= BLOCK_BYTES
    assert s.block_rows >= 1
