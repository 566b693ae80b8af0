"""benchmarks/experiments/bench_start_leak.py runs end to end in its quick form."""


def test_quick_run_measures_the_start_and_both_fits(tmp_path, quick_seed_table):
    table, text = quick_seed_table(
        "bench_start_leak", tmp_path, "circles_small", "iris"
    )
    (circles,), (iris,) = table["circles_small"], table["iris"]
    for row in (circles, iris):
        assert 0.3 <= row["start"] <= 1.0 and 0.0 <= row["leak"] <= 1.0
        assert 0.3 <= row["default"] <= 1.0 and 0.3 <= row["follow"] <= 1.0
        assert 0.3 <= row["hold_all"] <= 1.0
    from skgmvae._train import HOLD_MAX_LEAK

    for row in (circles, iris):
        # a start the graph separates is held; another one only where its
        # components start as factor analysers (HOLD_FACTORED_STARTS)
        assert row["held"] or row["leak"] >= HOLD_MAX_LEAK
        if not row["held"]:  # "auto" then is graph_weight=1.0, bit for bit
            assert row["default"] == row["follow"]
        else:  # a held start is held in both
            assert row["default"] == row["hold_all"]
    assert "| iris | 1 |" in text
