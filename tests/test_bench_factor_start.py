"""benchmarks/experiments/bench_factor_start.py runs end to end in its quick form."""

import json


def test_quick_run_fits_both_ways(tmp_path, run_benchmark):
    run_benchmark(
        "experiments/bench_factor_start.py", "--quick", "--seeds", "1",
        "--datasets", "moons_small", "three_moon_pairs", "--out-dir", tmp_path,
    )
    assert not (tmp_path / "factor_start.json").exists()  # kept apart from full runs
    table = json.loads((tmp_path / "factor_start_quick.json").read_text())
    assert set(table) == {"moons_small", "three_moon_pairs"}
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
    text = (tmp_path / "factor_start_quick.md").read_text()
    assert "| three_moon_pairs | 1 |" in text
