"""Bad input at the edges: each case raises one clear error (or works).

The table of cases x outcome lives here, one parametrized test per kind of
edge; every fit is tiny so that the module runs in seconds.
"""

import numpy as np
import pytest

from skhash.linear import CCAITQ, ITQ, KSH, SDH
from skhash.quantization import PQ

RNG = np.random.default_rng(0)
X = RNG.normal(size=(40, 6))
Y = np.arange(40) % 3
Y_MULTI = np.eye(3, dtype=int)[Y]
Y_MULTI[::5, 0] = 1


def _deep(name, **params):
    """A tiny deep hasher (skipped without torch)."""
    deep = pytest.importorskip("skhash.deep")
    base = dict(n_bits=8, max_epochs=1, random_state=0)
    if name not in ("LDPH",):
        base["hidden_layer_sizes"] = (8,)
    if name in ("UHBDNN", "SHBDNN"):
        base = dict(n_bits=4, max_iter=1, lbfgs_max_iter=2, random_state=0)
    base.update(params)
    return getattr(deep, name)(**base)


def _sgd():
    return pytest.importorskip("torch").optim.SGD


# -- non-finite outputs ------------------------------------------------------
NONFINITE_FIT = {
    "DNNH-SGD-lr=1e30": (
        lambda: _deep("DNNH", lr=1e30, max_epochs=2, optimizer=_sgd()),
        X,
        Y,
        "DNNH.fit gave NaN",
    ),
    "UHBDNN-equality_weight=1e300": (
        lambda: _deep("UHBDNN", equality_weight=1e300),
        X,
        None,
        "coefs_",
    ),
    "LDPH-distance_weight=1e38": (
        lambda: _deep("LDPH", n_bits=4, distance_weight=1e38, n_rounds=1),
        X,
        None,
        "distance_weight=1e",
    ),
    "DSH-X*1e30": (lambda: _deep("DSH"), X * 1e30, Y, "diverged"),
    "DSH-quantization_weight=1e38": (
        lambda: _deep("DSH", quantization_weight=1e38),
        X,
        Y,
        "quantization_weight=1e",
    ),
    "DSH-SGD-lr=1e30": (
        lambda: _deep("DSH", lr=1e30, max_epochs=2, optimizer=_sgd()),
        X,
        Y,
        "lr=1e",
    ),
    "DSH-X=1e39": (lambda: _deep("DSH"), X * 1e39, Y, "float32"),
    "DHN-X=1e39": (lambda: _deep("DHN"), X * 1e39, Y, "float32"),
    "DH-X=1e39": (
        lambda: _deep("DH", hidden_layer_sizes=(8,)),
        X * 1e39,
        None,
        "float32",
    ),
    "SDH-sigma=1e-300": (
        lambda: SDH(n_bits=8, n_anchors=10, sigma=1e-300, random_state=0),
        X,
        Y,
        "sigma=1e-300",
    ),
    "KSH-sigma=1e-300": (
        lambda: KSH(n_bits=8, n_anchors=10, sigma=1e-300, max_iter=2, random_state=0),
        X,
        Y,
        "sigma=1e-300",
    ),
    "SDH-sigma=1e200": (
        lambda: SDH(n_bits=8, n_anchors=10, sigma=1e200, random_state=0),
        X,
        Y,
        "sigma=1e",
    ),
}


@pytest.mark.parametrize("case", sorted(NONFINITE_FIT))
def test_nonfinite_fit_is_an_error(case):
    make, X_fit, y, match = NONFINITE_FIT[case]
    with pytest.raises(ValueError, match=match):
        make().fit(X_fit, y)


@pytest.mark.parametrize(
    "make",
    [
        lambda: ITQ(n_bits=4, random_state=0),
        lambda: _deep("DSH"),
        lambda: _deep("DH", hidden_layer_sizes=(8,)),
    ],
    ids=["ITQ", "DSH", "DH"],
)
def test_transform_of_float32_overflow_or_nan_output_is_an_error(make):
    est = make().fit(X, Y)
    Q = X[:3].copy()
    Q[1, 2] = 1e39  # finite in float64, inf in float32
    if type(est).__name__ == "ITQ":
        # ITQ computes in float64: 1e39 is fine; NaN outputs are not.
        est.transform(Q)
        est._project = lambda X: np.full((X.shape[0], 4), np.nan)
    with pytest.raises(ValueError, match="float32|NaN or infinite"):
        est.decision_function(Q)
    with pytest.raises(ValueError, match="float32|NaN or infinite"):
        est.transform(Q)


