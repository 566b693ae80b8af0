"""benchmarks/experiments/bench_own_cluster.py runs end to end in its quick form."""


def test_quick_run_fits_both_ways_after_a_gaussian_start(tmp_path, quick_seed_table):
    table, text = quick_seed_table(
        "bench_own_cluster", tmp_path, "classification", "moons_small"
    )
    methods = {}
    for name, (row,) in table.items():
        assert set(row) == {"own", "own_weak", "neighbours", "gmm"}
        own, weak, neighbours = row["own"], row["own_weak"], row["neighbours"]
        methods[name] = own["method"]
        for value in (own["final"], weak["final"], neighbours["final"], row["gmm"]):
            assert 1 / 3 <= value <= 1.0
        # the same pretraining and start both ways; only a Gaussian start
        # is held at each row's own cluster, and only by the default
        assert own["method"] == neighbours["method"] and own["start"] == neighbours["start"]
        assert own["own"] == weak["own"] == (own["method"] == "gaussian")
        assert weak["start"] == own["start"] and 1 / 3 <= own["start"] <= 1.0
        assert not neighbours["own"]
    assert methods == {"classification": "gaussian", "moons_small": "spectral"}
    assert "| classification | 1 | gaussian | 1/1 |" in text
