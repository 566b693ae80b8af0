"""benchmarks/experiments/bench_graph_space.py runs end to end in its quick form."""

from skgmvae import _init


def test_quick_run_records_both_graphs_and_both_fits(tmp_path, quick_seed_table):
    table, text = quick_seed_table("bench_graph_space", tmp_path, "circles_20d", "wine")
    (circles,), (wine,) = table["circles_20d"], table["wine"]
    for row in (circles, wine):
        assert row["taken"] in ("embedding", "inputs")  # both have input rows
        for space in ("embedding", "inputs"):
            assert 0.3 <= row[f"{space}_accuracy"] <= 1.0
            assert 0.0 <= row[f"{space}_leak"] <= 1.0
        leaks = row["embedding_leak"], row["inputs_leak"]
        if not row["sparser"]:  # each graph's own partition was weighed
            kept = leaks[0] < _init.TOUCHING_LEAK and leaks[0] <= leaks[1]
            assert row["taken"] == ("embedding" if kept else "inputs")
        if row["taken"] == "embedding" and not row["sparser"]:  # the same start, the same fit
            assert row["default"] == row["embedding_only"]
    assert "| circles_20d | 1 |" in text and "| wine | 1 |" in text
