"""
======================================
Precision and recall by Hamming radius
======================================

A Hamming ball of radius r around a query retrieves every database code at
distance at most r. Growing r from 0 to the code length traces the
precision-recall curve of the KSH, SDH and ITQ papers
(:func:`skhash.metrics.precision_recall_curve`); the precision at radius 2
(:func:`skhash.metrics.precision_within_radius`) is the single number most
papers report. It falls for long codes, whose small balls are mostly empty.
"""

import matplotlib.pyplot as plt
from sklearn.datasets import load_digits
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from skhash import ITQ, LSH, hamming_distance
from skhash.datasets import retrieval_split
from skhash.metrics import precision_recall_curve, precision_within_radius

X, y = load_digits(return_X_y=True)
split = retrieval_split(y, n_query_per_class=20, random_state=0)
X_db, y_db = X[split.database], y[split.database]
X_q, y_q = X[split.query], y[split.query]

fig, ax = plt.subplots(figsize=(5, 3.8))
for name, cls in {"LSH": LSH, "ITQ": ITQ}.items():
    for n_bits in (16, 32):
        hasher = make_pipeline(StandardScaler(), cls(n_bits=n_bits, random_state=0))
        db_codes = hasher.fit(X_db).transform(X_db)
        D = hamming_distance(hasher.transform(X_q), db_codes)
        precision, recall, radius = precision_recall_curve(y_q, y_db, D, n_bits=n_bits)
        p2 = precision_within_radius(y_q, y_db, D, radius=2)
        print(f"{name} {n_bits} bits: precision within radius 2 = {p2:.3f}")
        ax.plot(recall, precision, marker=".", label=f"{name}, {n_bits} bits")
ax.set_xlabel("recall")
ax.set_ylabel("precision")
ax.set_title("Hamming balls of radius 0 .. n_bits")
ax.legend()
fig.tight_layout()
plt.show()
