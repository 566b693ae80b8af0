"""The demo and the benchmark scripts run end to end (in their quick form)."""

import io
import json
from pathlib import Path

import numpy as np
import pytest

from skgmvae.__main__ import main, run_demo

ROOT = Path(__file__).resolve().parents[1]


def test_demo_prints_the_three_models(monkeypatch):
    import skgmvae

    original = skgmvae.GMVAEClustering

    def small(k, **kw):
        return original(k, max_iter=3, pretrain_epochs=3, **kw)

    monkeypatch.setattr(skgmvae, "GMVAEClustering", small)
    out = io.StringIO()
    results = run_demo(seeds=1, out=out)
    text = out.getvalue()
    for name in ("GMVAEClustering", "KMeans", "GaussianMixture"):
        assert name in text
        assert results[name].shape == (1, 4)
        assert np.all((results[name][:, :3] <= 1) & (results[name][:, :3] >= -1))
    # KMeans on digits is a known quantity: Hungarian accuracy near 0.79
    assert 0.7 < results["KMeans"][0, 0] < 0.9


def test_demo_cli_help(capsys):
    try:
        main(["--help"])
    except SystemExit as exc:
        assert exc.code == 0
    assert "load_digits" in capsys.readouterr().out


def test_bench_speed_quick(tmp_path, run_benchmark):
    out = tmp_path / "speed.json"
    run_benchmark(
        "bench_speed.py", "--quick", "--batch-sizes", "16", "--profile",
        "--epochs", "600", "--interleave", "3", "--out", out,
    )
    result = json.loads(out.read_text())
    # whole epochs of the default network, timed (on the CPU: no graphs)
    (epoch,) = result["epochs"]
    assert epoch["rows"] == 600 and epoch["cuda_graphs"] is False
    assert epoch["pretrain"] > 0 and epoch["elbo"] > 0
    assert result["matmul_gflops"] > 0
    row = result["results"][0]
    assert row["samples_per_s"] > 0
    # one fraction of matmul per interleaved block, and their median
    assert len(row["interleaved_fractions"]) == 3
    assert row["interleaved_fraction"] == np.median(row["interleaved_fractions"]) > 0
    # the profiler found the matrix products, and the ceiling follows the share
    assert row["matmul_time_share"] > 0
    assert row["products_only_fraction"] == pytest.approx(
        row["fraction_of_matmul"] / row["matmul_time_share"]
    )


def test_bench_speed_times_bfloat16_steps(tmp_path, run_benchmark):
    out = tmp_path / "speed.json"
    run_benchmark(
        "bench_speed.py", "--quick", "--batch-sizes", "16", "--precision",
        "bfloat16", "--epochs", "600", "--out", out,
    )
    result = json.loads(out.read_text())
    assert result["precision"] == "bfloat16"
    assert result["results"][0]["samples_per_s"] > 0
    assert result["epochs"][0]["elbo"] > 0


def test_bench_mnist_quick(data_dir, tmp_path, run_benchmark):
    run_benchmark("bench_mnist.py", "--quick", "--data-dir", data_dir, "--out-dir", tmp_path)
    result = json.loads((tmp_path / "mnist_test_K10_quick.json").read_text())
    assert result["n_samples"] == 2000
    acc = np.array(result["results"]["KMeans"])[:, 0]
    assert 0.3 < acc.min() < 0.8  # KMeans on MNIST is near 0.5


@pytest.mark.skipif(
    not Path("/proc/self/status").exists(), reason="reads /proc (Linux)"
)
def test_bench_memory_quick(tmp_path, run_benchmark):
    out = tmp_path / "memory.json"
    run_benchmark(
        "bench_memory.py", "--quick", "--rows", 3000, "--models", "GMVAEClustering",
        "KMeans", "--work-dir", tmp_path, "--out", out,
    )
    results = json.loads(out.read_text())["results"]
    assert {(r["model"], r["what"]) for r in results} == {
        (m, w) for m in ("GMVAEClustering", "KMeans") for w in ("fit", "predict")
    }
    for r in results:
        assert r["rows"] == 3000 and r["features"] == 64
        assert 0 <= r["extra_mib"] < 2000 and r["peak_rss_mib"] > r["extra_mib"]


