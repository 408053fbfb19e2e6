"""Exact search for every code length from 1 to 128 bits (ties by index)."""

import numpy as np

from skhash import HammingNeighbors, hamming_distance, pack_bits


def test_every_code_length_1_to_128():
    rng = np.random.default_rng(0)
    for n_bits in range(1, 129):
        db = pack_bits((rng.random((60, n_bits)) < 0.3).astype(np.uint8))
        q = pack_bits((rng.random((4, n_bits)) < 0.3).astype(np.uint8))
        k = 20
        dist, ind = HammingNeighbors(n_neighbors=k).fit(db).kneighbors(q)
        D = hamming_distance(q, db)
        ref = np.lexsort((np.broadcast_to(np.arange(60), D.shape), D), axis=1)[:, :k]
        np.testing.assert_array_equal(ind, ref, err_msg=f"n_bits={n_bits}")
        np.testing.assert_array_equal(dist, np.take_along_axis(D, ref, 1))
        # the oracle itself: unpacked bit differences
        bits_q = np.unpackbits(q, axis=1, count=n_bits)
        bits_db = np.unpackbits(db, axis=1, count=n_bits)
        np.testing.assert_array_equal(
            D, (bits_q[:, None, :] != bits_db[None, :, :]).sum(-1)
        )
