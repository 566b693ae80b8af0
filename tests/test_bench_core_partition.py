"""benchmarks/experiments/bench_core_partition.py runs end to end in its quick form."""

import json

from skgmvae import _init


def test_quick_run_scores_the_partitions_and_both_rules(tmp_path, run_benchmark):
    run_benchmark(
        "experiments/bench_core_partition.py", "--quick", "--seeds", "2",
        "--datasets", "iris", "moons_noisy", "--out-dir", tmp_path,
    )
    table = json.loads((tmp_path / "core_partition_quick.json").read_text())
    assert set(table) == {"iris", "moons_noisy"}
    for row in table.values():
        assert set(row) == {"all rows", "core", "earlier rule", "default"}
        for i in range(2):
            # the default takes the core partition only where it cuts less
            # than SPECTRAL_SEPARATED_CUT, and less than the partition of all
            # rows on the edges between core rows
            def scores(kind):
                return tuple(row[kind][key][i] for key in ("accuracy", "cut", "core_cut"))

            default, core, every = scores("default"), scores("core"), scores("all rows")
            taken = core[1] < _init.SPECTRAL_SEPARATED_CUT and core[2] < every[2]
            assert default == (core if taken else every)
            earlier = core[1] < _init.SPECTRAL_SEPARATED_CUT and core[1] < every[1]
            assert scores("earlier rule") == (core if earlier else every)
        assert all(0.3 <= a <= 1.0 for v in row.values() for a in v["accuracy"])
    assert "| moons_noisy |" in (tmp_path / "core_partition_quick.md").read_text()
