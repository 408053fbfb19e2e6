"""Multi-index hashing tables: substring counts, bit order, keys, level costs."""

import numpy as np

from skhash import hamming_distance


def test_default_substrings_follow_the_fitted_rule():
    from skhash._kernels.mih import default_n_substrings

    # m = round(b / (log2(n) - 6)): the fastest m of the sweeps in
    # doc/benchmarks_search.rst (64 bits: 7 / 5 / 5 / 4 at 50k / 250k / 1M /
    # 4M codes; 32 bits at 1M: 2; 128 bits at 1M: 9).
    assert default_n_substrings(64, 50_000) == 7
    assert default_n_substrings(64, 250_000) == 5
    assert default_n_substrings(64, 1_000_000) == 5
    assert default_n_substrings(64, 4_000_000) == 4
    assert default_n_substrings(32, 1_000_000) == 2
    assert default_n_substrings(128, 1_000_000) == 9
    # substrings are at most 24 bits, at least one bit
    assert default_n_substrings(256, 2**40) == 11
    assert default_n_substrings(8, 10) == 8


def test_radius_substrings_cover_the_radius():
    from skhash._kernels.mih import radius_n_substrings

    assert radius_n_substrings(64, 1_000_000, 0) == 4  # 64 / 19.9 rounded up
    assert radius_n_substrings(64, 1_000_000, 5) == 6  # radius + 1
    assert radius_n_substrings(8, 10, 20) == 8  # at most one bit each


def test_substring_bit_order_separates_copies_and_keeps_distances():
    from skhash._kernels.mih import permute_bits, substring_bit_order

    rng = np.random.default_rng(0)
    bits = rng.integers(0, 2, (4000, 8), dtype=np.uint8)
    # bits 8-15 copy bits 0-7: a substring holding a bit and its copy would
    # have half its keys empty, so each substring takes one copy of each.
    codes = np.packbits(np.hstack([bits, bits]), axis=1)
    perm = substring_bit_order(codes, [8, 8])
    assert sorted(perm) == list(range(16))
    assert sorted(perm[:8] % 8) == list(range(8))
    assert sorted(perm[8:] % 8) == list(range(8))
    # bits past sum(lengths) keep their place
    perm = substring_bit_order(codes, [5, 5])
    assert list(perm[10:]) == list(range(10, 16))
    p = permute_bits(codes, perm)
    np.testing.assert_array_equal(
        hamming_distance(p[:50], p), hamming_distance(codes[:50], codes)
    )


def test_level_costs_match_enumeration():
    from itertools import combinations

    from skhash._kernels.mih import level_costs

    rng = np.random.default_rng(0)
    length = 6
    keys = rng.integers(0, 1 << length, 300)
    counts = np.bincount(keys, minlength=1 << length)
    costs = level_costs(keys, length, n_levels=4)
    for key in range(1 << length):
        for r in range(4):
            flips = [sum(1 << b for b in c) for c in combinations(range(length), r)]
            expected = sum(counts[key ^ f] for f in flips) + len(flips)
            assert costs[r, key] == expected
