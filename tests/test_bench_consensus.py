"""benchmarks/experiments/bench_consensus.py runs end to end in its quick form."""

import json

import pytest


@pytest.fixture(scope="module")
def quick_run(data_dir, tmp_path_factory, run_benchmark):
    out = tmp_path_factory.mktemp("consensus")
    run_benchmark(
        "experiments/bench_consensus.py",
        "--quick",
        "--threads",
        "1",
        "--draws",
        "2",
        "--min-share",
        "0",
        "0.5",
        "--data-dir",
        data_dir,
        "--out-dir",
        out,
    )
    return out


def test_quick_run_scores_every_draw_and_share(quick_run):
    path = quick_run / "consensus_mnist_1500_K10_quick.json"
    cells = json.loads(path.read_text())["cells"]
    assert set(cells) == {
        f"seed0/draw{d}/share{s}" for d in (0, 1) for s in ("0", "0.5")
    }
    for cell in cells.values():
        assert 0.0 < cell["accuracy"] <= cell["purity"] <= 1.0
        assert 0.0 <= cell["smallest_share"] <= 0.1
    # the draws differ in their rows and KMeans runs
    plain = [cells[f"seed0/draw{d}/share0"] for d in (0, 1)]
    assert plain[0] != plain[1]
    table = path.with_suffix(".md").read_text()
    assert "\n| 0 | plain | 2 | " in table and "\n| 0.5 | plain | 2 | " in table


def test_quick_run_with_balance_scores_both_cuts(data_dir, tmp_path, run_benchmark):
    run_benchmark(
        "experiments/bench_consensus.py",
        "--quick", "--threads", "1", "--draws", "1", "--min-share", "0.25",
        "--balance", "--data-dir", data_dir, "--out-dir", tmp_path,
    )
    path = tmp_path / "consensus_mnist_1500_K10_balance_quick.json"
    cells = json.loads(path.read_text())["cells"]
    assert set(cells) == {"seed0/draw0/share0.25", "seed0/draw0/share0.25/even"}
    assert [cells[k]["balance"] for k in sorted(cells)] == [False, True]
    table = path.with_suffix(".md").read_text()
    assert "Δ accuracy vs plain" in table
    assert "\n| 0.25 | plain | 1 | " in table and "\n| 0.25 | evened | 1 | " in table
