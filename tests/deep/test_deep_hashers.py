"""Behaviour of the deep hashers: training, determinism, pickling, input."""

import pickle

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("skorch")

from sklearn.base import clone  # noqa: E402
from sklearn.model_selection import GridSearchCV, StratifiedKFold  # noqa: E402
from sklearn.pipeline import make_pipeline  # noqa: E402
from skorch.callbacks import Callback  # noqa: E402

from skhash import HammingNeighbors  # noqa: E402
from skhash.deep import (  # noqa: E402
    DHN,
    DNNH,
    DSH,
    BetaContinuation,
    DSHConvNet,
    HashNet,
)

pytestmark = pytest.mark.torch
ESTIMATORS = [DSH, DHN, HashNet, DNNH]
SMALL = dict(n_bits=8, hidden_layer_sizes=(16,), max_epochs=3, random_state=0)


@pytest.fixture(autouse=True, scope="module")
def _one_torch_thread():
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)


def _blobs(n_per_class=40, n_classes=3, n_features=10, seed=0, spread=0.5):
    rng = np.random.default_rng(seed)
    centres = rng.normal(scale=3.0, size=(n_classes, n_features))
    y = np.repeat(np.arange(n_classes), n_per_class)
    X = centres[y] + spread * rng.normal(size=(y.size, n_features))
    perm = rng.permutation(y.size)
    return X[perm], y[perm]


def _small(cls, **kw):
    params = dict(SMALL)
    if cls is HashNet:
        params["continuation_step"] = 1
    params.update(kw)
    return cls(**params)


@pytest.mark.parametrize("cls", ESTIMATORS, ids=lambda c: c.__name__)
def test_fit_transform_shapes_and_dtypes(cls):
    X, y = _blobs()
    est = _small(cls, n_bits=12).fit(X, y)
    codes = est.transform(X)
    assert codes.shape == (X.shape[0], 2) and codes.dtype == np.uint8
    # Padding bits of the last byte are 0.
    assert np.all(codes[:, 1] & 0x0F == 0)
    values = est.decision_function(X)
    assert values.shape == (X.shape[0], 12)
    np.testing.assert_array_equal(codes, np.packbits(values >= 0, axis=1))
    assert est.net_.history[-1]["epoch"] == 3
    assert np.isfinite(est.net_.history[-1]["train_loss"])


@pytest.mark.parametrize("cls", ESTIMATORS, ids=lambda c: c.__name__)
def test_learns_separable_classes(cls):
    # Three well-separated classes: codes of one class must retrieve it.
    X, y = _blobs(n_per_class=50, seed=1)
    est = _small(cls, n_bits=16, max_epochs=25, random_state=0).fit(X, y)
    codes = est.transform(X)
    search = HammingNeighbors().fit(codes[50:], y[50:])
    assert search.score(codes[:50], y[:50]) > 0.9
    bits = np.unpackbits(codes, axis=1)
    assert 0 < bits.mean() < 1


@pytest.mark.parametrize("cls", ESTIMATORS, ids=lambda c: c.__name__)
def test_same_random_state_same_codes_and_global_rng_untouched(cls):
    X, y = _blobs()
    state = torch.random.get_rng_state()
    a = _small(cls, random_state=7).fit(X, y).decision_function(X)
    assert torch.equal(state, torch.random.get_rng_state())
    b = _small(cls, random_state=7).fit(X, y).decision_function(X)
    np.testing.assert_array_equal(a, b)
    c = _small(cls, random_state=8).fit(X, y).decision_function(X)
    assert not np.array_equal(a, c)


@pytest.mark.parametrize("cls", ESTIMATORS, ids=lambda c: c.__name__)
def test_pickle_roundtrip_keeps_codes(cls):
    X, y = _blobs()
    est = _small(cls).fit(X, y)
    clone = pickle.loads(pickle.dumps(est))
    np.testing.assert_array_equal(est.transform(X), clone.transform(X))
    assert clone.net_.module_ is not est.net_.module_


@pytest.mark.parametrize("cls", ESTIMATORS, ids=lambda c: c.__name__)
def test_multilabel_targets(cls):
    X, y = _blobs(n_per_class=30, n_classes=4)
    rng = np.random.default_rng(0)
    Y = np.zeros((y.size, 4), dtype=int)
    Y[np.arange(y.size), y] = 1
    Y[rng.random(y.size) < 0.3, 0] = 1  # a shared second label for some
    est = _small(cls).fit(X, Y)
    assert est.transform(X).shape == (X.shape[0], 1)


