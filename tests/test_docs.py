"""The documentation builds without warnings, every gallery example runs, and
the user guide's code runs and prints what the page shows."""

import contextlib
import io
import os
import re
import runpy
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
EXAMPLES = sorted((REPO / "examples").glob("plot_*.py"))
# User-guide pages whose code blocks form one runnable session: they say so in
# an rst comment, so that pages of fragments (pretrained.rst) stay free-form.
RUNNABLE_MARK = ".. The code blocks of this page run, in order, in tests/test_docs.py."
GUIDE_PAGES = sorted(
    p
    for p in (REPO / "doc" / "user_guide").glob("*.rst")
    if RUNNABLE_MARK in p.read_text()
)
# A ``python`` block, optionally followed by the ``text`` block of its output.
_BLOCK_RE = re.compile(
    r"^(?P<indent> *)\.\. code-block:: (?P<lang>python|text)\n\n"
    r"(?P<body>(?:(?P=indent) +\S.*\n|[ \t]*\n)+)",
    re.M,
)
# build products that sphinx and sphinx-gallery write into the source folder
BUILD_PRODUCTS = ("_build", "generated", "auto_examples", "sg_execution_times.rst")


def _tracked_files():
    """doc/ and examples/ files under version control, or None outside git."""
    try:
        res = subprocess.run(
            ["git", "ls-files", "-z", "doc", "examples"],
            cwd=REPO,
            capture_output=True,
            check=True,
        )
    except (OSError, subprocess.CalledProcessError):
        return None
    files = [f for f in res.stdout.decode().split("\0") if f]
    return files or None


def _copy_sources(dest):
    """Copy doc/ and examples/ so that the build writes nothing into the repo.

    In a git checkout only the committed files are copied, as CI sees them
    (other developers' unfinished result pages do not break this test).
    """
    tracked = _tracked_files()
    if tracked is None:
        shutil.copytree(
            REPO / "doc", dest / "doc", ignore=shutil.ignore_patterns(*BUILD_PRODUCTS)
        )
        shutil.copytree(REPO / "examples", dest / "examples")
    else:
        for rel in tracked:
            target = dest / rel
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(REPO / rel, target)
    return dest / "doc"


def test_docs_build_without_warnings(tmp_path):
    for module in ("sphinx", "numpydoc", "sphinx_gallery", "pydata_sphinx_theme"):
        pytest.importorskip(module)
    src = _copy_sources(tmp_path)
    out = tmp_path / "html"
    env = dict(os.environ, MPLBACKEND="Agg", OPENBLAS_NUM_THREADS="1")
    res = subprocess.run(
        [
            sys.executable,
            "-m",
            "sphinx",
            "-W",
            "--keep-going",
            "-q",
            "-b",
            "html",
            "-D",
            "plot_gallery=0",
            str(src),
            str(out),
        ],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
    )
    assert res.returncode == 0, res.stdout[-5000:] + res.stderr[-5000:]
    api = (out / "api.html").read_text()
    # every public name has its page, through the generated tables
    import skhash
    import skhash.metrics

    for name in ("LSH", "ITQ", "HammingNeighbors", "hamming_distance"):
        assert name in skhash.__all__
        assert (out / "generated" / f"skhash.{name}.html").is_file()
        assert f"generated/skhash.{name}.html" in api
    for name in skhash.metrics.__all__:
        if name != "PROTOCOLS":
            assert f"generated/skhash.metrics.{name}.html" in api
    assert "generated/skhash.cli.main.html" in api
    # the gallery is rendered, one page per example
    for path in EXAMPLES:
        assert (out / "auto_examples" / f"{path.stem}.html").is_file()
    # the per-area result pages that exist are linked from the index pages
    for index, pattern in (
        ("benchmarks", "benchmarks_*.rst"),
        ("reproduction", "reproduction_*.rst"),
    ):
        html = (out / f"{index}.html").read_text()
        for page in sorted((src).glob(pattern)):
            assert f'href="{page.stem}.html' in html, page.name


def test_docs_build_tolerates_missing_result_pages(tmp_path):
    """The index pages build whether or not the per-area pages exist yet."""
    pytest.importorskip("sphinx")
    sys.path.insert(0, str(REPO / "doc"))
    try:
        import conf
    finally:
        sys.path.remove(str(REPO / "doc"))
    empty = tmp_path / "src"
    empty.mkdir()
    text = conf._pages_block("reproduction_*.rst", empty)
    assert "toctree" not in text and "No result page" in text
    (empty / "reproduction_x.rst").write_text("X\n=\n")
    (empty / "reproduction.rst").write_text("index\n")
    text = conf._pages_block("reproduction_*.rst", empty)
    assert ".. toctree::" in text and "   reproduction_x" in text
    assert "   reproduction\n" not in text


