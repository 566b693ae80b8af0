"""benchmarks/experiments/bench_rounding.py runs end to end in its quick form."""

import json

import pytest

KINDS = {"least inertia", "least cut", "restarts only", "default", "100 restarts"}


def test_quick_run_scores_every_partition(tmp_path, run_benchmark):
    run_benchmark(
        "experiments/bench_rounding.py", "--quick", "--seeds", "1", "--draws", "2",
        "--datasets", "iris", "circles", "--out-dir", tmp_path,
    )
    table = json.loads((tmp_path / "rounding_quick.json").read_text())
    assert set(table) == {"iris", "circles"}
    for row in table.values():
        assert set(row) == KINDS
        # on each draw the cut rule on KMeans' own choice keeps that choice
        # or takes the least-cut partition
        for i in range(2):
            kept = (row["restarts only"]["accuracy"][i], row["restarts only"]["cut"][i])
            assert kept in {
                (row[kind]["accuracy"][i], row[kind]["cut"][i])
                for kind in ("least inertia", "least cut")
            }
        assert all(len(v["accuracy"]) == 2 for v in row.values())
        assert all(0.3 <= a <= 1.0 for v in row.values() for a in v["accuracy"])
    assert "| iris |" in (tmp_path / "rounding_quick.md").read_text()
    # the table is written again from the JSON alone
    (tmp_path / "rounding_quick.md").unlink()
    run_benchmark(
        "experiments/bench_rounding.py", "--quick", "--seeds", "1", "--draws", "2",
        "--out-dir", tmp_path, "--table-only",
    )
    assert "spread" in (tmp_path / "rounding_quick.md").read_text()


def test_spread_is_the_mean_range_over_the_draws_of_one_embedding(benchmark_module):
    rounding = benchmark_module("experiments/bench_rounding.py")
    # two embeddings, two draws each: ranges 0.2 and 0.0
    assert rounding.spread([0.9, 0.7, 0.8, 0.8], 2) == pytest.approx(0.1)


def test_an_image_set_is_pretrained_as_the_suite_fits_it(
    tmp_path, run_benchmark, benchmark_module, monkeypatch
):
    maps = benchmark_module("experiments/bench_spectral_maps.py")
    import skgmvae

    likelihoods = []
    real = skgmvae.GMVAEClustering

    def recording(*args, **kwargs):
        likelihoods.append(kwargs.get("likelihood", "gaussian"))
        return real(*args, **kwargs)

    monkeypatch.setattr(skgmvae, "GMVAEClustering", recording)
    assert "mnist-3k" in maps.START_SETS
    run_benchmark(
        "experiments/bench_rounding.py", "--quick", "--seeds", "1", "--draws", "1",
        "--datasets", "mnist-3k", "--n-neighbors", "15", "--out-dir", tmp_path,
    )
    assert likelihoods == ["bernoulli"]
    table = json.loads((tmp_path / "rounding_neighbors-15_quick.json").read_text())
    assert set(table) == {"mnist-3k"}
    assert all(0.1 <= a <= 1.0 for v in table["mnist-3k"].values() for a in v["accuracy"])
