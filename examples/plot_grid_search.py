"""
===========================================
Grid search over the code length and method
===========================================

A pipeline that ends in :class:`skhash.HammingNeighbors` scores by mean average
precision, so :class:`~sklearn.model_selection.GridSearchCV` needs no
``scoring``. Here the grid runs over the hasher itself and its ``n_bits``;
:func:`skhash.metrics.make_precision_at_k_scorer` adds precision of the 10
nearest neighbours as a second score.

Use a shuffling :class:`~sklearn.model_selection.StratifiedKFold`: the pipeline
is not a classifier, so scikit-learn's default ``KFold`` would not shuffle the
class-sorted folds.
"""

import matplotlib.pyplot as plt
import numpy as np
from sklearn.datasets import load_digits
from sklearn.model_selection import GridSearchCV, StratifiedKFold
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler

from skhash import ITQ, LSH, HammingNeighbors
from skhash.metrics import make_precision_at_k_scorer, map_scorer

X, y = load_digits(return_X_y=True)
pipe = Pipeline(
    [
        ("scale", StandardScaler()),
        ("hash", ITQ(random_state=0)),
        ("search", HammingNeighbors()),
    ]
)
grid = {
    "hash": [LSH(random_state=0), ITQ(random_state=0)],
    "hash__n_bits": [8, 16, 32],
}
search = GridSearchCV(
    pipe,
    grid,
    scoring={"mAP": map_scorer, "P@10": make_precision_at_k_scorer(10)},
    refit="mAP",
    cv=StratifiedKFold(3, shuffle=True, random_state=0),
)
search.fit(X, y)
print(
    "best:",
    search.best_params_["hash"].__class__.__name__,
    search.best_params_["hash__n_bits"],
    "bits, mAP",
    round(search.best_score_, 3),
)

# %%
res = search.cv_results_
fig, ax = plt.subplots(figsize=(5, 3.5))
for name in ("LSH", "ITQ"):
    rows = [i for i, p in enumerate(res["params"]) if type(p["hash"]).__name__ == name]
    ax.errorbar(
        np.asarray(res["param_hash__n_bits"])[rows].astype(int),
        res["mean_test_mAP"][rows],
        yerr=res["std_test_mAP"][rows],
        marker="o",
        capsize=3,
        label=name,
    )
ax.set_xlabel("code length (bits)")
ax.set_ylabel("cross-validated mAP")
ax.legend()
fig.tight_layout()
plt.show()
