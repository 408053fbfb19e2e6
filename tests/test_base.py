"""Behaviour shared through skhash.base: the coder hierarchy, the HTML repr's link."""

import importlib
import inspect
import sys
from pathlib import Path

import numpy as np
import pytest
from sklearn.base import BaseEstimator
from sklearn.utils import estimator_html_repr

from skhash import ITQ, PQ, SDH, HammingNeighbors
from skhash.base import BaseCoder, BaseHasher, BaseQuantizer

DOC = Path(__file__).resolve().parents[1] / "doc"
URL = "https://skhash.readthedocs.io/en/latest/generated/{}.html"


def _api_pages():
    """Qualified names of the API pages the documentation builds (doc/conf.py)."""
    sys.path.insert(0, str(DOC))
    try:
        import conf
    finally:
        sys.path.remove(str(DOC))
    return [n for names in conf._api_sections().values() for n in names]


def _resolve(qualname):
    modname, name = qualname.rsplit(".", 1)
    return getattr(importlib.import_module(modname), name)


def test_html_repr_links_to_the_page_the_docs_build():
    checked = []
    for qualname in _api_pages():
        obj = _resolve(qualname)
        if not (inspect.isclass(obj) and issubclass(obj, BaseEstimator)):
            continue
        # the link depends on the class only; no need to construct it
        assert obj.__new__(obj)._get_doc_link() == URL.format(qualname), qualname
        checked.append(qualname)
    assert {"skhash.ITQ", "skhash.HammingNeighbors", "skhash.features.GIST"} <= set(
        checked
    )
    assert "skhash.QuantizedNeighbors" in checked and "skhash.PQ" in checked
    html = estimator_html_repr(ITQ())
    assert URL.format("skhash.ITQ") in html
    assert URL.format("skhash.HammingNeighbors") in estimator_html_repr(
        HammingNeighbors()
    )


def test_no_link_for_classes_outside_skhash():
    class Mine(ITQ):
        pass

    Mine.__module__ = "mypackage.hashers"
    assert Mine()._get_doc_link() == ""


def test_one_coder_base_for_hashers_and_quantizers():
    """Check that validation, the fit template and tags live in BaseCoder only."""
    shared = ("fit", "_validate_fit_input", "_validate_query", "__sklearn_tags__")
    for name in shared:
        assert name in vars(BaseCoder), name
        assert name not in vars(BaseHasher), name
    assert issubclass(BaseHasher, BaseCoder) and issubclass(BaseQuantizer, BaseCoder)
    # the quantizer adds only its own check to the shared validation
    assert "_validate_query" not in vars(BaseQuantizer)
    assert "fit" not in vars(BaseQuantizer)
    assert "decision_function" not in vars(BaseQuantizer)


def test_supervised_coders_name_y():
    """Check the missing-y error of a supervised hasher and quantizer alike."""

    class SupervisedPQ(PQ):
        _requires_y = True

    X = np.random.default_rng(0).normal(size=(40, 4))
    for est in (SDH(n_bits=4, n_anchors=10), SupervisedPQ(n_bits=4, n_clusters=4)):
        with pytest.raises(ValueError, match="requires y to be passed"):
            est.fit(X)
        assert est.__sklearn_tags__().target_tags.required