def test_bench_select_k_quick(tmp_path, run_benchmark):
    out = tmp_path / "select_k.json"
    run_benchmark("bench_select_k.py", "--quick", "--out", out, "n_neighbors=5")
    result = json.loads(out.read_text())
    assert result["params"]["n_neighbors"] == 5  # key=value overrides, recorded
    (run,) = result["runs"]
    assert run["true_k"] == 3 and run["grid"] == [2, 3, 4, 5]
    for metric in ("stability", "elbo", "bic"):
        assert len(run["scores"][metric]) == 4
        assert np.all(np.isfinite(run["scores"][metric]))
    # the penalty only lowers the bound, and more for larger K
    gap = np.subtract(run["scores"]["elbo"], run["scores"]["bic"])
    assert np.all(gap > 0) and np.all(np.diff(gap) > 0)
    assert set(run["chosen"].values()) <= {2, 3, 4, 5}
    table = out.with_suffix(".md").read_text()
    for name, chosen in run["chosen"].items():
        assert f"| {name} | {int(chosen == 3)}/1 |" in table


def test_bench_auto_k_quick(tmp_path, run_benchmark):
    run_benchmark("bench_auto_k.py", "--quick", "--out-dir", tmp_path)
    cells = json.loads((tmp_path / "auto_k_quick.json").read_text())["cells"]
    assert set(cells) == {
        f"{name}/0" for name in ("digits-3", "blobs-3")
    }
    for key, cell in cells.items():
        assert cell["true_k"] == int(key.split("/")[0].split("-")[1])
        for field in ("auto_k", "bgmm_raw_k", "bgmm_embedding_k"):
            assert 1 <= cell[field] <= 20
        assert 0 < cell["auto_accuracy"] <= 1 and 0 < cell["fixed_accuracy"] <= 1
    table = (tmp_path / "auto_k_quick.md").read_text()
    assert "| digits | 3 | 1 |" in table and "| blobs | 3 | 1 |" in table


@pytest.mark.skipif(
    not Path("/proc/self/status").exists(), reason="reads /proc (Linux)"
)
def test_bench_memory_sparse_quick(tmp_path, run_benchmark):
    out = tmp_path / "memory_sparse.json"
    run_benchmark(
        "bench_memory_sparse.py", "--quick", "--rows", 3000, "--features", 400,
        "--density", 0.01, "--work-dir", tmp_path, "--out", out,
    )
    saved = json.loads(out.read_text())
    assert {(r["model"], r["what"]) for r in saved["results"]} == {
        (m, w) for m in ("GMVAEClustering", "KMeans") for w in ("fit", "predict")
    }
    for r in saved["results"]:
        assert r["rows"] == 3000 and r["features"] == 400
        assert 0.005 < r["nnz"] / (3000 * 400) < 0.015
        assert r["dense_float64_mib"] == pytest.approx(3000 * 400 * 8 / 2**20)
        assert 0 <= r["extra_mib"] < 2000 and r["seconds"] > 0


def test_bench_auto_k_table_counts_each_method_over_the_seeds_that_have_it(benchmark_module):
    bench_auto_k = benchmark_module("bench_auto_k.py")

    fit = {"true_k": 10, "auto_accuracy": 0.9, "fixed_accuracy": 0.95,
           "auto_seconds": 100.0, "fixed_seconds": 90.0}
    cells = {
        "mnist-10/0": {**fit, "auto_k": 10, "bgmm_raw_k": 20, "bgmm_embedding_k": 19},
        "mnist-10/1": {**fit, "auto_k": 8},  # fitted without the BGMM counts
    }
    table = bench_auto_k.table(cells)
    assert "| mnist | 10 | 2 | 1/2 (8, 10) | 0/1 (20) | 0/1 (19) | 0.900 / 0.950 |" in table
