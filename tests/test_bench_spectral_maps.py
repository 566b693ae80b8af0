"""benchmarks/experiments/bench_spectral_maps.py runs end to end in its quick form."""

import json


def test_quick_run_scores_every_setting(tmp_path, run_benchmark):
    run_benchmark(
        "experiments/bench_spectral_maps.py", "--quick", "--seeds", "1",
        "--datasets", "iris", "circles", "--neighbors", "10", "--maps", "1", "2",
        "--times", "0", "3", "--graphs", "knn", "self-tuning", "--out-dir", tmp_path,
    )
    table = json.loads((tmp_path / "spectral_maps.json").read_text())
    assert set(table) == {"iris", "circles"}
    for row in table.values():
        assert set(row) == {
            f"{g} 10/{m}K/t{t}" for g in ("knn", "self-tuning") for m in (1, 2) for t in (0, 3)
        }
        assert all(0.3 <= v[0] <= 1.0 for v in row.values())
    # the settings are different starts: they do not all agree on iris
    assert len({v[0] for v in table["iris"].values()}) > 1
    assert "| iris |" in (tmp_path / "spectral_maps.md").read_text()
