"""LSH, PCAH, ITQ and SpectralHashing: their defining properties and errors."""

import numpy as np
import pytest

from skhash import ITQ, LSH, PCAH, SpectralHashing, unpack_codes

HASHERS = [LSH, PCAH, ITQ, SpectralHashing]


@pytest.fixture
def X():
    rng = np.random.default_rng(0)
    # anisotropic Gaussian with a non-zero mean: centring matters
    return rng.normal(size=(400, 24)) * np.linspace(3, 0.2, 24) + 5.0


@pytest.mark.parametrize("cls", HASHERS)
@pytest.mark.parametrize("n_bits", [1, 7, 8, 13, 24])
def test_shapes_and_bit_rule(cls, n_bits, X):
    h = cls(n_bits=n_bits, random_state=0).fit(X)
    codes = h.transform(X)
    assert codes.dtype == np.uint8 and codes.shape == (400, (n_bits + 7) // 8)
    values = h.decision_function(X)
    assert values.shape == (400, n_bits)
    np.testing.assert_array_equal(unpack_codes(codes, n_bits), values >= 0)
    assert h.get_feature_names_out().shape == (codes.shape[1],)


@pytest.mark.parametrize("cls", HASHERS)
def test_deterministic(cls, X):
    a = cls(n_bits=16, random_state=3).fit_transform(X)
    b = cls(n_bits=16, random_state=3).fit_transform(X)
    np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("cls", [LSH, PCAH, ITQ])
def test_centred_bits_are_balanced_for_symmetric_data(cls, X):
    # Projections of centred, symmetric data are positive about half the time.
    bits = unpack_codes(cls(n_bits=8, random_state=0).fit_transform(X), 8)
    assert np.all(np.abs(bits.mean(axis=0) - 0.5) < 0.15)


def test_lsh_collision_probability_matches_angle():
    rng = np.random.default_rng(1)
    d = 30
    X = rng.normal(size=(2000, d))
    lsh = LSH(n_bits=4096, random_state=0).fit(X)
    x, y = rng.normal(size=d), rng.normal(size=d)
    V = lsh.decision_function(np.vstack([x + lsh.mean_, y + lsh.mean_]))
    frac = np.mean((V[0] >= 0) != (V[1] >= 0))
    theta = np.arccos(x @ y / np.linalg.norm(x) / np.linalg.norm(y))
    assert abs(frac - theta / np.pi) < 0.03


def test_pcah_matches_sklearn_pca(X):
    from sklearn.decomposition import PCA

    h = PCAH(n_bits=6).fit(X)
    P = PCA(n_components=6).fit(X)
    # same directions up to sign
    np.testing.assert_allclose(
        np.abs(h.components_.T @ P.components_.T), np.eye(6), atol=1e-6
    )
    np.testing.assert_allclose(h.explained_variance_, P.explained_variance_, rtol=1e-8)


def test_itq_reduces_quantization_loss_and_rotation_orthogonal(X):
    itq = ITQ(n_bits=16, max_iter=50, random_state=0).fit(X)
    loss = np.array(itq.loss_curve_)
    assert np.all(np.diff(loss) <= 1e-8 * loss[0])
    assert loss[-1] < loss[0]
    np.testing.assert_allclose(itq.rotation_ @ itq.rotation_.T, np.eye(16), atol=1e-10)
    # ITQ's quantization loss is below PCAH's (identity rotation)
    Xc = X - itq.mean_
    V = Xc @ itq.components_
    pcah_loss = ((np.where(V >= 0, 1, -1) - V) ** 2).sum()
    assert loss[-1] < pcah_loss
    assert itq.n_iter_ == 50


def test_spectral_hashing_selects_lowest_frequencies():
    rng = np.random.default_rng(2)
    # two directions with ranges 10 and 1: the wide one gets its first several
    # modes before the narrow one's first mode (frequency k/10 < 1/1 for k < 10)
    X = np.column_stack([rng.uniform(-5, 5, 3000), rng.uniform(-0.5, 0.5, 3000)])
    sh = SpectralHashing(n_bits=6).fit(X)
    wide = sh.directions_ == 0
    assert wide.sum() == 6
    np.testing.assert_array_equal(sh.modes_, [1, 2, 3, 4, 5, 6])
    # first mode splits the wide direction at its middle: balanced bit
    bits = unpack_codes(sh.transform(X), 6)
    assert abs(bits[:, 0].mean() - 0.5) < 0.05
    sh12 = SpectralHashing(n_bits=12).fit(X)
    assert (
        sh12.directions_ == 1
    ).sum() == 1  # k=1 of the narrow one (freq 1 = k 10 of wide)


def test_spectral_eigenfunction_values():
    rng = np.random.default_rng(3)
    X = rng.normal(size=(500, 3))
    sh = SpectralHashing(n_bits=5).fit(X)
    Y = (X - sh.mean_) @ sh.components_
    j = 0
    d, k = sh.directions_[j], sh.modes_[j]
    a, b = sh.lows_[d], sh.highs_[d]
    ref = np.sin(np.pi / 2 + k * np.pi * (Y[:, d] - a) / (b - a))
    np.testing.assert_allclose(sh.decision_function(X)[:, j], ref)


@pytest.mark.parametrize("cls", [PCAH, ITQ])
def test_n_bits_larger_than_features(cls):
    X = np.random.default_rng(0).normal(size=(50, 4))
    with pytest.raises(ValueError, match="n_bits <= n_features"):
        cls(n_bits=8).fit(X)


@pytest.mark.parametrize("cls", HASHERS)
def test_bad_input(cls, X):
    h = cls(n_bits=4)
    with pytest.raises(ValueError, match="NaN"):
        h.fit(np.where(np.eye(10, 5) > 0, np.nan, 1.0))
    with pytest.raises(ValueError, match="inf"):
        h.fit(np.where(np.eye(10, 5) > 0, np.inf, 1.0))
    with pytest.raises(ValueError, match="0 sample"):
        h.fit(np.empty((0, 5)))
    with pytest.raises(ValueError, match="1 sample"):
        h.fit(np.ones((1, 5)))
    with pytest.raises(ValueError, match="n_bits"):
        cls(n_bits=0).fit(X)
    h.fit(X)
    with pytest.raises(ValueError, match="24 features"):
        h.transform(X[:, :5])


def test_unsupervised_ignore_y(X):
    y = np.arange(400) % 3
    a = ITQ(n_bits=8, random_state=0).fit(X, y).transform(X)
    b = ITQ(n_bits=8, random_state=0).fit(X).transform(X)
    np.testing.assert_array_equal(a, b)


def test_float32_input(X):
    X32 = X.astype(np.float32)
    codes = ITQ(n_bits=8, random_state=0).fit_transform(X32)
    assert codes.dtype == np.uint8


def test_itq_verbose_prints_the_loss_of_each_alternation(capsys):
    X = np.random.default_rng(0).normal(size=(60, 8))
    itq = ITQ(n_bits=4, max_iter=3, random_state=0, verbose=1).fit(X)
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 3 and lines[0].startswith("[ITQ] iteration 1/3")
    assert lines[-1].endswith(f"{itq.loss_curve_[-1]:.6g}")
    silent = ITQ(n_bits=4, max_iter=3, random_state=0).fit(X)
    assert capsys.readouterr().out == ""
    np.testing.assert_array_equal(silent.rotation_, itq.rotation_)
