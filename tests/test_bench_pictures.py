"""The MNIST pictures script in --quick mode: three readable PNGs and a JSON
report with finite numbers."""

import json
import math
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("matplotlib")
Image = pytest.importorskip("PIL.Image")

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "benchmarks" / "plot_mnist_pictures.py"


@pytest.fixture(scope="module")
def quick_run(data_dir, tmp_path_factory, run_benchmark):
    out = tmp_path_factory.mktemp("pictures")
    run_benchmark(SCRIPT.name, "--quick", "--data-dir", data_dir, "--out-dir", out)
    return out, json.loads((out / "mnist_pictures.json").read_text())


def test_quick_report_numbers_are_finite(quick_run):
    _, report = quick_run
    assert report["n_images"] == 500
    assert report["quick"] is True
    for key in ("accuracy", "nmi", "ari", "fit_seconds", "lower_bound"):
        assert isinstance(report[key], float), key
        assert math.isfinite(report[key]), key
    assert 0.0 < report["accuracy"] <= 1.0
    assert 0.0 <= report["nmi"] <= 1.0
    assert report["fit_seconds"] > 0
    assert sum(report["cluster_sizes"]) == 500
    assert report["embedding"]["n_points"] == 500


@pytest.mark.parametrize("kind", ["samples", "embedding", "history"])
def test_quick_pictures_are_valid_images(quick_run, kind):
    out, report = quick_run
    path = out / report["files"][kind]
    assert path.suffix == ".png" and path.is_file()
    with Image.open(path) as img:
        img.verify()  # raises on a truncated or corrupt file
    with Image.open(path) as img:
        assert img.format == "PNG"
        width, height = img.size
        pixels = np.asarray(img.convert("L"), dtype=float)
    assert 300 <= width <= 4000 and 200 <= height <= 4000, img.size
    assert pixels.std() > 5  # not a blank canvas
