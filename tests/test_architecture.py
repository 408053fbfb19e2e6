"""The package layout rules of conventions.md, enforced.

* ``import skhash`` imports neither torch nor faiss (nor skorch, numba, dask);
* imports flow one way: ``_kernels`` -> (``linear``, ``quantization``,
  ``neighbors``, ``metrics``, ``datasets``, ``features``) -> ``deep``;
  ``_kernels`` imports no scikit-learn, torch or other skhash package.
"""

import ast
import subprocess
import sys
from pathlib import Path

import pytest

PKG = Path(__file__).resolve().parents[1] / "skhash"

HEAVY = ["torch", "faiss", "skorch", "numba", "dask", "matplotlib"]


def test_import_skhash_is_light():
    code = (
        "import sys, skhash, skhash.linear, skhash.neighbors, skhash.metrics; "
        f"print([m for m in {HEAVY!r} if m in sys.modules])"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == "[]", out.stdout


def _imports(path):
    tree = ast.parse(path.read_text())
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for a in node.names:
                yield a.name
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            yield node.module


def _subpackage(module):
    parts = module.split(".")
    return parts[1] if len(parts) > 1 and parts[0] == "skhash" else None


def _files(sub):
    return sorted((PKG / sub).rglob("*.py"))


@pytest.mark.parametrize("path", _files("_kernels"), ids=lambda p: p.name)
def test_kernels_are_pure(path):
    for mod in _imports(path):
        top = mod.split(".")[0]
        assert top not in {"sklearn", "torch", "skorch", "faiss"}, (path, mod)
        if top == "skhash":
            assert mod.startswith("skhash._kernels"), (path, mod)


SHALLOW = ["linear", "quantization", "neighbors", "metrics", "datasets", "features"]


@pytest.mark.parametrize(
    "path",
    [p for sub in SHALLOW for p in _files(sub)],
    ids=lambda p: f"{p.parent.name}/{p.name}",
)
def test_shallow_packages_do_not_import_deep(path):
    for mod in _imports(path):
        assert _subpackage(mod) != "deep", (path, mod)
    # Optional heavy backends (numba, faiss, the torch GPU search) are allowed in
    # modules imported lazily; test_import_skhash_is_light checks they stay lazy.


def _is_base_class_name(node):
    return isinstance(node, ast.Name) and (
        node.id.startswith("Base") or node.id.endswith("Mixin")
    )


@pytest.mark.parametrize(
    "path", sorted(PKG.rglob("*.py")), ids=lambda p: str(p.relative_to(PKG))
)
def test_no_borrowed_methods(path):
    """Check that no class borrows a base class's method: each inherits it.

    ``BaseQuantizer.transform(self, X)`` (an unbound call) or
    ``transform = BaseQuantizer.transform`` (a copy in a class body) mean the
    class does not sit where it belongs in the hierarchy.
    """
    tree = ast.parse(path.read_text())
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and _is_base_class_name(node.func.value)
            and node.args
            and isinstance(node.args[0], ast.Name)
            and node.args[0].id == "self"
        ):
            pytest.fail(f"{path.name}:{node.lineno}: unbound call {ast.unparse(node)}")
        if isinstance(node, ast.ClassDef):
            for stmt in node.body:
                if (
                    isinstance(stmt, ast.Assign)
                    and isinstance(stmt.value, ast.Attribute)
                    and _is_base_class_name(stmt.value.value)
                    and not stmt.value.attr.startswith("_parameter")
                ):
                    pytest.fail(f"{path.name}:{stmt.lineno}: copied method")
