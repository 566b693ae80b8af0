"""benchmarks/experiments/bench_rounding.py runs end to end in its quick form."""

import json


def test_quick_run_scores_the_three_partitions(tmp_path, run_benchmark):
    run_benchmark(
        "experiments/bench_rounding.py", "--quick", "--seeds", "1", "--draws", "2",
        "--datasets", "iris", "circles", "--out-dir", tmp_path,
    )
    table = json.loads((tmp_path / "rounding_quick.json").read_text())
    assert set(table) == {"iris", "circles"}
    for row in table.values():
        assert set(row) == {"least inertia", "least cut", "default"}
        # on each draw the default takes one of the other two partitions
        for i in range(2):
            default = (row["default"]["accuracy"][i], row["default"]["cut"][i])
            assert default in {
                (row[kind]["accuracy"][i], row[kind]["cut"][i])
                for kind in ("least inertia", "least cut")
            }
        assert all(len(v["accuracy"]) == 2 for v in row.values())
        assert all(0.3 <= a <= 1.0 for v in row.values() for a in v["accuracy"])
    assert "| iris |" in (tmp_path / "rounding_quick.md").read_text()
