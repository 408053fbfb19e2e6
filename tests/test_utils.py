"""skhash.utils.all_estimators: discovery of the exported estimators."""

import subprocess
import sys

import pytest
from sklearn.base import BaseEstimator

import skhash
from skhash.utils import all_estimators


def test_light_estimators_without_torch():
    code = (
        "import sys; from skhash.utils import all_estimators; "
        "names = [n for n, _ in all_estimators(include_deep=False)]; "
        "print('torch' in sys.modules, 'ITQ' in names, 'DSH' in names)"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert out.stdout.split() == ["False", "True", "False"]


def test_sorted_concrete_estimators():
    found = all_estimators(include_deep=False)
    names = [n for n, _ in found]
    assert names == sorted(names)
    assert len(set(names)) == len(names)
    for name, cls in found:
        assert issubclass(cls, BaseEstimator)
        assert not name.startswith("Base")
    assert {"LSH", "ITQ", "PQ", "OPQ", "HammingNeighbors"} <= set(names)


def test_type_filter():
    hashers = {n for n, _ in all_estimators("hasher", include_deep=False)}
    quantizers = {n for n, _ in all_estimators("quantizer", include_deep=False)}
    searchers = {n for n, _ in all_estimators("searcher", include_deep=False)}
    transformers = {n for n, _ in all_estimators("transformer", include_deep=False)}
    assert {"LSH", "ITQ", "SDH"} <= hashers
    assert quantizers >= {"PQ", "OPQ"}
    assert not hashers & quantizers
    assert searchers == {"HammingNeighbors", "QuantizedNeighbors"}
    assert hashers | quantizers <= transformers
    assert not searchers & transformers
    both = {n for n, _ in all_estimators(["hasher", "searcher"], include_deep=False)}
    assert both == hashers | searchers


def test_exported_from_skhash():
    for name, cls in all_estimators(["hasher", "quantizer", "searcher"]):
        assert getattr(skhash, name) is cls


@pytest.mark.parametrize(
    "kwargs", [{"type_filter": "classifier"}, {"include_deep": "yes"}]
)
def test_bad_arguments(kwargs):
    with pytest.raises(ValueError, match=next(iter(kwargs))):
        all_estimators(**kwargs)


@pytest.mark.torch
def test_deep_estimators():
    pytest.importorskip("torch")
    pytest.importorskip("skorch")
    hashers = {n for n, _ in all_estimators("hasher", include_deep=True)}
    quantizers = {n for n, _ in all_estimators("quantizer", include_deep=True)}
    assert {"DSH", "HashNet", "UHBDNN", "LDPH"} <= hashers
    assert {"DQN", "SuBiC"} <= quantizers
    assert {n for n, _ in all_estimators()} == {
        n for n, _ in all_estimators(include_deep=True)
    }
