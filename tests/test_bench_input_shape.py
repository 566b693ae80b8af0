"""benchmarks/experiments/bench_input_shape.py: its held-out scores are the
start's, per row, it leaves the package's shapes as they were, and a
quick run end to end."""

import json

import numpy as np
import pytest

from skgmvae import _init


@pytest.fixture
def module(benchmark_module):
    return benchmark_module("experiments/bench_input_shape.py")


def two_shared_shape_groups(seed=0):
    """Two groups of 80 rows in 6 features with one correlated covariance."""
    rng = np.random.default_rng(seed)
    axes = rng.normal(size=(6, 6))
    y = np.repeat([0, 1], 80)
    return np.where(y[:, None] == 1, 3.0, 0.0) + rng.normal(size=(160, 6)) @ axes, y


def test_the_reported_scores_are_per_row_and_rank_the_shapes_as_the_start_does(module):
    X, _ = two_shared_shape_groups()
    rows = _init.standardised(X)
    scores = module.held_out(rows, 2, seed=0)
    totals = _init.held_out_scores(rows, 2, seed=0)
    assert set(scores) == set(_init.INPUT_MIXTURE_SHAPES)
    assert all(np.isclose(scores[s] * len(rows), totals[s]) for s in scores)
    assert max(scores, key=scores.get) == _init.held_out_shape(rows, 2, seed=0)


def test_a_seed_reports_every_shape_and_restores_the_shapes(module):
    X, y = two_shared_shape_groups()
    shapes = _init.INPUT_MIXTURE_SHAPES
    row = module.one_seed(X, y, 2, 0, quick=False)
    assert _init.INPUT_MIXTURE_SHAPES == shapes
    assert set(row["accuracy"]) == set(shapes) and set(row["held_out"]) == set(shapes)
    assert row["chosen"] == _init.held_out_shape(_init.standardised(X), 2, seed=0)
    assert row["taken"] > 0.9  # two groups 3 apart
    assert set(row["bic"]) == set(shapes)
    cells = module.row_cells([row])
    assert cells[0] == "yes" and cells[1] == f"{row['chosen']} 1"


def test_where_the_rule_fails_nothing_is_fitted(module):
    X = np.random.default_rng(0).normal(size=(100, 20))
    row = module.one_seed(X, np.arange(100) % 2, 2, 0, quick=False)  # 50 rows, 80 needed
    assert row == {"rule": False}
    assert module.row_cells([row])[0] == "no"


def test_quick_run_writes_a_row_per_data_set(tmp_path, run_benchmark):
    run_benchmark(
        "experiments/bench_input_shape.py", "--quick", "--seeds", "2",
        "--datasets", "iris", "digits", "--out-dir", tmp_path,
    )
    table = json.loads((tmp_path / "input_shape_quick.json").read_text())
    assert [len(table[name]) for name in ("iris", "digits")] == [2, 2]
    assert table["iris"][0]["rule"] and not table["digits"][0]["rule"]
    assert all(0.9 < row["taken"] <= 1.0 for row in table["iris"])
    text = (tmp_path / "input_shape_quick.md").read_text()
    assert "| iris | 2 | yes |" in text and "| digits | 2 | no |" in text