def test_string_labels_and_column_y():
    X, y = _blobs()
    names = np.array(["a", "b", "c"])[y]
    a = _small(DSH).fit(X, names).transform(X)
    b = _small(DSH).fit(X, y.reshape(-1, 1)).transform(X)
    c = _small(DSH).fit(X, y).transform(X)
    np.testing.assert_array_equal(a, c)
    np.testing.assert_array_equal(b, c)


def test_image_backbone_with_input_shape():
    rng = np.random.default_rng(0)
    n, c, h, w = 48, 3, 12, 12
    y = np.arange(n) % 3
    images = rng.normal(size=(n, c, h, w)) + y[:, None, None, None]
    X = images.reshape(n, -1)
    backbone = DSHConvNet(in_channels=c, image_size=(h, w))
    before = [p.detach().clone() for p in backbone.parameters()]
    est = DSH(
        n_bits=8,
        backbone=backbone,
        input_shape=(c, h, w),
        max_epochs=2,
        batch_size=16,
        random_state=0,
    ).fit(X, y)
    assert est.transform(X).shape == (n, 1)
    assert isinstance(est.net_.module_.backbone, DSHConvNet)
    # The user's module is copied, not trained in place.
    for p, q in zip(before, backbone.parameters(), strict=True):
        assert torch.equal(p, q)
    with pytest.raises(ValueError, match="input_shape"):
        DSH(backbone=DSHConvNet(), input_shape=(3, 32, 32), max_epochs=1).fit(X, y)


def test_custom_mlp_backbone_module():
    X, y = _blobs()
    backbone = torch.nn.Sequential(torch.nn.Linear(10, 12), torch.nn.Tanh())
    est = DHN(n_bits=6, backbone=backbone, max_epochs=2, random_state=0).fit(X, y)
    assert est.net_.module_.head.fc.in_features == 12


def test_hashnet_beta_schedule_continues_across_epochs():
    X, y = _blobs(n_per_class=20)  # 60 samples, batch 16 -> 4 batches/epoch
    est = HashNet(
        n_bits=8,
        hidden_layer_sizes=(8,),
        max_epochs=5,
        batch_size=16,
        continuation_step=3,
        continuation_gamma=0.5,
        random_state=0,
    ).fit(X, y)
    assert est.n_iter_ == 20
    # Last update at t = 18 (every 3 iterations, from t = 0).
    assert est.beta_ == pytest.approx((1 + 0.5 * 18) ** 0.5)
    assert est.net_.module_.head.beta == pytest.approx(est.beta_)
    # A refit restarts the schedule.
    est.fit(X, y)
    assert est.n_iter_ == 20


