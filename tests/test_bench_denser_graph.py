"""benchmarks/experiments/bench_denser_graph.py runs end to end in its quick form."""

import json

import pytest


@pytest.mark.parametrize("raw", [False, True], ids=["embedding", "raw"])
def test_quick_run_scores_both_graphs_and_the_rule(tmp_path, run_benchmark, raw):
    run_benchmark(
        "experiments/bench_denser_graph.py", "--quick", "--seeds", "2",
        "--datasets", "moons_noisy", "swiss_roll_halves", "--out-dir", tmp_path,
        *(["--raw"] if raw else []),
    )
    stem = "denser_graph" + ("_raw" if raw else "") + "_quick"
    table = json.loads((tmp_path / f"{stem}.json").read_text())
    assert set(table) == {"moons_noisy", "swiss_roll_halves"}
    for row in table.values():
        assert set(row) == {"asked graph", "denser graph", "default"}
        for i in range(2):
            def scores(kind):
                return tuple(row[kind][key][i] for key in ("accuracy", "leak"))

            # the default takes the denser graph's partition only where it
            # leaks less of the asked graph
            asked, denser = scores("asked graph"), scores("denser graph")
            assert scores("default") == (denser if denser[1] < asked[1] else asked)
        assert all(0.3 <= a <= 1.0 for v in row.values() for a in v["accuracy"])
    assert "| swiss_roll_halves |" in (tmp_path / f"{stem}.md").read_text()
