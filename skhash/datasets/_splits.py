"""Query / training / database splits of the papers' retrieval protocols."""

import warnings

import numpy as np
from sklearn.utils import Bunch, check_random_state

__all__ = ["PROTOCOLS", "retrieval_split"]

_DATABASES = ("rest", "all", "train", "disjoint")


def _sampled(dataset, n_samples, paper):
    return {
        "kind": "sampled",
        "n_query_per_class": 100,
        "n_train_per_class": 500,
        "database": "rest",
        "relevance": "label",
        "n_neighbors": None,
        "n_samples": n_samples,
        "description": (
            f"{dataset}, {paper} protocol: 100 queries and 500 training images per "
            "class drawn at random from the pooled training and test images; the "
            "database is every non-query image (training images included)."
        ),
    }


def _official(dataset, n_train, n_test, database, relevance, n_neighbors, text):
    return {
        "kind": "official",
        "n_train": n_train,
        "n_test": n_test,
        "database": database,
        "relevance": relevance,
        "n_neighbors": n_neighbors,
        "n_samples": n_train + n_test,
        "description": f"{dataset}: {text}",
    }


_DSH_TEXT = (
    "DSH protocol: train on the {0:,} training images; the {1:,} test images are "
    "the queries and also the database (each query retrieves itself)."
)
_BDNN_TEXT = (
    "UH-BDNN protocol: the {0:,} training images are the training set and the "
    "database; the {1:,} test images are the queries; relevance = the query's "
    "50 Euclidean nearest neighbours in the database (K = 50 is the usual choice, "
    "not verified in the paper)."
)

#: Named protocols of :func:`retrieval_split` (see its docstring).
PROTOCOLS = {
    "cifar10-dnnh": _sampled("CIFAR-10", 60_000, "DNNH/DHN/DQN"),
    "cifar10-dsh": _official(
        "CIFAR-10",
        50_000,
        10_000,
        "test",
        "label",
        None,
        _DSH_TEXT.format(50_000, 10_000),
    ),
    "cifar10-bdnn": _official(
        "CIFAR-10",
        50_000,
        10_000,
        "train",
        "euclidean",
        50,
        _BDNN_TEXT.format(50_000, 10_000),
    ),
    "mnist-dnnh": _sampled("MNIST", 70_000, "DNNH-style"),
    "mnist-dsh": _official(
        "MNIST",
        60_000,
        10_000,
        "test",
        "label",
        None,
        _DSH_TEXT.format(60_000, 10_000),
    ),
    "mnist-bdnn": _official(
        "MNIST",
        60_000,
        10_000,
        "train",
        "euclidean",
        50,
        _BDNN_TEXT.format(60_000, 10_000),
    ),
    "fashion-mnist-dnnh": _sampled("Fashion-MNIST", 70_000, "DNNH-style"),
    "fashion-mnist-dsh": _official(
        "Fashion-MNIST",
        60_000,
        10_000,
        "test",
        "label",
        None,
        _DSH_TEXT.format(60_000, 10_000),
    ),
    "fashion-mnist-bdnn": _official(
        "Fashion-MNIST",
        60_000,
        10_000,
        "train",
        "euclidean",
        50,
        _BDNN_TEXT.format(60_000, 10_000),
    ),
}


#: Former names of protocols, accepted with a FutureWarning until 0.3.
_RENAMED_PROTOCOLS = {
    "bdnn-mnist": "mnist-bdnn",
    "bdnn-fashion-mnist": "fashion-mnist-bdnn",
}


def _check_y(y):
    y = np.asarray(y)
    if y.ndim == 2 and y.shape[1] == 1:
        y = y.ravel()
    if y.ndim == 1:
        return y, False
    if y.ndim != 2:
        raise ValueError(
            f"y must be 1-D class labels or a 2-D 0/1 label indicator matrix; got "
            f"an array of shape {y.shape}."
        )
    if not np.isin(y, (0, 1)).all():
        raise ValueError(
            "A 2-D y must be a 0/1 label indicator matrix (multi-label); got other "
            "values."
        )
    return y.astype(bool), True


