"""benchmarks/bench_time_to_accuracy.py traces accuracy over a fit and
resumes."""

import json

import numpy as np
import pytest


@pytest.fixture(scope="module")
def quick_trace(tmp_path_factory, run_benchmark):
    out = tmp_path_factory.mktemp("tta")
    args = ["--data", "iris", "--quick", "--seeds", "1", "--every", "1"]
    args += ["--configs", "defaults", "batch_size=32", "--baselines", "KMeans"]
    args += ["--out-dir", out]
    run_benchmark("bench_time_to_accuracy.py", *args)
    return out, args


def test_each_fit_has_a_trace_that_ends_on_its_final_accuracy(quick_trace):
    out, _ = quick_trace
    cells = json.loads((out / "time_to_accuracy_iris_quick.json").read_text())["cells"]
    assert set(cells) == {"GMVAE/defaults/0", "GMVAE/batch_size=32/0", "KMeans/0"}
    for key in ("GMVAE/defaults/0", "GMVAE/batch_size=32/0"):
        points = cells[key]["points"]
        # the start, then each of the two ELBO epochs of the quick fit
        assert [p["epoch"] for p in points] == [0, 1, 2]
        seconds = [p["seconds"] for p in points]
        assert np.all(np.diff(seconds) > 0)
        assert seconds[-1] <= cells[key]["fit_seconds"]
        # the last point is measured on the model fit_predict returns
        assert points[-1]["accuracy"] == pytest.approx(cells[key]["accuracy"], abs=0.02)
    table = (out / "time_to_accuracy_iris_quick.md").read_text()
    assert "| GMVAE/batch_size=32 | 1 |" in table and "| KMeans | 1 |" in table


def test_a_rerun_fits_nothing_again(quick_trace, run_benchmark):
    out, args = quick_trace
    path = out / "time_to_accuracy_iris_quick.json"
    before = path.read_text()
    run_benchmark("bench_time_to_accuracy.py", *args)
    assert path.read_text() == before


def test_a_fit_of_other_code_is_fitted_again_and_marked_until_then(
    quick_trace, run_benchmark, benchmark_module
):
    out, args = quick_trace
    path = out / "time_to_accuracy_iris_quick.json"
    saved = json.loads(path.read_text())
    current = saved["cells"]["GMVAE/defaults/0"]["gmvae"]
    assert "max_iter" in current  # the parameters are in the fingerprint
    saved["cells"]["GMVAE/defaults/0"]["gmvae"] = "other code"
    saved["cells"]["GMVAE/defaults/0"]["accuracy"] = -1.0
    path.write_text(json.dumps(saved))
    tta = benchmark_module("bench_time_to_accuracy.py")
    marked = tta.table(saved["cells"], {"defaults": current, "batch_size=32": "x"})
    assert "| GMVAE/defaults † |" in marked and "| GMVAE/batch_size=32 † |" in marked
    assert "| KMeans | 1 |" in marked
    run_benchmark("bench_time_to_accuracy.py", *args)
    cells = json.loads(path.read_text())["cells"]
    assert cells["GMVAE/defaults/0"]["gmvae"] == current
    assert cells["GMVAE/defaults/0"]["accuracy"] > 0.3
    table = (out / "time_to_accuracy_iris_quick.md").read_text()
    assert "†" not in table
