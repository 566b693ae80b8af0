"""benchmarks/experiments/bench_start_snapshots.py: the averaged graph it puts
in the start, and a quick run end to end."""

import json

import numpy as np


def test_mean_graph_averages_the_snapshots_of_known_rows_only(benchmark_module):
    from skgmvae import _init

    bench = benchmark_module("experiments/bench_start_snapshots.py")
    rng = np.random.default_rng(0)
    embedding = rng.normal(size=(60, 3))
    snapshot = rng.normal(size=(60, 3))
    graph = bench.MeanGraph(_init.self_tuning_graph, embedding, [snapshot])
    expected = (
        _init.self_tuning_graph(embedding, 5) + _init.self_tuning_graph(snapshot, 5)
    ) / 2
    assert abs(graph(embedding, 5) - expected).max() < 1e-12
    core = np.array([3, 7, 8, 20, 21, 30, 41, 42, 50, 55])  # rows of a core
    expected = (
        _init.self_tuning_graph(embedding[core], 3)
        + _init.self_tuning_graph(snapshot[core], 3)
    ) / 2
    assert abs(graph(embedding[core], 3) - expected).max() < 1e-12
    other = rng.normal(size=(20, 3))  # not rows of the embedding: the plain graph
    assert abs(graph(other, 5) - _init.self_tuning_graph(other, 5)).max() == 0


def test_the_snapshots_reach_the_start_and_leave_with_it(benchmark_module):
    from sklearn.datasets import make_blobs

    from skgmvae import GMVAEClustering, _init

    bench = benchmark_module("experiments/bench_start_snapshots.py")
    original = _init.self_tuning_graph
    # more features than the latent space: the start cuts the embedding's graph
    X, _ = make_blobs(150, centers=3, n_features=12, random_state=0)
    callback = bench.snapshot_callback({2, 4})
    GMVAEClustering(3, pretrain_epochs=5, max_iter=1, random_state=0,
                    callbacks=[callback]).fit(X)
    assert len(callback.kept) == 2
    # the spectral start drew its graph (and its core's) from the snapshots
    assert callback.graph.averaged >= 1 and callback.graph.snapshots == callback.kept
    assert _init.self_tuning_graph is original  # put back after the start


def test_quick_run_fits_every_kind_per_seed(tmp_path, run_benchmark):
    run_benchmark(
        "experiments/bench_start_snapshots.py", "--quick", "--seeds", "2",
        "--datasets", "wine", "--out-dir", tmp_path,
    )
    table = json.loads((tmp_path / "start_snapshots_quick.json").read_text())
    assert set(table) == {"wine"} and len(table["wine"]) == 2
    for row in table["wine"]:
        assert set(row) == {"default", "snapshots", "autoencoders"}
        assert all(0.3 < value <= 1.0 for value in row.values())
    assert "| wine | 2 |" in (tmp_path / "start_snapshots_quick.md").read_text()