def _use_local_cifar10(monkeypatch):
    """Point an example's ``load_cifar10`` at the local JPEG copy, or skip.

    The examples download the original CIFAR-10 batches, which a machine
    without internet cannot; the shared data folder holds the JPEG copy.
    """
    import skhash.datasets
    from skhash.features import available_backbones

    if "efficientnet_lite0" not in available_backbones():
        pytest.skip("needs the pretrained extra (EfficientNet-Lite0 weights)")
    home = Path(os.environ.get("SKHASH_DATA", REPO.parent / "shared" / "data"))
    if not (home / "cifar10" / "jpeg").is_dir():
        pytest.skip(f"needs the CIFAR-10 JPEG copy under {home}")
    original = skhash.datasets.load_cifar10

    def local(subset="train", **kwargs):
        kwargs.update(source="jpeg", data_home=home, download=False)
        return original(subset, **kwargs)

    monkeypatch.setattr(skhash.datasets, "load_cifar10", local)


@pytest.mark.parametrize("path", EXAMPLES, ids=[p.stem for p in EXAMPLES])
def test_gallery_example_runs(path, monkeypatch):
    matplotlib = pytest.importorskip("matplotlib")
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from threadpoolctl import threadpool_limits

    monkeypatch.setattr(plt, "show", lambda *args, **kwargs: None)
    if "load_cifar10" in path.read_text():
        _use_local_cifar10(monkeypatch)
    monkeypatch.chdir(path.parent)
    t0 = time.perf_counter()
    # one BLAS thread: on a loaded 2-core machine, OpenBLAS's spinning threads
    # make the small matrix products of the examples tens of times slower
    with threadpool_limits(limits=1):
        namespace = runpy.run_path(str(path), run_name="__main__")
    elapsed = time.perf_counter() - t0
    n_figures = len(plt.get_fignums())
    plt.close("all")
    assert n_figures >= 1, "an example should draw at least one figure"
    assert "plt" in namespace
    # No time limit here (shared, noisy machines): the gallery's run times are
    # in sphinx-gallery's own report when the docs are built.
    print(f"{path.name}: {elapsed:.1f} s")


def _code_blocks(text):
    """(code, expected output or None) pairs of a page, dedented, in order."""
    pairs, python_end = [], 0
    for m in _BLOCK_RE.finditer(text):
        lines = m.group("body").rstrip().splitlines()
        width = min(len(x) - len(x.lstrip()) for x in lines if x.strip())
        body = "\n".join(x[width:] for x in lines) + "\n"
        if m.group("lang") == "python":
            pairs.append([body, None])
            python_end = m.end()
        elif (
            pairs and pairs[-1][1] is None and not text[python_end : m.start()].strip()
        ):
            pairs[-1][1] = body  # a text block right after: the printed output
    return pairs


@pytest.mark.parametrize("page", GUIDE_PAGES, ids=[p.stem for p in GUIDE_PAGES])
def test_user_guide_code_runs(page, monkeypatch, tmp_path):
    """Each marked page's python blocks run in one namespace, in order; a
    ``text`` block right after one is its printed output (spaces aside)."""
    text = page.read_text()
    if "skhash.deep" in text or "skorch" in text:
        pytest.importorskip("torch")
        pytest.importorskip("skorch")
    from threadpoolctl import threadpool_limits

    monkeypatch.chdir(tmp_path)
    namespace = {"__name__": "__main__"}
    pairs = _code_blocks(text)
    assert pairs, f"{page.name} is marked runnable but has no python block"
    torch_threads = None
    if "torch" in sys.modules or "skhash.deep" in text:
        import torch

        torch_threads = torch.get_num_threads()
        torch.set_num_threads(1)
    with threadpool_limits(limits=1), contextlib.ExitStack() as stack:
        if torch_threads is not None:
            stack.callback(torch.set_num_threads, torch_threads)
        for i, (code, expected) in enumerate(pairs):
            out = io.StringIO()
            with contextlib.redirect_stdout(out):
                exec(compile(code, f"{page.name}, block {i + 1}", "exec"), namespace)
            if expected is not None:
                assert out.getvalue().split() == expected.split(), (
                    f"{page.name}, block {i + 1} printed:\n{out.getvalue()}"
                )