def test_quantizer_nonfinite_space_is_an_error():
    pq = PQ(n_bits=4, n_clusters=4, random_state=0).fit(X)
    pq._space = lambda Z: Z * np.inf
    for method in (pq.transform, pq.distance_tables):
        with pytest.raises(ValueError, match="PQ.transform gave NaN or infinite"):
            method(X[:2])


def test_nonfinite_fitted_attribute_is_an_error():
    class Broken(ITQ):
        def _fit(self, X, y):
            super()._fit(X, y)
            self.rotation_ = self.rotation_ * np.nan

    with pytest.raises(ValueError, match="rotation_"):
        Broken(n_bits=4, random_state=0).fit(X)


# -- supervised targets -------------------------------------------------------
SUPERVISED = {
    "CCAITQ": lambda: CCAITQ(n_bits=4, random_state=0),
    "SDH": lambda: SDH(n_bits=4, n_anchors=10, random_state=0),
    "KSH": lambda: KSH(n_bits=4, n_anchors=10, max_iter=2, random_state=0),
    "DSH": lambda: _deep("DSH"),
    "DQN": lambda: _deep("DQN", n_clusters=4, n_bits=4, bottleneck=4),
    "SHBDNN": lambda: _deep("SHBDNN"),
}


@pytest.mark.parametrize("name", sorted(SUPERVISED))
def test_supervised_target_checks(name):
    make = SUPERVISED[name]
    with pytest.raises(ValueError, match="Unknown label type: continuous"):
        make().fit(X, RNG.normal(size=40))
    with pytest.raises(ValueError, match="at least two classes"):
        make().fit(X, np.zeros(40, dtype=int))
    with pytest.raises(ValueError, match="at least two classes"):
        make().fit(X, np.ones((40, 3), dtype=int))
    if name not in ("DQN",):
        make().fit(X, Y_MULTI)  # 0/1 multi-label indicator: fine


# -- labels of the search estimators -------------------------------------------
@pytest.mark.parametrize("n_labels", [20, 60])
def test_searchers_check_the_number_of_labels(n_labels):
    from skhash import HammingNeighbors
    from skhash.quantization import QuantizedNeighbors

    codes = RNG.integers(0, 256, (40, 2), dtype=np.uint8)
    y = np.arange(n_labels) % 2
    match = "inconsistent numbers of samples"
    with pytest.raises(ValueError, match=match):
        HammingNeighbors().fit(codes, y)
    with pytest.raises(ValueError, match=match):
        QuantizedNeighbors(PQ(n_bits=4, n_clusters=4, random_state=0)).fit(X, y)


# -- saved indexes ----------------------------------------------------------------
def _saved_index(tmp_path):
    from skhash import HammingNeighbors
    from skhash.neighbors import save_index

    codes = RNG.integers(0, 256, (90, 4), dtype=np.uint8)
    nn = HammingNeighbors(n_neighbors=5, algorithm="numpy").fit(codes, Y[:30].repeat(3))
    return save_index(nn, tmp_path / "ix"), codes


def _flip_bytes(fname, n=60):
    data = bytearray(fname.read_bytes())
    for pos in range(len(data) - n, len(data)):
        data[pos] ^= 0xFF
    fname.write_bytes(bytes(data))


