"""benchmarks/experiments/bench_latent_axes.py runs end to end in its quick form."""

import json


def test_quick_run_fits_both_ways_and_the_baseline(tmp_path, run_benchmark):
    run_benchmark(
        "experiments/bench_latent_axes.py", "--quick", "--seeds", "1",
        "--datasets", "iris", "blobs_own_covariance", "--out-dir", tmp_path,
    )
    assert not (tmp_path / "latent_axes.json").exists()  # kept apart from full runs
    table = json.loads((tmp_path / "latent_axes_quick.json").read_text())
    assert set(table) == {"iris", "blobs_own_covariance"}
    for (row,) in table.values():
        assert row["start"] in ("gaussian", "spectral")
        for key in ("turned", "unturned", "gmm_full"):
            assert 0.25 <= row[key] <= 1.0
        if row["start"] != "gaussian":  # nothing turns: the same fit
            assert row["turned"] == row["unturned"]
    # iris's classes are close to Gaussian: the full mixture finds them
    assert table["iris"][0]["gmm_full"] > 0.9
    assert "| iris | 1 |" in (tmp_path / "latent_axes_quick.md").read_text()
