"""
=====================================
Radius search and multi-index hashing
=====================================

A Hamming ball of radius ``r`` around a query holds every database code that
differs from it in at most ``r`` bits.
:meth:`skhash.HammingNeighbors.radius_neighbors` returns those codes, nearest
first (ties by database index), one array per query: a ball can be empty, or
hold hundreds of codes. Radius search suits "everything similar enough"
requests (near-duplicates, a hash-table lookup in the papers' "hash lookup"
protocol), where k-nearest-neighbour search suits "the best k".

Every backend returns exactly the brute-force result. Multi-index hashing
(``algorithm="mih"``, Norouzi et al., 2012) cuts each code into ``m``
substrings and indexes each one in a table: by the pigeonhole principle, a
code within ``r < m`` bits of the query matches it exactly on at least one
substring, so a small-radius search only reads the matching buckets instead
of scanning the database. ``algorithm="auto"`` uses it for radius queries on
databases of 50,000 codes or more.
"""

# %%
# 32-bit ITQ codes of the digits: 20 queries per digit, the rest is the
# database.
import matplotlib.pyplot as plt
import numpy as np
from sklearn.datasets import load_digits
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from skhash import ITQ, HammingNeighbors
from skhash.datasets import retrieval_split

X, y = load_digits(return_X_y=True)
split = retrieval_split(y, n_query_per_class=20, random_state=0)
X_db, y_db = X[split.database], y[split.database]
X_q, y_q = X[split.query], y[split.query]

hasher = make_pipeline(StandardScaler(), ITQ(n_bits=32, random_state=0))
db_codes = hasher.fit(X_db).transform(X_db)
q_codes = hasher.transform(X_q)

# %%
# The same radius queries with a scan and with multi-index hashing (here
# with 8 substrings of 4 bits; by default the number of substrings follows
# from the database size). The results are identical, array by array.
scan = HammingNeighbors(algorithm="numpy").fit(db_codes, y_db)
mih = HammingNeighbors(algorithm="mih", algorithm_params={"n_substrings": 8})
mih.fit(db_codes, y_db)
radii = np.arange(0, 9)
sizes, precision, empty = [], [], []
for r in radii:
    dist, ind = scan.radius_neighbors(q_codes, radius=r)
    dist_mih, ind_mih = mih.radius_neighbors(q_codes, radius=r)
    assert all(np.array_equal(a, b) for a, b in zip(ind, ind_mih, strict=True))
    assert all(np.array_equal(a, b) for a, b in zip(dist, dist_mih, strict=True))
    n_found = np.array([len(i) for i in ind])
    sizes.append(n_found)
    empty.append(np.mean(n_found == 0))
    # precision of each non-empty ball: the fraction of the same digit
    hits = [np.mean(y_db[i] == y_q[q]) for q, i in enumerate(ind) if len(i)]
    precision.append(np.mean(hits))
    print(
        f"r={r}: median {np.median(n_found):6.0f} codes per ball, "
        f"{empty[-1]:4.0%} empty, precision of the non-empty ones {precision[-1]:.3f}"
    )

# %%
# Left: how many codes each ball holds (the box spans the middle half of the
# queries). Right: the precision of the non-empty balls, and the fraction of
# queries whose ball is empty. Small radii give precise but often empty
# answers; large radii give an answer to every query, with more noise.
fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(9, 3.6))
ax1.boxplot([s + 1 for s in sizes], positions=radii, showfliers=False)
ax1.set_yscale("log")
ax1.set_xlabel("Hamming radius r")
ax1.set_ylabel("codes in the ball + 1")
ax1.set_title("size of the Hamming ball (32 bits)")
ax2.plot(radii, precision, marker="o", label="precision (non-empty balls)")
ax2.plot(radii, empty, marker="s", label="fraction of empty balls")
ax2.set_xlabel("Hamming radius r")
ax2.set_ylim(0, 1.05)
ax2.legend()
fig.tight_layout()
plt.show()

# %%
# The results come as object arrays of per-query arrays, as in
# scikit-learn's :class:`~sklearn.neighbors.NearestNeighbors`;
# ``radius_neighbors_graph`` gives the same result as a sparse matrix, one row
# per query (``mode="distance"`` stores the distances, zeros kept).
graph = scan.radius_neighbors_graph(q_codes, radius=2, mode="distance")
print(type(graph).__name__, graph.shape, graph.nnz, "stored pairs")

# %%
# Multi-index hashing pays off on large databases of learned (clustered)
# codes and small radii, where the buckets it reads hold a small part of the
# database; on uniformly random codes, or radii close to the number of
# substrings, it reads about as much as a scan. With ``algorithm="auto"`` and
# ``verbose=1``, :class:`~skhash.HammingNeighbors` prints the backend it
# chose.