def _truncate(fname):
    data = fname.read_bytes()
    fname.write_bytes(data[: len(data) // 2])


def _garbage(fname):
    fname.write_bytes(b"\xff\xfe\x00garbage" * 3)


DAMAGE = {
    "codes-flipped": ("codes.npy", _flip_bytes),
    "codes-truncated": ("codes.npy", _truncate),
    "codes-garbage": ("codes.npy", _garbage),
    "codes-missing": ("codes.npy", lambda f: f.unlink()),
    "labels-flipped": ("labels.npy", lambda f: _flip_bytes(f, 8)),
    "labels-truncated": ("labels.npy", _truncate),
    "params-truncated": ("params.json", _truncate),
    "params-garbage": ("params.json", _garbage),
    "params-missing": ("params.json", lambda f: f.unlink()),
}


@pytest.mark.parametrize("case", sorted(DAMAGE))
@pytest.mark.parametrize("mmap_mode", [None, "r"])
def test_damaged_index_is_one_clear_error(tmp_path, case, mmap_mode):
    from skhash.neighbors import IndexFileError, load_index

    path, codes = _saved_index(tmp_path)
    fname, damage = DAMAGE[case]
    damage(tmp_path / "ix" / fname)
    with pytest.raises(IndexFileError, match=fname.replace(".", r"\.")):
        load_index(path, mmap_mode=mmap_mode)


def test_index_checksum_can_be_skipped_and_old_format_loads(tmp_path):
    import json

    from skhash.neighbors import load_index

    path, codes = _saved_index(tmp_path)
    _flip_bytes(tmp_path / "ix" / "codes.npy", 4)
    nn = load_index(path, mmap_mode="r", verify_checksum=False)  # no hashing
    assert nn.n_samples_fit_ == 90
    meta_file = tmp_path / "ix" / "params.json"
    meta = json.loads(meta_file.read_text())
    meta["format"] = 1
    del meta["arrays"]
    meta_file.write_text(json.dumps(meta))
    with pytest.warns(UserWarning, match="no checksum"):
        assert load_index(path).n_samples_fit_ == 90


# -- query-time arguments of the search estimators ---------------------------------
def _algorithms():
    import importlib.util

    out = ["numpy", "mih"]
    for name, module in [("numba", "numba"), ("faiss", "faiss"), ("torch", "torch")]:
        if importlib.util.find_spec(module) is not None:
            out.append(name)
    return out


@pytest.mark.parametrize("algorithm", _algorithms())
@pytest.mark.parametrize("radius", [np.nan, np.inf, -1, True, "2"])
def test_radius_neighbors_validates_radius(algorithm, radius):
    from skhash import HammingNeighbors

    codes = RNG.integers(0, 256, (30, 2), dtype=np.uint8)
    nn = HammingNeighbors(algorithm=algorithm).fit(codes)
    with pytest.raises(ValueError, match="radius"):
        nn.radius_neighbors(codes[:2], radius=radius)
    with pytest.raises(ValueError, match="radius"):
        nn.radius_neighbors_graph(codes[:2], radius=radius)
    if not isinstance(radius, str):
        with pytest.raises(ValueError, match="radius"):
            HammingNeighbors(radius=radius, algorithm=algorithm).fit(codes)


@pytest.mark.parametrize("k", [2.7, True, 0, "3"])
def test_distributed_kneighbors_validates_k(k):
    da = pytest.importorskip("dask.array")
    from skhash import distributed

    codes = RNG.integers(0, 256, (30, 2), dtype=np.uint8)
    with pytest.raises(ValueError, match="n_neighbors"):
        distributed.kneighbors(codes[:2], da.from_array(codes, chunks=10), k)


# -- parameter edges ---------------------------------------------------------------
PARAM_EDGES = {
    "ITQ-n_bits=True": (lambda: ITQ(n_bits=True), "n_bits"),
    "PQ-n_bits=True": (lambda: PQ(n_bits=True), "n_bits"),
    "SDH-n_anchors=True": (lambda: SDH(n_anchors=True), "n_anchors"),
    "KSH-max_iter=False": (lambda: KSH(max_iter=False), "max_iter"),
    "DSH-n_bits=True": (lambda: _deep("DSH", n_bits=True), "n_bits"),
    "DSH-max_epochs=True": (lambda: _deep("DSH", max_epochs=True), "max_epochs"),
    "SDH-label_ridge=0": (lambda: SDH(label_ridge=0), "label_ridge"),
    "KSH-sigma=1e-300": (lambda: KSH(sigma=1e-300, n_anchors=10), "sigma"),
    "SDH-n_bits=10**6": (
        lambda: SDH(n_bits=10**6, n_anchors=10),
        "would need about .*TiB",
    ),
    "SuBiC-n_bits=10**9": (
        lambda: _deep("SuBiC", n_bits=10**9, n_clusters=4),
        "would need about",
    ),
    "LDPH-pairs_per_sample=10**9": (
        lambda: _deep("LDPH", n_bits=4, pairs_per_sample=10**9),
        "pairs_per_sample",
    ),
    "DQN-bottleneck=10**9": (
        lambda: _deep("DQN", n_bits=4, n_clusters=4, bottleneck=10**9),
        "bottleneck",
    ),
    "DSH-input_shape=(2, 3)": (lambda: _deep("DSH", input_shape=(2, 3)), "input_shape"),
    "DQN-input_shape=(3, 2)": (
        lambda: _deep("DQN", n_bits=4, n_clusters=4, bottleneck=4, input_shape=(3, 2)),
        "input_shape",
    ),
    "DH-input_shape=(-2, -3)": (
        lambda: _deep("DH", hidden_layer_sizes=(8,), input_shape=(-2, -3)),
        "input_shape",
    ),
}


@pytest.mark.parametrize("case", sorted(PARAM_EDGES))
def test_parameter_edges(case):
    make, match = PARAM_EDGES[case]
    with pytest.raises(ValueError, match=match):
        make().fit(X, Y)


def test_backbone_shape_mismatch_is_a_value_error():
    torch = pytest.importorskip("torch")

    backbone = torch.nn.Sequential(torch.nn.Conv2d(3, 4, 3), torch.nn.Flatten())
    with pytest.raises(ValueError, match="backbone fails .*input_shape=\\(1, 2, 3\\)"):
        _deep("DSH", backbone=backbone, input_shape=(1, 2, 3)).fit(X, Y)


# -- search backends' parameters ------------------------------------------------------
ALGORITHM_PARAMS = [
    ("numba", {"chunk_rows": -5}, "chunk_rows"),
    ("numba", {"chunk_rows": 2.5}, "chunk_rows"),
    ("numpy", {"block_bytes": 0}, "block_bytes"),
    ("numpy", {"chunk_size": 10}, "not valid for algorithm='numpy'"),
    ("mih", {"n_substrings": 0}, "n_substrings"),
    ("mih", {"max_work": -1}, "max_work"),
    ("mih", {"reorder_bits": "yes"}, "reorder_bits"),
    ("torch", {"query_block": 0}, "query_block"),
    ("torch", {"db_chunk": 0}, "db_chunk"),
    ("torch", {"db_chunk": -3}, "db_chunk"),
    ("faiss", {"nprobe": 3}, "not valid for algorithm='faiss'"),
]


@pytest.mark.parametrize(
    "algorithm, params, match", ALGORITHM_PARAMS, ids=lambda v: str(v)
)
def test_algorithm_params_are_validated(algorithm, params, match):
    from skhash import HammingNeighbors

    if algorithm not in _algorithms():
        pytest.skip(f"{algorithm} is not installed")
    codes = RNG.integers(0, 256, (30, 2), dtype=np.uint8)
    nn = HammingNeighbors(algorithm=algorithm, algorithm_params=params)
    with pytest.raises(ValueError, match=match):
        nn.fit(codes)


# -- the command line: one error line, never a traceback ------------------------------
def _cli(argv, capsys):
    from skhash.cli import main

    status = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return status, err


@pytest.fixture
def train_file(tmp_path):
    path = tmp_path / "X.npy"
    np.save(path, X.astype(np.float32))
    np.save(tmp_path / "y.npy", Y)
    return path


def _no_cuda():
    torch = pytest.importorskip("torch")
    if torch.cuda.is_available():
        pytest.skip("CUDA is available")


CLI_CASES = {
    "label_ridge=0": (["--method", "SDH", "--param", "label_ridge=0"], "label_ridge"),
    "sigma=1e-300": (
        ["--method", "KSH", "--param", "sigma=1e-300", "--param", "n_anchors=10"],
        "sigma",
    ),
    "n_bits=True": (["--method", "LSH", "--param", "n_bits=True"], "n_bits"),
    "device=cuda": (
        ["--method", "DSH", "--param", "device='cuda'", "--param", "max_epochs=1"],
        "CUDA is not available",
    ),
    "input_shape": (
        ["--method", "DSH", "--param", "input_shape=(2, 3)", "--param", "max_epochs=1"],
        "input_shape",
    ),
}


@pytest.mark.parametrize("case", sorted(CLI_CASES))
def test_cli_bad_parameters_print_one_line(tmp_path, train_file, capsys, case):
    extra, match = CLI_CASES[case]
    if case in ("device=cuda", "input_shape"):
        _no_cuda()
    argv = ["fit", train_file, "-o", tmp_path / "m.joblib", "--n-bits", 8]
    argv += ["--labels", tmp_path / "y.npy", "--no-scale", "-q", *extra]
    status, err = _cli(argv, capsys)
    assert status == 2
    assert err.count("\n") == 1 and err.startswith("skhash fit: error:"), err
    assert match in err
    assert not (tmp_path / "m.joblib").exists()


@pytest.mark.parametrize(
    "exc, status, first",
    [
        (KeyboardInterrupt(), 130, "skhash demo: interrupted"),
        (MemoryError("Unable to allocate 7.28 TiB"), 2, "skhash demo: error: out of"),
        (RuntimeError("mat1 and mat2 shapes\ncannot be multiplied"), 2, "skhash demo"),
    ],
    ids=["ctrl-c", "memory", "torch-runtime"],
)
def test_cli_interrupt_and_crashes_print_one_line(
    monkeypatch, capsys, exc, status, first
):
    import skhash.cli

    def boom(args):
        raise exc

    monkeypatch.setitem(skhash.cli._COMMANDS, "demo", boom)
    got, err = _cli(["demo"], capsys)
    assert got == status
    assert err.count("\n") == 1 and err.startswith(first), err


def test_string_labels_are_classes():
    y = np.array(["cat", "dog", "owl"], dtype=object)[Y]
    assert CCAITQ(n_bits=2, random_state=0).fit(X, y).transform(X).shape == (40, 1)
    with pytest.raises(ValueError, match="at least two classes"):
        CCAITQ(n_bits=2).fit(X, np.full(40, "cat", dtype=object))
