"""
=============================================
How the linear hashers cut the space in cells
=============================================

A linear hasher learns one hyperplane per bit: bit ``j`` of a sample is 1 on
the side where ``decision_function(X)[:, j] >= 0``. Points that fall in the
same cell of all the hyperplanes share a code, and the Hamming distance between
two cells counts the hyperplanes that separate them.

On a 2-D point cloud, the cells can be drawn. :class:`~skhash.LSH` draws
random hyperplanes through the origin (so centre the data first);
:class:`~skhash.PCAH` cuts across the principal directions (each hyperplane
is perpendicular to one); :class:`~skhash.ITQ` rotates those cuts to balance
the bits and lose less at the sign; :class:`~skhash.SpectralHashing` takes
sine functions along the principal directions, so one direction can give several bits
(its "hyperplanes" are stripes). PCAH and ITQ give at most
``n_features`` bits (here two).
"""

# %%
# An elongated, tilted point cloud with three clusters, centred.
import matplotlib.pyplot as plt
import numpy as np
from sklearn.datasets import make_blobs

from skhash import ITQ, LSH, PCAH, SpectralHashing, unpack_codes

X, _ = make_blobs(
    n_samples=600,
    centers=[[-4, -1], [0, 0], [4, 1.5]],
    cluster_std=0.9,
    random_state=0,
)
X = X @ np.array([[1.0, 0.6], [0.0, 0.6]])
X -= X.mean(axis=0)

hashers = {
    "LSH, 4 bits": LSH(n_bits=4, random_state=1),
    "PCAH, 2 bits": PCAH(n_bits=2),
    "ITQ, 2 bits": ITQ(n_bits=2, random_state=0),
    "SpectralHashing, 4 bits": SpectralHashing(n_bits=4),
}

# %%
# Each sample's code, unpacked to bits, read as an integer: one colour per
# cell. The printout counts the cells used and the fraction of ones of each
# bit (0.5 is a balanced bit, which splits the data in two halves).
lo, hi = X.min(axis=0) - 0.5, X.max(axis=0) + 0.5
xx, yy = np.meshgrid(np.linspace(lo[0], hi[0], 300), np.linspace(lo[1], hi[1], 200))
grid = np.c_[xx.ravel(), yy.ravel()]
fig, axes = plt.subplots(2, 2, figsize=(8, 5.5), sharex=True, sharey=True)
for ax, (name, hasher) in zip(axes.ravel(), hashers.items(), strict=True):
    hasher.fit(X)
    n_bits = hasher.n_bits
    weights = 2 ** np.arange(n_bits)[::-1]
    cell = unpack_codes(hasher.transform(grid), n_bits) @ weights
    bits = unpack_codes(hasher.transform(X), n_bits)
    print(
        f"{name:<24} cells used: {len(np.unique(bits @ weights)):>2}, "
        f"fraction of ones per bit: {np.round(bits.mean(axis=0), 2)}"
    )
    ax.pcolormesh(
        xx,
        yy,
        cell.reshape(xx.shape),
        cmap="tab20",
        shading="auto",
        vmin=0,
        vmax=2**n_bits - 1,
        alpha=0.6,
    )
    ax.scatter(X[:, 0], X[:, 1], s=4, c="k")
    ax.set_title(name)
fig.suptitle("One colour per binary code")
fig.tight_layout()
plt.show()

# %%
# LSH's random lines all pass through the centre: its four bits cut the plane
# in wedges, only 7 of the 16 codes are used, and points far apart along a
# wedge share a code. PCAH cuts along the long axis of the cloud and across
# it; ITQ turns the two cuts so that the quantization error (the distance of
# the projected points from the corners of the hypercube) is smallest.
# SpectralHashing spends all four bits on the long axis (``directions_`` is
# ``[0 0 0 0]``, ``modes_`` ``[1 2 3 4]``): sine functions of increasing
# frequency, thresholded, make stripes of several widths, and its cells follow
# the length of the cloud.
#
# On real data with many features, ITQ's codes rank neighbours better than
# PCAH's and LSH's at a given length, and supervised hashers better still:
# see :ref:`sphx_glr_auto_examples_plot_map_vs_bits.py` and
# :ref:`sphx_glr_auto_examples_plot_supervised_retrieval.py`.
