"""benchmarks/experiments/bench_input_mixture.py: the rules it reports, its
mixture against the start's, and a quick run end to end."""

import json

import numpy as np
import pytest


@pytest.fixture
def module(benchmark_module):
    return benchmark_module("experiments/bench_input_mixture.py")


def test_the_earlier_rule_asks_a_row_per_covariance_entry(module):
    assert module.earlier_rule(30, 4, 3)  # 10 entries a cluster
    assert not module.earlier_rule(29, 4, 3)
    assert not module.earlier_rule(178, 13, 3)  # wine: 59 rows a class against 91


def test_a_refused_seed_is_reported_with_its_accuracy(module):
    rng = np.random.default_rng(0)
    X = np.vstack([rng.normal(0, 1, (200, 2)), rng.normal(8, 1, (200, 2)), [[40, 40], [41, 40]]])
    y = np.repeat([0, 1, 2], [200, 200, 2])
    row = module.one_seed(X, y, 3, 0, quick=False)
    assert row["rule"] and row["earlier_rule"]
    assert row["refused"] and row["smallest"] == 2
    cells = module.row_cells([row])
    assert cells[4] == "-"  # no seed kept
    assert cells[6] == f"1 of 1 ({row['accuracy']:.3f})"


def test_where_the_rule_fails_nothing_is_fitted(module):
    X = np.random.default_rng(0).normal(size=(100, 20))
    row = module.one_seed(X, np.arange(100) % 2, 2, 0, quick=False)  # 50 rows, 80 needed
    assert not row["rule"] and row["accuracy"] is None
    assert module.row_cells([row])[3:] == ["-"] * 4


def test_quick_run_writes_both_rules(tmp_path, run_benchmark):
    run_benchmark(
        "experiments/bench_input_mixture.py", "--quick", "--seeds", "2",
        "--datasets", "iris", "digits", "--out-dir", tmp_path,
    )
    table = json.loads((tmp_path / "input_mixture_quick.json").read_text())
    assert [len(table[name]) for name in ("iris", "digits")] == [2, 2]
    assert table["iris"][0]["rule"] and not table["digits"][0]["rule"]
    assert all(0.5 < row["accuracy"] <= 1.0 for row in table["iris"])
    text = (tmp_path / "input_mixture_quick.md").read_text()
    assert "| iris | 2 |" in text and "| digits | 2 |" in text
