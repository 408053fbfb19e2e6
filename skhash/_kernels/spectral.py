"""Spectral hashing (Weiss, Torralba, Fergus): analytic 1-D eigenfunctions."""

import numpy as np


def select_modes(lows, highs, n_bits):
    """Pick the ``n_bits`` lowest-frequency (direction, k) eigenfunctions.

    Along direction ``i`` with range ``[a_i, b_i]`` the k-th eigenfunction of the
    uniform density has frequency ``k * pi / (b_i - a_i)`` and eigenvalue
    ``1 - exp(-eps^2 / 2 * (k pi / (b_i - a_i))^2)``, increasing in the frequency,
    so the smallest eigenvalues are the lowest frequencies whatever ``eps``.

    Returns
    -------
    directions : ndarray of int, shape (n_bits,)
    modes : ndarray of int, shape (n_bits,)
        The ``k >= 1`` of each selected eigenfunction. Ties are broken by
        direction, then by ``k``.
    """
    ranges = highs - lows
    # n_bits modes per direction always contain the n_bits lowest frequencies.
    max_mode = n_bits
    d = len(ranges)
    dirs = np.repeat(np.arange(d), max_mode)
    ks = np.tile(np.arange(1, max_mode + 1), d)
    freq = ks * np.pi / ranges[dirs]
    order = np.lexsort((ks, dirs, freq))[:n_bits]
    return dirs[order], ks[order]


def eigenfunctions(Y, lows, highs, directions, modes):
    """Evaluate ``sin(pi/2 + k pi (y - a) / (b - a))`` for each selected pair."""
    ranges = highs - lows
    Z = (Y[:, directions] - lows[directions]) * (modes * np.pi / ranges[directions])
    return np.sin(np.pi / 2 + Z)
