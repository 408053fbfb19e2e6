"""Sphinx configuration of the skhash documentation.

Build: ``sphinx-build -W -b html doc doc/_build/html`` (the gallery is executed;
add ``-D plot_gallery=0`` to render it without running the examples).

Two parts of the site follow the code instead of being listed by hand, so that
new modules and result pages slot in without editing these files:

* the API reference (``api.rst``): each ``.. skhash-api:: SECTION`` line is
  replaced, when the page is read, by an ``autosummary`` table of the public
  names of that section, taken from the packages' ``__all__``; their stub pages
  are generated into ``generated/`` before reading;
* the benchmark and reproduction pages: ``.. skhash-pages:: PATTERN`` becomes a
  toctree of the per-area result files that exist (``benchmarks_*.rst``,
  ``reproduction_*.rst``), or a sentence saying that none has been written yet.
"""

import fnmatch
import importlib
import inspect
import os
import re
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

import skhash  # noqa: E402

project = "skhash"
author = "skhash developers"
copyright = "2026, skhash developers"
version = release = skhash.__version__

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.mathjax",
    "numpydoc",
    "sphinx_gallery.gen_gallery",
]
if os.environ.get("SKHASH_DOCS_INTERSPHINX"):  # needs network access
    extensions.append("sphinx.ext.intersphinx")
    intersphinx_mapping = {
        "python": ("https://docs.python.org/3", None),
        "numpy": ("https://numpy.org/doc/stable", None),
        "sklearn": ("https://scikit-learn.org/stable", None),
    }

templates_path = ["_templates"]
exclude_patterns = [
    "_build",
    "Thumbs.db",
    ".DS_Store",
    "auto_examples/*.ipynb",
    "auto_examples/*.py",
    "auto_examples/*.zip",
]
html_theme = "pydata_sphinx_theme"
html_title = f"skhash {version}"
html_theme_options = {
    "github_url": None,
    "navigation_with_keys": False,
    "show_toc_level": 2,
}
html_static_path = []

autosummary_generate = False  # the stubs are generated below (see _api_stubs)
autodoc_typehints = "none"
numpydoc_show_class_members = False
numpydoc_class_members_toctree = False
numpydoc_validation_checks = set()

sphinx_gallery_conf = {
    "examples_dirs": str(HERE.parent / "examples"),
    "gallery_dirs": "auto_examples",
    "filename_pattern": r"/plot_",
    "doc_module": ("skhash",),
    "backreferences_dir": "generated/backreferences",
    "download_all_examples": False,
    "remove_config_comments": True,
    "matplotlib_animations": False,
    "min_reported_time": 1,
}

# ---------------------------------------------------------------- API tables


def _public(modname):
    try:
        mod = importlib.import_module(modname)
    except ImportError:
        return None, []
    return mod, [n for n in getattr(mod, "__all__", []) if not n.startswith("_")]


