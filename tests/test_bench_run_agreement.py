"""benchmarks/experiments/bench_run_agreement.py: its two rules of choice, and
a quick run end to end."""

import json

import pytest


@pytest.fixture
def choices(benchmark_module):
    return benchmark_module("experiments/bench_run_agreement.py").choices


def _row(accuracy, bound, labels):
    return {"accuracy": accuracy, "lower_bound": bound, "labels": labels}


def test_each_rule_keeps_its_own_run_of_every_group(choices):
    # two runs agree on a partition; the third, with the best bound, differs
    rows = [
        _row(0.9, -5.0, [0, 0, 0, 1, 1, 1]),
        _row(0.8, -6.0, [1, 1, 1, 0, 0, 0]),  # the same partition, renamed
        _row(0.5, -1.0, [0, 1, 0, 1, 0, 1]),
    ]
    kept = choices(rows, 3)
    assert kept["bound"] == [0.5]
    assert kept["agreement"] in ([0.9], [0.8])  # either of the agreeing pair
    pairs = choices(rows, 2)
    assert len(pairs["bound"]) == len(pairs["agreement"]) == 3
    assert sorted(pairs["bound"]) == [0.5, 0.5, 0.9]
    assert choices(rows, 4) == {"bound": [], "agreement": []}


def test_quick_run_keeps_labels_and_bounds(tmp_path, run_benchmark):
    run_benchmark(
        "experiments/bench_run_agreement.py", "--quick", "--seeds", "3",
        "--datasets", "iris", "--out-dir", tmp_path,
    )
    assert not (tmp_path / "run_agreement.json").exists()  # kept apart from full runs
    table = json.loads((tmp_path / "run_agreement_quick.json").read_text())
    assert set(table) == {"iris"}
    assert len(table["iris"]) == 3
    for row in table["iris"]:
        assert len(row["labels"]) == 150 and 0.25 <= row["accuracy"] <= 1.0  # all of iris
    text = (tmp_path / "run_agreement_quick.md").read_text()
    assert "| iris | 3 |" in text and "agreement of 3" in text
