"""Behaviour shared through skhash.base: the HTML repr's documentation link."""

import importlib
import inspect
import sys
from pathlib import Path

from sklearn.base import BaseEstimator
from sklearn.utils import estimator_html_repr

from skhash import ITQ, HammingNeighbors

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
