"""
==========================================
Retrieving digits with a supervised hasher
==========================================

An unsupervised hasher such as :class:`~skhash.ITQ` keeps the Euclidean
neighbourhoods of the features; a supervised one such as
:class:`~skhash.SDH` (supervised discrete hashing) learns codes from which a
linear classifier predicts the labels, so codes of the same digit are close.
Both go into the same pipeline; only ``fit`` differs, as the supervised
hasher needs ``y``. Each row of the figure shows a query image and the
database images at the smallest Hamming distances, framed in red when they
show another digit.
"""

# %%
# Data: 20 queries per digit; the rest is the database, which also trains
# the hashers.
import matplotlib.pyplot as plt
import numpy as np
from sklearn.datasets import load_digits
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from skhash import ITQ, SDH, HammingNeighbors
from skhash.datasets import retrieval_split

X, y = load_digits(return_X_y=True)
split = retrieval_split(y, n_query_per_class=20, random_state=0)
X_db, y_db = X[split.database], y[split.database]
X_q, y_q = X[split.query], y[split.query]

# %%
# Two 16-bit pipelines. ``score`` is the mean average precision of ranking
# the whole database for each query (relevant = same digit).
n_bits, k = 16, 8
pipes = {
    "ITQ (unsupervised)": make_pipeline(
        StandardScaler(),
        ITQ(n_bits=n_bits, random_state=0),
        HammingNeighbors(n_neighbors=k),
    ),
    "SDH (supervised)": make_pipeline(
        StandardScaler(),
        SDH(n_bits=n_bits, n_anchors=300, random_state=0),
        HammingNeighbors(n_neighbors=k),
    ),
}
for name, pipe in pipes.items():
    pipe.fit(X_db, y_db)
    print(f"{name:<20} mAP {pipe.score(X_q, y_q):.3f}")

# %%
# The ``k`` nearest database codes of one query of each of the digits 2, 3, 5
# and 8, drawn at random. Ties are broken by database index, as a brute-force
# scan would; the Hamming distance is printed above each image, and a red
# frame marks another digit.
results = {
    name: pipe[-1].kneighbors(pipe[:-1].transform(X_q)) for name, pipe in pipes.items()
}
rng = np.random.default_rng(0)
queries = [rng.choice(np.flatnonzero(y_q == digit)) for digit in (2, 3, 5, 8)]
for name, (_, ind) in results.items():
    precision = (y_db[ind] == y_q[:, None]).mean()
    print(f"{name:<20} precision of the top {k}, all queries: {precision:.3f}")
fig, axes = plt.subplots(
    2 * len(queries), k + 1, figsize=(k + 1, 2.1 * len(queries)), squeeze=False
)
for block, name in enumerate(pipes):
    dist, ind = results[name]
    for r, q in enumerate(queries):
        row = axes[block * len(queries) + r]
        row[0].imshow(X_q[q].reshape(8, 8), cmap="gray_r")
        row[0].set_title("query", fontsize=8)
        row[0].set_ylabel(name.split()[0], fontsize=8)
        for j in range(k):
            ax = row[j + 1]
            ax.imshow(X_db[ind[q, j]].reshape(8, 8), cmap="gray_r")
            ax.set_title(f"d={dist[q, j]}", fontsize=8)
            if y_db[ind[q, j]] != y_q[q]:
                for spine in ax.spines.values():
                    spine.set_color("red")
                    spine.set_linewidth(3)
for ax in axes.ravel():
    ax.set_xticks([])
    ax.set_yticks([])
fig.suptitle(f"top {k} of {n_bits}-bit codes: ITQ (upper rows), SDH (lower rows)")
fig.tight_layout()
plt.show()

# %%
# With labels, the same 16 bits rank the database far better. Note the
# distances: SDH gives most images of a digit the *same* code (distance 0),
# so within that block the order is the tie rule's (database index), and a
# metric that depends on the order of tied items needs its tie rule stated
# (``ties="average"`` of :func:`skhash.metrics.mean_average_precision` removes
# the dependence). The price of supervision: SDH needs labelled training data,
# and its codes are learned for these classes; on classes it has not seen, an
# unsupervised hasher can be the safer choice. :class:`~skhash.CCAITQ` (ITQ
# after a CCA with the labels) and :class:`~skhash.KSH` (kernel hashing
# fitted to pairwise similarities) are the other supervised linear hashers.