def _sample_per_class(y, multilabel, n, exclude, rng, what):
    """Pick ``n`` items per class (per label) among those not in ``exclude``."""
    taken = exclude.copy()
    chosen = []
    if multilabel:
        groups = [(j, y[:, j]) for j in range(y.shape[1])]
    else:
        groups = [(c, y == c) for c in np.unique(y)]
    for label, member in groups:
        candidates = np.flatnonzero(member & ~taken)
        if candidates.size < n:
            raise ValueError(
                f"Cannot draw {n} {what} for class {label!r}: only "
                f"{candidates.size} eligible samples."
            )
        pick = rng.permutation(candidates)[:n]
        taken[pick] = True
        chosen.append(pick)
    return np.sort(np.concatenate(chosen)) if chosen else np.empty(0, np.int64)


def _official_parts(n_samples, spec, split):
    if split is None:
        if n_samples != spec["n_samples"]:
            raise ValueError(
                f"This protocol uses the dataset's official train/test split: y "
                f"must hold the {spec['n_train']:,} training samples followed by the "
                f"{spec['n_test']:,} test samples (subset='all'), or pass split=; "
                f"got {n_samples:,} samples."
            )
        is_test = np.arange(n_samples) >= spec["n_train"]
    else:
        split = np.asarray(split)
        if split.shape != (n_samples,):
            raise ValueError(
                f"split must have one entry per sample ({n_samples}); got shape "
                f"{split.shape}."
            )
        if split.dtype.kind == "b":
            is_test = split
        elif not np.isin(split, ("train", "test")).all():
            raise ValueError("split must hold only 'train' and 'test' (or be bool).")
        else:
            is_test = split == "test"
    return np.flatnonzero(~is_test), np.flatnonzero(is_test)


