"""benchmarks/experiments/bench_latent_axes.py runs end to end in its quick form."""


def test_quick_run_fits_both_ways_and_the_baseline(tmp_path, quick_seed_table):
    table, text = quick_seed_table(
        "bench_latent_axes", tmp_path, "iris", "blobs_own_covariance"
    )
    for (row,) in table.values():
        assert row["start"] in ("gaussian", "spectral")
        for key in ("turned", "unturned", "gmm_full"):
            assert 0.25 <= row[key] <= 1.0
        if row["start"] != "gaussian":  # nothing turns: the same fit
            assert row["turned"] == row["unturned"]
    # iris's classes are close to Gaussian: the full mixture finds them
    assert table["iris"][0]["gmm_full"] > 0.9
    assert "| iris | 1 |" in text
