"""benchmarks/experiments/bench_refined_start.py runs end to end in its quick form."""

import json


def test_quick_run_measures_the_refinement_and_both_fits_where_it_is_taken(
    tmp_path, run_benchmark
):
    run_benchmark(
        "experiments/bench_refined_start.py", "--quick", "--seeds", "1",
        "--datasets", "circles_small", "blobs_scaled", "--out-dir", tmp_path,
    )
    assert not (tmp_path / "refined_start.json").exists()  # kept apart from full runs
    table = json.loads((tmp_path / "refined_start_quick.json").read_text())
    assert set(table) == {"circles_small", "blobs_scaled"}
    from skgmvae._init import REFINED_MOVED_SHARE

    (rings,), (blobs,) = table["circles_small"], table["blobs_scaled"]
    # EM from two rings collapses one into the other: never taken
    assert not rings["taken"] and rings["default"] is None
    # the blobs' spectral start is clean and their 3 features carry the
    # mixture, which moves a few boundary rows at most
    assert blobs["em"] and blobs["taken"]
    assert 0.0 <= blobs["moved"] <= REFINED_MOVED_SHARE
    for key in ("spectral", "refined", "default", "unrefined"):
        assert 0.3 <= blobs[key] <= 1.0
    text = (tmp_path / "refined_start_quick.md").read_text()
    assert "| blobs_scaled | 1 | 1 |" in text and "| circles_small | 1 |" in text
