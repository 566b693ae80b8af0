"""benchmarks/experiments/bench_count_rules.py runs end to end in its quick form."""

import json


def test_quick_run_counts_each_rule(data_dir, tmp_path, run_benchmark):
    run_benchmark(
        "experiments/bench_count_rules.py", "--quick",
        "--data-dir", data_dir, "--out-dir", tmp_path,
    )
    assert not (tmp_path / "count_rules.json").exists()  # kept apart from full runs
    cells = json.loads((tmp_path / "count_rules_quick.json").read_text())["cells"]
    assert set(cells) == {"mnist/0", "blobs-3/0"}
    for cell in cells.values():
        for rule in ("eigengap", "modularity", "rule"):
            assert 1 <= cell[rule] <= 20
        assert cell["ratio"] >= 1.0
        # the rule, run with the fit's draws, is what the fit took; on
        # 1,500 or 3,000 rows it counts by the eigengap alone
        assert cell["fit"] == cell["rule"] == cell["eigengap"]
    # three well-separated blobs are counted right
    assert cells["blobs-3/0"]["eigengap"] == 3
    table = (tmp_path / "count_rules_quick.md").read_text()
    assert "| blobs-3 | 3 | 1 | 1/1 (3) | " in table
