"""benchmarks/experiments/bench_input_umap.py: the suite's cells it reads
beside the UMAP partition, and a quick run end to end."""

import json

import numpy as np
import pytest


@pytest.fixture
def module(benchmark_module):
    return benchmark_module("experiments/bench_input_umap.py")


def test_suite_cells_read_the_gmvae_seeds_and_the_best_baseline(module, tmp_path):
    path = tmp_path / "suite.json"
    cells = {
        "iris/GMVAE/0": {"accuracy": 0.9}, "iris/GMVAE/1": {"accuracy": 0.7},
        "iris/KMeans/0": {"accuracy": 0.6}, "iris/KMeans/1": {"accuracy": 0.8},
        "iris/GMM-full/0": {"accuracy": 0.75}, "iris/GMM-full/1": {"accuracy": 0.75},
        "wine/GMVAE/0": {"accuracy": 0.5},
    }
    path.write_text(json.dumps({"cells": cells}))
    gmvae, best, level = module.suite_cells("iris", path)
    assert sorted(gmvae) == [0.7, 0.9] and best == "GMM-full" and level == pytest.approx(0.75)
    assert module.suite_cells("wine", path) == ([0.5], None, None)
    assert module.suite_cells("moons", path) == ([], None, None)
    rows = [{"accuracy": 0.95}, {"accuracy": 0.85}]
    assert module.row_cells("iris", rows, path) == ["0.900 (0.850)", "0.800 (0.700)", "GMM-full 0.750"]
    assert module.row_cells("moons", [{"accuracy": None}], path) == ["-", "-", "-"]


def test_quick_run_writes_a_row_per_data_set(tmp_path, run_benchmark):
    pytest.importorskip("umap", reason="umap-learn is optional: pip install -e \".[umap]\"")
    run_benchmark(
        "experiments/bench_input_umap.py", "--quick", "--seeds", "2",
        "--datasets", "moons", "iris", "--out-dir", tmp_path,
    )
    table = json.loads((tmp_path / "input_umap_quick.json").read_text())
    assert [len(table[name]) for name in ("moons", "iris")] == [2, 2]
    assert all(0.5 < row["accuracy"] <= 1.0 for name in table for row in table[name])
    text = (tmp_path / "input_umap_quick.md").read_text()
    assert "| moons | 2 | " in text and "| iris | 2 | " in text
    assert np.isfinite([row["accuracy"] for row in table["moons"]]).all()