@pytest.mark.parametrize(
    "n_per_class, max_epochs, batch_size", [(20, 2, 64), (20, 5, 16), (40, 7, 8)]
)
def test_hashnet_default_schedule_reaches_the_papers_beta(
    n_per_class, max_epochs, batch_size
):
    # The authors' schedule, beta = (1 + 0.005 t)^0.5 updated every 200 of
    # 10,000 iterations, ends at sqrt(50) ~ 7.1; the default schedule is the
    # same over the fraction of training done, whatever its length.
    X, y = _blobs(n_per_class=n_per_class)
    est = HashNet(
        n_bits=8,
        hidden_layer_sizes=(8,),
        max_epochs=max_epochs,
        batch_size=batch_size,
        random_state=0,
    ).fit(X, y)
    T = max_epochs * -(-len(X) // batch_size)
    assert est.n_iter_ == T
    assert 5.0 <= est.beta_ <= 7.2
    schedule = dict(est.net_.callbacks_)["beta_continuation"]
    assert schedule.gamma_ == pytest.approx(50 / T)
    assert schedule.step_ == max(1, round(T / 50))
    t_last = (T - 1) // schedule.step_ * schedule.step_
    assert est.beta_ == pytest.approx((1 + 50 * t_last / T) ** 0.5)


def test_beta_continuation_auto_needs_the_training_length():
    cb = BetaContinuation(step="auto", gamma="auto").initialize()
    with pytest.raises(RuntimeError, match="training length"):
        cb.on_batch_begin(None, training=True)


def test_beta_continuation_callback_alone():
    cb = BetaContinuation(step=2, gamma=1.0, power=1.0).initialize()

    class _Head:
        beta = None

    class _Module:
        head = _Head()

    class _Net:
        module_ = _Module()

    net = _Net()
    seen = []
    for _ in range(5):
        cb.on_batch_begin(net, training=True)
        seen.append(net.module_.head.beta)
        cb.on_batch_end(net, training=True)
    cb.on_batch_begin(net, training=False)  # validation batches do not count
    assert seen == [1.0, 1.0, 3.0, 3.0, 5.0]
    assert cb.iteration_ == 5


def test_user_callbacks_run_and_are_not_mutated():
    class CountEpochs(Callback):
        def initialize(self):
            self.epochs_ = 0
            return self

        def on_epoch_end(self, net, **kwargs):
            self.epochs_ += 1

    cb = CountEpochs()
    X, y = _blobs()
    est = _small(DSH, callbacks=[("count", cb)]).fit(X, y)
    assert dict(est.net_.callbacks_)["count"].epochs_ == 3
    assert not hasattr(cb, "epochs_")


def test_net_params_reach_skorch():
    X, y = _blobs()
    est = _small(
        DSH,
        optimizer=torch.optim.SGD,
        net_params={"optimizer__momentum": 0.9, "optimizer__weight_decay": 4e-3},
    ).fit(X, y)
    group = est.net_.optimizer_.param_groups[0]
    assert group["momentum"] == 0.9 and group["weight_decay"] == 4e-3


def test_grid_search_over_n_bits_and_lr_in_pipeline():
    X, y = _blobs(n_per_class=30)
    pipe = make_pipeline(_small(DSH, max_epochs=5), HammingNeighbors())
    grid = GridSearchCV(
        pipe,
        {"dsh__n_bits": [4, 8], "dsh__lr": [1e-3, 1e-2]},
        cv=StratifiedKFold(2, shuffle=True, random_state=0),
    ).fit(X, y)
    assert set(grid.cv_results_["param_dsh__n_bits"]) == {4, 8}
    assert np.all(np.isfinite(grid.cv_results_["mean_test_score"]))
    assert grid.best_score_ > 0.5


# ---------------------------------------------------------------- bad input
@pytest.mark.parametrize("cls", ESTIMATORS, ids=lambda c: c.__name__)
def test_missing_y_is_an_error_naming_y(cls):
    X, _ = _blobs()
    with pytest.raises(ValueError, match="requires y"):
        _small(cls).fit(X)


def test_nan_and_wrong_width():
    X, y = _blobs()
    Xn = X.copy()
    Xn[3, 2] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        _small(DSH).fit(Xn, y)
    est = _small(DSH).fit(X, y)
    with pytest.raises(ValueError, match="features"):
        est.transform(X[:, :5])
    with pytest.raises(ValueError, match="NaN"):
        est.transform(Xn)


def test_bad_targets_and_network_params():
    X, y = _blobs()
    with pytest.raises(ValueError, match="y must be"):
        _small(DSH).fit(X, np.column_stack([y, y]))
    with pytest.raises(ValueError, match="hidden_layer_sizes"):
        _small(DSH, hidden_layer_sizes=(0,)).fit(X, y)
    with pytest.raises(ValueError, match="n_bits"):
        _small(DNNH, n_bits=32, hidden_layer_sizes=(16,)).fit(X, y)


def test_cuda_device_if_available():
    if not torch.cuda.is_available():
        pytest.skip("no CUDA device")
    X, y = _blobs()
    est = _small(DSH, device="cuda").fit(X, y)
    assert next(est.net_.module_.parameters()).is_cuda
    assert est.transform(X).shape == (X.shape[0], 1)


def test_early_stopping_needs_a_validation_split():
    # skorch's EarlyStopping() monitors valid_loss; without a validation split
    # (the default: train on all the data) that is a clear error, not a
    # KeyError after the first epoch.
    from skorch.callbacks import EarlyStopping

    X, y = _blobs()
    est = _small(HashNet, callbacks=[EarlyStopping()])
    with pytest.raises(ValueError, match=r"valid_loss.*train_split"):
        est.fit(X, y)
    # monitoring the training loss needs no split
    est = _small(DSH, max_epochs=30, callbacks=[EarlyStopping(monitor="train_loss")])
    est.fit(X, y)
    assert "valid_loss" not in est.net_.history[-1]


@pytest.mark.parametrize("cls", ESTIMATORS, ids=lambda c: c.__name__)
def test_early_stopping_on_a_validation_split(cls):
    from skorch.callbacks import EarlyStopping

    X, y = _blobs()
    stop = EarlyStopping(patience=1, threshold=0.5)  # stops after two epochs
    est = _small(cls, max_epochs=20, train_split=0.25, callbacks=[stop]).fit(X, y)
    history = est.net_.history
    assert "valid_loss" in history[-1] and len(history) < 20
    # the held-out quarter is drawn from random_state: deterministic
    again = _small(cls, max_epochs=20, train_split=0.25, callbacks=[stop]).fit(X, y)
    np.testing.assert_array_equal(est.transform(X), again.transform(X))


def test_train_split_takes_a_skorch_splitter():
    from skorch.callbacks import EarlyStopping
    from skorch.dataset import ValidSplit

    X, y = _blobs()
    est = _small(
        DHN,
        train_split=ValidSplit(4, stratified=True),
        callbacks=[EarlyStopping(patience=1)],
    ).fit(X, y)
    assert "valid_loss" in est.net_.history[-1]
    with pytest.raises(ValueError, match="train_split"):
        _small(DHN, train_split=1.5).fit(X, y)


def _warm_start_estimators():
    from skhash.deep import DH, DQN, LDPH, SuBiC

    small = dict(hidden_layer_sizes=(16,), max_epochs=2, random_state=0)
    return [
        _small(DSH, max_epochs=2),
        _small(DHN, max_epochs=2),
        _small(HashNet, max_epochs=2),
        _small(DNNH, max_epochs=2),
        DH(n_bits=8, **small),
        SuBiC(n_bits=8, n_clusters=4, **small),
        DQN(n_bits=8, n_clusters=4, bottleneck=8, kmeans_iter=2, **small),
        LDPH(
            n_bits=8,
            max_epochs=2,
            n_rounds=1,
            epochs_per_round=1,
            pairs_per_sample=2,
            batch_size=50,
            random_state=0,
        ),
    ]


def _n_epochs(est):
    return len(est.net_.history)


@pytest.mark.parametrize(
    "est", _warm_start_estimators(), ids=lambda e: type(e).__name__
)
def test_warm_start_continues_the_previous_network(est):
    X, y = _blobs()
    est.set_params(warm_start=True).fit(X, y)
    net, n_epochs = est.net_, _n_epochs(est)
    weights = [p.detach().clone() for p in net.module_.parameters()]
    est.fit(X, y)
    # The same skorch net, trained further: its history grows, its weights
    # move on from where they were (not re-initialised).
    assert est.net_ is net
    per_fit = est.epochs_per_round if type(est).__name__ == "LDPH" else 2
    assert _n_epochs(est) == n_epochs + per_fit
    after = list(est.net_.module_.parameters())
    assert any(not torch.equal(a, b) for a, b in zip(weights, after, strict=True))
    assert est.transform(X).dtype == np.uint8

    # Without warm_start a refit starts over: a new net, the first history.
    cold = clone(est).set_params(warm_start=False).fit(X, y)
    est.set_params(warm_start=False).fit(X, y)
    assert est.net_ is not net and _n_epochs(est) == n_epochs
    np.testing.assert_array_equal(est.transform(X), cold.transform(X))


def test_warm_start_history_counts_on():
    X, y = _blobs()
    warm = _small(DSH, max_epochs=2, warm_start=True).fit(X, y)
    warm.set_params(max_epochs=3).fit(X, y)
    assert [h["epoch"] for h in warm.net_.history] == [1, 2, 3, 4, 5]
    losses = [h["train_loss"] for h in warm.net_.history]
    assert losses[-1] < losses[0]


def test_warm_start_refuses_another_width_or_code_length():
    X, y = _blobs()
    est = _small(DSH, max_epochs=1, warm_start=True).fit(X, y)
    with pytest.raises(ValueError, match="warm_start=True.*n_features = 10"):
        est.fit(X[:, :8], y)
    with pytest.raises(ValueError, match="warm_start=False"):
        est.set_params(n_bits=16).fit(X, y)
