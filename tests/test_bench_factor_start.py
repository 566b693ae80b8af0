"""benchmarks/experiments/bench_factor_start.py runs end to end in its quick form."""


def test_quick_run_fits_both_ways(tmp_path, quick_seed_table):
    table, text = quick_seed_table(
        "bench_factor_start", tmp_path, "moons_small", "three_moon_pairs"
    )
    for (row,) in table.values():
        assert set(row) == {"factored", "unheld", "diagonal"}
        for way in row.values():
            for key in ("first", "final"):
                assert 1 / 6 <= way[key] <= 1.0
        # the same pretraining and the same start, both ways
        assert row["factored"]["start"] == row["diagonal"]["start"]
        assert row["factored"]["method"] == row["diagonal"]["method"]
        assert not row["unheld"]["held"] and not row["diagonal"]["held"] or (
            row["factored"]["held"]  # a start the graph separates is held all ways
        )
    assert "| three_moon_pairs | 1 |" in text
