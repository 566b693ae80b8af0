"""The documentation builds without a warning, gallery included.

Runs ``sphinx-build -W --keep-going -b html`` on a copy of ``docs/`` (so the
build's generated sources do not land in the checkout) and checks that the
pages users land on exist: the API pages, the user guide, the Markdown pages
and every gallery example with its figures.
"""

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

for _module in ("sphinx", "pydata_sphinx_theme", "numpydoc", "sphinx_gallery", "myst_parser", "matplotlib"):
    pytest.importorskip(_module)

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
EXAMPLES = sorted(p.stem for p in (DOCS / "examples").glob("plot_*.py"))
USER_GUIDE = sorted(p.stem for p in (DOCS / "user_guide").glob("*.rst"))
BUILD_OUTPUTS = ("_build", "auto_examples", "generated", "sg_execution_times.rst")


@pytest.fixture(scope="module")
def html(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("docs")
    src, out = tmp / "docs", tmp / "html"
    shutil.copytree(DOCS, src, ignore=shutil.ignore_patterns(*BUILD_OUTPUTS))
    # pages include benchmark tables by their path relative to docs/: the
    # tools' results and those of the experiments
    for results in ("results", "experiments/results"):
        shutil.copytree(
            ROOT / "benchmarks" / results,
            tmp / "benchmarks" / results,
            ignore=shutil.ignore_patterns("*.json"),
        )
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    env["MPLBACKEND"] = "agg"
    # The examples' networks are small: one thread per process is barely
    # slower, and it avoids spinning OpenMP threads on a shared machine.
    env["OMP_NUM_THREADS"] = "1"
    proc = subprocess.run(
        [sys.executable, "-m", "sphinx", "-W", "--keep-going", "-b", "html", str(src), str(out)],
        capture_output=True,
        text=True,
        env=env,
        timeout=900,
    )
    assert proc.returncode == 0, (
        f"sphinx-build failed (exit {proc.returncode}):\n"
        f"{proc.stdout[-4000:]}\n{proc.stderr[-8000:]}"
    )
    return out


def _read(path):
    assert path.is_file(), f"{path} was not built"
    return path.read_text(encoding="utf-8")


def test_gallery_has_examples():
    assert len(EXAMPLES) >= 4


def test_api_pages(html):
    estimator = _read(html / "generated" / "skgmvae.GMVAEClustering.html")
    for name in ("n_components", "min_information", "predict_proba", "transform",
                 "score_samples", "sample", "labels_", "history_"):
        assert name in estimator
    metrics = _read(html / "generated" / "skgmvae.metrics.html")
    assert "clustering_accuracy" in metrics and "purity" in metrics
    datasets = _read(html / "generated" / "skgmvae.datasets.html")
    for name in ("make_spiral", "load_idx_dataset", "read_idx"):
        assert name in datasets
    selection = _read(html / "generated" / "skgmvae.model_selection.html")
    for name in ("bic_score", "stability_score", "largest_within"):
        assert name in selection
    api = _read(html / "api.html")
    assert "skgmvae.GMVAEClustering.html" in api


def test_choosing_k_shows_the_benchmark_table(html):
    text = _read(html / "user_guide" / "choosing_k.html")
    table = (ROOT / "benchmarks" / "results" / "select_k.md").read_text()
    first_row = next(line for line in table.splitlines() if line.startswith("| held-out BIC"))
    cells = [c.strip() for c in first_row.strip("|").split("|")]
    assert "<table" in text
    for cell in cells:
        assert cell in text


@pytest.mark.parametrize("page", ["index", "design_choices", "scaling"]
                         + [f"user_guide/{name}" for name in USER_GUIDE])
def test_pages(html, page):
    text = _read(html / f"{page}.html")
    assert "<h1" in text


@pytest.mark.parametrize("example", EXAMPLES)
def test_gallery_page_has_figures(html, example):
    text = _read(html / "auto_examples" / f"{example}.html")
    images = re.findall(r'<img[^>]+src="([^"]*sphx_glr_' + re.escape(example) + r'_\d+\.png)"', text)
    assert images, f"no figure on the page of {example}"
    for src in images:
        assert (html / "auto_examples" / src).resolve().is_file(), src
