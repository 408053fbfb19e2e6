"""
====================================
Hashers' mAP against the code length
====================================

Fit the classic hashers at several code lengths on scikit-learn's digits and
score each with the mean average precision of ranking the database for every
query (relevant = same digit, full ranking, ties broken by database index).
The quantizer PQ is shown for reference: it ranks by asymmetric distance
instead of Hamming distance.
"""

# %%
# Data: 20 queries per class, the other images are the database and the
# training set.
import matplotlib.pyplot as plt
from sklearn.datasets import load_digits
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from skhash import (
    ITQ,
    LSH,
    PCAH,
    PQ,
    HammingNeighbors,
    QuantizedNeighbors,
    SpectralHashing,
)
from skhash.datasets import retrieval_split

X, y = load_digits(return_X_y=True)
split = retrieval_split(y, n_query_per_class=20, random_state=0)
X_db, y_db = X[split.database], y[split.database]
X_q, y_q = X[split.query], y[split.query]

# %%
# One pipeline per method and code length: ``score`` is mAP.
methods = {"LSH": LSH, "PCAH": PCAH, "ITQ": ITQ, "SpectralHashing": SpectralHashing}
bits = [8, 16, 32]
scores = {}
for name, cls in methods.items():
    scores[name] = []
    for b in bits:
        pipe = make_pipeline(
            StandardScaler(), cls(n_bits=b, random_state=0), HammingNeighbors()
        )
        scores[name].append(pipe.fit(X_db, y_db).score(X_q, y_q))
scores["PQ"] = []
for b in bits:
    pipe = make_pipeline(
        StandardScaler(),
        QuantizedNeighbors(PQ(n_bits=b, n_clusters=16, random_state=0)),
    )
    scores["PQ"].append(pipe.fit(X_db, y_db).score(X_q, y_q))

for name, values in scores.items():
    print(f"{name:<16}" + "".join(f"{v:8.3f}" for v in values))

# %%
# ITQ's rotation keeps the variance of PCA's directions while balancing the
# bits, so it improves with the code length where PCAH does not.
fig, ax = plt.subplots(figsize=(5, 3.5))
for name, values in scores.items():
    ax.plot(bits, values, marker="o", label=name)
ax.set_xlabel("code length (bits)")
ax.set_ylabel("mAP (full ranking)")
ax.set_xticks(bits)
ax.legend()
fig.tight_layout()
plt.show()
