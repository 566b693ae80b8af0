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