def retrieval_split(
    y,
    *,
    protocol=None,
    n_query_per_class=None,
    n_train_per_class=None,
    database="rest",
    split=None,
    random_state=None,
):
    """Make the query / training / database index sets of a retrieval protocol.

    Either name a ``protocol`` (one of :data:`PROTOCOLS`) or give the sizes.
    Random draws are per class (per label for multi-label ``y``), without
    replacement, in sorted class order, with one
    :class:`~numpy.random.RandomState`: the same ``y`` and seed give the same
    split on every platform.

    Named protocols:

    * ``"cifar10-dnnh"`` (DNNH, DHN, DQN): 1,000 queries (100 per class) and
      5,000 training images (500 per class) drawn from all 60,000 images; the
      database is the 59,000 non-queries (training images included).
    * ``"cifar10-dsh"``: train on the 50,000 training images; the 10,000 test
      images are both the queries and the database.
    * ``"cifar10-bdnn"`` / ``"mnist-bdnn"`` / ``"fashion-mnist-bdnn"``
      (UH-BDNN): the training set is the training set and the database, the
      test images are the queries; relevance = Euclidean top-50 neighbours
      (compute them with :func:`euclidean_ground_truth`).
    * ``"mnist-dnnh"``, ``"mnist-dsh"``, ``"fashion-mnist-dnnh"``,
      ``"fashion-mnist-dsh"``: the same families on the 70,000 MNIST /
      Fashion-MNIST images.

    The official-split protocols need to know which samples are test samples:
    pass ``split`` (the ``split`` field of the loaders' Bunch), or ``y`` of the
    whole dataset in the loaders' order (``subset="all"``: training first).

    Parameters
    ----------
    y : array-like of shape (n_samples,) or (n_samples, n_labels)
        Class labels, or a 0/1 label indicator matrix (multi-label: ``n`` per
        label means ``n`` items carrying that label, each item drawn once).
    protocol : str, default=None
        A key of :data:`PROTOCOLS`. Overrides the size arguments.
    n_query_per_class : int, default=None
        Queries drawn per class. Required without ``protocol``.
    n_train_per_class : int, default=None
        Training items drawn per class among the non-queries; None means every
        non-query is a training item.
    database : {"rest", "all", "train", "disjoint"}, default="rest"
        ``"rest"``: every non-query; ``"all"``: every item (queries included);
        ``"train"``: the training items; ``"disjoint"``: items that are neither
        queries nor training items.
    split : array-like of shape (n_samples,), default=None
        'train'/'test' strings (or a bool test mask) for the official-split
        protocols.
    random_state : int, RandomState instance or None, default=None
        Seed of the per-class draws.

    Returns
    -------
    split : :class:`~sklearn.utils.Bunch`
        ``query``, ``train``, ``database``: sorted int64 index arrays;
        ``protocol``; ``relevance`` ("label" or "euclidean"); ``n_neighbors``
        (the Euclidean K, or None); ``description``.

    Examples
    --------
    >>> import numpy as np
    >>> from skhash.datasets import retrieval_split
    >>> y = np.repeat(np.arange(3), 10)
    >>> s = retrieval_split(y, n_query_per_class=2, n_train_per_class=3,
    ...                     random_state=0)
    >>> len(s.query), len(s.train), len(s.database)
    (6, 9, 24)
    >>> np.bincount(y[s.query])
    array([2, 2, 2])
    """
    y, multilabel = _check_y(y)
    n_samples = y.shape[0]
    if n_samples == 0:
        raise ValueError("y is empty.")
    relevance, n_neighbors, description = "label", None, "custom split"
    if isinstance(protocol, str) and protocol in _RENAMED_PROTOCOLS:
        new = _RENAMED_PROTOCOLS[protocol]
        warnings.warn(
            f"protocol {protocol!r} was renamed {new!r} in 0.1 (every name is "
            "'<dataset>-<paper>') and will be removed in 0.3; use "
            f"protocol={new!r}.",
            FutureWarning,
            stacklevel=2,
        )
        protocol = new
    if protocol is not None:
        if protocol not in PROTOCOLS:
            raise ValueError(
                f"Unknown protocol {protocol!r}; choose one of {sorted(PROTOCOLS)}."
            )
        spec = PROTOCOLS[protocol]
        relevance, n_neighbors = spec["relevance"], spec["n_neighbors"]
        description = spec["description"]
        if spec["kind"] == "official":
            train, test = _official_parts(n_samples, spec, split)
            database_idx = test if spec["database"] == "test" else train
            return Bunch(
                query=test.astype(np.int64),
                train=train.astype(np.int64),
                database=database_idx.astype(np.int64),
                protocol=protocol,
                relevance=relevance,
                n_neighbors=n_neighbors,
                description=description,
            )
        if n_samples != spec["n_samples"]:
            raise ValueError(
                f"Protocol {protocol!r} is defined on {spec['n_samples']:,} samples "
                f"(the whole dataset, subset='all'); got {n_samples:,}."
            )
        n_query_per_class = spec["n_query_per_class"]
        n_train_per_class = spec["n_train_per_class"]
        database = spec["database"]
    if n_query_per_class is None:
        raise ValueError("Give protocol= or n_query_per_class=.")
    for name, value in (
        ("n_query_per_class", n_query_per_class),
        ("n_train_per_class", n_train_per_class),
    ):
        if value is not None and (
            not isinstance(value, (int, np.integer))
            or isinstance(value, bool)
            or value < 0
        ):
            raise ValueError(f"{name} must be a non-negative int; got {value!r}.")
    if database not in _DATABASES:
        raise ValueError(f"database must be one of {_DATABASES}; got {database!r}.")

    rng = check_random_state(random_state)
    none = np.zeros(n_samples, dtype=bool)
    query = _sample_per_class(y, multilabel, n_query_per_class, none, rng, "queries")
    is_query = none.copy()
    is_query[query] = True
    if n_train_per_class is None:
        train = np.flatnonzero(~is_query)
    else:
        train = _sample_per_class(
            y, multilabel, n_train_per_class, is_query, rng, "training items"
        )
    if database == "rest":
        db = np.flatnonzero(~is_query)
    elif database == "all":
        db = np.arange(n_samples)
    elif database == "train":
        db = train
    else:
        excluded = is_query.copy()
        excluded[train] = True
        db = np.flatnonzero(~excluded)
    return Bunch(
        query=query.astype(np.int64),
        train=train.astype(np.int64),
        database=db.astype(np.int64),
        protocol=protocol,
        relevance=relevance,
        n_neighbors=n_neighbors,
        description=description,
    )