def _api_sections():
    """Section -> list of fully qualified public names."""
    from skhash.base import BaseHasher

    top, names = _public("skhash")
    deep_names = set(getattr(top, "_DEEP", ()))
    sec = {k: [] for k in ("codes", "hashers", "deep", "quantizers", "search", "base")}
    for n in names:
        if n == "__version__":
            continue
        obj = getattr(top, n, None)
        if obj is None:
            continue
        if n.startswith("Base"):
            sec["base"].append(f"skhash.{n}")
        elif n in deep_names:
            sec["deep"].append(f"skhash.{n}")
        elif inspect.isclass(obj) and hasattr(obj, "kneighbors"):
            sec["search"].append(f"skhash.{n}")
        elif inspect.isclass(obj) and hasattr(obj, "distance_tables"):
            sec["quantizers"].append(f"skhash.{n}")
        elif inspect.isclass(obj) and issubclass(obj, BaseHasher):
            sec["hashers"].append(f"skhash.{n}")
        else:
            sec["codes"].append(f"skhash.{n}")
    exported = {id(getattr(top, n.split(".")[-1])) for v in sec.values() for n in v}
    for modname, key in (
        ("skhash.metrics", "metrics"),
        ("skhash.datasets", "datasets"),
        ("skhash.features", "features"),
        ("skhash.evaluation", "evaluation"),
        ("skhash.neighbors", "neighbors"),
        ("skhash.distributed", "distributed"),
        ("skhash.deep", "deep_modules"),
        ("skhash.deep.losses", "losses"),
        ("skhash.utils", "utils"),
    ):
        mod, names = _public(modname)
        sec[key] = []
        for n in names:
            obj = getattr(mod, n, None)
            if obj is None or inspect.ismodule(obj) or id(obj) in exported:
                continue
            if not (inspect.isclass(obj) or callable(obj)):
                continue  # data (dicts of presets) is described in the text
            sec[key].append(f"{modname}.{n}")
    sec["cli"] = ["skhash.cli.main", "skhash.cli.available_methods"]
    return sec


def _autosummary_block(names):
    if not names:
        return "*(nothing exported in this installation)*\n"
    lines = [".. autosummary::", "   :toctree: generated/", "   :nosignatures:", ""]
    lines += [f"   {n}" for n in names]
    return "\n".join(lines) + "\n"


_API_RE = re.compile(r"^\.\. skhash-api:: (\w+)\s*$", re.M)
_PAGES_RE = re.compile(r"^\.\. skhash-pages:: (\S+)\s*$", re.M)


def _pages_block(pattern, srcdir):
    found = sorted(
        p.stem for p in Path(srcdir).glob("*.rst") if fnmatch.fnmatch(p.name, pattern)
    )
    if not found:
        return (
            "*No result page of this kind has been written yet; the benchmark "
            "scripts and the command that produced each table are listed "
            "above.*\n"
        )
    return (
        "\n".join(
            [".. toctree::", "   :maxdepth: 2", ""] + [f"   {name}" for name in found]
        )
        + "\n"
    )


def _source_read(app, docname, source):
    text = source[0]
    if ".. skhash-" not in text:
        return
    sections = _api_sections()
    text = _API_RE.sub(lambda m: _autosummary_block(sections[m.group(1)]), text)
    text = _PAGES_RE.sub(lambda m: _pages_block(m.group(1), app.srcdir), text)
    source[0] = text


def _api_stubs(app):
    """Write the autosummary stub pages of every public name into generated/."""
    from sphinx.ext.autosummary.generate import generate_autosummary_docs

    names = [n for v in _api_sections().values() for n in v]
    with tempfile.TemporaryDirectory() as tmp:
        listing = Path(tmp) / "api_names.rst"
        listing.write_text(_autosummary_block(names))
        generate_autosummary_docs(
            [str(listing)],
            output_dir=str(Path(app.srcdir) / "generated"),
            app=app,
            overwrite=False,
        )


_TYPE_LINE = re.compile(r"^(\s*\**\w+ : )(.*)$")
_TRAILING_UNDERSCORE = re.compile(r"\b([A-Za-z]\w*?)_(?=[\s,)+\-*/]|$)")


def _escape_type_names(app, what, name, obj, options, lines):
    """Escape fitted-attribute names in numpydoc type fields.

    ``ndarray of shape (n_anchors_, n_features)`` would make docutils read
    ``n_anchors_`` as a hyperlink reference to an unknown target.
    """
    for i, line in enumerate(lines):
        m = _TYPE_LINE.match(line)
        if m and "`" not in m.group(2):
            lines[i] = m.group(1) + _TRAILING_UNDERSCORE.sub(r"\1\\_", m.group(2))


def setup(app):
    app.connect("autodoc-process-docstring", _escape_type_names, priority=400)
    app.connect("builder-inited", _api_stubs)
    app.connect("source-read", _source_read)
