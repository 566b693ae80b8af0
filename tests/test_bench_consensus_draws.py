"""benchmarks/experiments/bench_consensus_draws.py runs end to end in its quick form."""

import json


def test_quick_run_scores_every_draw_and_the_chosen_one(data_dir, tmp_path, run_benchmark):
    run_benchmark(
        "experiments/bench_consensus_draws.py",
        "--quick", "--threads", "1", "--draws", "3",
        "--data-dir", data_dir, "--out-dir", tmp_path,
    )
    path = tmp_path / "consensus_draws_mnist_1500_K10_D3_quick.json"
    cells = json.loads(path.read_text())["cells"]
    assert set(cells) == {"seed0"}
    cell = cells["seed0"]
    assert len(cell["draws"]) == 3
    assert all(0.1 < a <= 1.0 for a in cell["draws"])
    # the chosen start is one of the draws
    assert cell["chosen"] in cell["draws"]
    table = path.with_suffix(".md").read_text()
    assert "| chosen (medoid) |" in table and "\n| 0 | " in table and "\n| all | " in table
