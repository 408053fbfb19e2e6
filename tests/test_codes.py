"""The packed code format: pack_bits, unpack_codes, hamming_distance."""

import numpy as np
import pytest

from skhash import hamming_distance, pack_bits, unpack_codes


@pytest.mark.parametrize("n_bits", [1, 5, 8, 9, 63, 64, 65, 128, 200])
def test_round_trip_and_padding(n_bits):
    rng = np.random.default_rng(n_bits)
    bits = rng.integers(0, 2, (13, n_bits)).astype(np.uint8)
    codes = pack_bits(bits)
    assert codes.dtype == np.uint8 and codes.shape == (13, (n_bits + 7) // 8)
    np.testing.assert_array_equal(unpack_codes(codes, n_bits), bits)
    # padding bits are zero
    full = np.unpackbits(codes, axis=1)
    assert not full[:, n_bits:].any()


def test_signs_and_bit_rule():
    signs = np.array([[1.0, -1.0, 0.0, -0.0, 2.5, -3.0]])
    np.testing.assert_array_equal(
        unpack_codes(pack_bits(signs), 6), [[1, 0, 1, 1, 1, 0]]
    )
    np.testing.assert_array_equal(
        pack_bits(np.array([[-1, 1, 1]])), pack_bits(np.array([[0, 1, 1]]))
    )
    assert pack_bits(np.array([[True, False]]))[0, 0] == 128


@pytest.mark.parametrize("n_bits", [1, 7, 8, 17, 64, 100, 128])
def test_hamming_distance_matches_unpacked(n_bits):
    rng = np.random.default_rng(n_bits)
    a = rng.integers(0, 2, (6, n_bits)).astype(np.uint8)
    b = rng.integers(0, 2, (9, n_bits)).astype(np.uint8)
    ref = (a[:, None, :] != b[None, :, :]).sum(-1)
    np.testing.assert_array_equal(hamming_distance(pack_bits(a), pack_bits(b)), ref)


def test_errors():
    with pytest.raises(ValueError, match="2-D"):
        pack_bits(np.ones(3))
    with pytest.raises(ValueError, match="NaN"):
        pack_bits(np.array([[np.nan, 1.0]]))
    with pytest.raises(ValueError, match="numeric"):
        pack_bits(np.array([["a"]]))
    with pytest.raises(ValueError, match="needs 2 byte"):
        unpack_codes(np.zeros((2, 1), np.uint8), 9)
    with pytest.raises(ValueError, match="uint8"):
        unpack_codes(np.zeros((2, 1), np.int64), 8)
    with pytest.raises(ValueError, match="same code length"):
        hamming_distance(np.zeros((2, 1), np.uint8), np.zeros((2, 2), np.uint8))
