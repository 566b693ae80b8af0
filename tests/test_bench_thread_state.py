"""benchmarks/experiments/bench_thread_state.py runs end to end in its quick form."""

import json


def test_quick_run_times_every_condition(data_dir, tmp_path, run_benchmark):
    run_benchmark(
        "experiments/bench_thread_state.py", "--quick", "--repeats", "1",
        "--data-dir", data_dir, "--out-dir", tmp_path,
    )
    assert not (tmp_path / "thread_state.json").exists()  # kept apart from full runs
    table = json.loads((tmp_path / "thread_state_quick.json").read_text())
    assert set(table) == {"fresh", "kmeans", "small_fit"}
    for cells in table.values():
        for key in ("release", "keep"):
            (seconds,) = cells[key]
            assert 0 < seconds < 120
    text = (tmp_path / "thread_state_quick.md").read_text()
    assert "| kmeans |" in text and "| small_fit |" in text
