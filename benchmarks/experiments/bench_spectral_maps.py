"""How many spectral eigenvectors, and how weighted, for the spectral start.

For each data set of the small quality suite (``benchmarks/bench_suite.py``)
and each seed, the default ``GMVAEClustering`` pretrains its autoencoder
(one ELBO epoch after, which does not change the embedding) and the
pretrained embedding is kept. On it, the start's partition is computed for
every setting of

* ``--graphs``: ``knn`` (edges of weight 1) or ``self-tuning`` (locally
  scaled Gaussian weights, ``skgmvae._init.self_tuning_graph``);
* ``--neighbors``: neighbours of each row in the graph;
* ``--maps``: eigenvectors of the graph's normalised adjacency, as a multiple
  of the number of clusters;
* ``--times``: each eigenvector is scaled by its eigenvalue to this power
  (the diffusion map after that many steps; 0 leaves them unscaled),

then rows scaled to unit length and cut by KMeans, as
``skgmvae._init.spectral_labels`` does. The table gives the Hungarian
accuracy of the start's partition, mean over seeds (worst seed); the fitted
model's own figures come from ``bench_suite.py``. Usage::

    python benchmarks/experiments/bench_spectral_maps.py [--seeds 4]
        [--graphs knn self-tuning] [--neighbors 10 15 25] [--maps 1 2] [--times 0 3]

Writes ``benchmarks/experiments/results/spectral_maps.{json,md}``.
"""

import argparse
import sys
import warnings
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # benchmarks/
sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import DATA_DIR, EXPERIMENT_RESULTS, write_table  # noqa: E402
from bench_start_choice import Embedding  # noqa: E402
from bench_suite import ALL, IMAGES, SMALL, load  # noqa: E402

#: The sets a start experiment can read: every set of the suite but the
#: 70,000-image ones, whose start reads a subset of 20,000 rows.
START_SETS = tuple(n for n in ALL if n not in IMAGES or n.endswith(("-3k", "-test")))


def start_labels(embedding, n_clusters, seed, graph, n_neighbors, n_maps, time):
    """The spectral start's partition for one setting."""
    from skgmvae import _init

    if graph == "knn":
        graph = _init.neighbour_graph(embedding, n_neighbors)
    else:
        graph = _init.self_tuning_graph(embedding, n_neighbors)
    values, maps = _init.leading_eigenvectors(graph, n_maps, seed)
    if time:
        maps = maps * np.power(np.clip(values, 0.0, None), time)
    return _init.cut_spectral_rows(maps, n_clusters, seed)


def suite_sets(names, quick):
    """``(name, X, y, K)`` of each named small suite set (its first 300 rows
    with ``quick``)."""
    for name in names:
        X, y = load(name, DATA_DIR)
        if quick:
            X, y = X[:300], y[:300]
        yield name, X, y, len(np.unique(y))


def pretrained(X, n_clusters, seed, quick, name=None):
    from skgmvae import GMVAEClustering

    keep = Embedding()
    params = {"pretrain_epochs": 2} if quick else {}
    if name in IMAGES:
        params["likelihood"] = "bernoulli"  # as the suite fits images
    GMVAEClustering(
        n_clusters, random_state=seed, max_iter=1, callbacks=[keep], **params
    ).fit(X)
    return keep.value


def start_arguments(parser, seeds):
    """The arguments of the start experiments (the small suite by default):
    ``--seeds``, ``--datasets``, ``--raw``, ``--quick``, ``--out-dir``."""
    parser.add_argument("--seeds", type=int, default=seeds)
    parser.add_argument("--datasets", nargs="+", default=list(SMALL), choices=START_SETS)
    parser.add_argument(
        "--raw", action="store_true",
        help="partition the standardised features instead of pretrained embeddings",
    )
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--out-dir", default=str(EXPERIMENT_RESULTS))


def start_spaces(args):
    """``(name, y, n_clusters, seed, rows)`` for each data set and seed of
    ``args``: the pretrained embedding of that seed, or with ``args.raw`` the
    standardised features."""
    for name, X, y, k in suite_sets(args.datasets, args.quick):
        raw = None
        if args.raw:
            from sklearn.preprocessing import StandardScaler

            raw = StandardScaler().fit_transform(np.asarray(X, dtype=np.float64))
        for seed in range(args.seeds):
            emb = raw if args.raw else pretrained(X, k, seed, args.quick, name).astype(np.float64)
            yield name, y, k, seed, emb


def score_partition(row, y, labels, graph, n_clusters):
    """Append the accuracy of ``labels`` and their normalised cut of
    ``graph`` to ``row`` (``{"accuracy": [...], "cut": [...]}``)."""
    from skgmvae import _init
    from skgmvae.metrics import clustering_accuracy

    row["accuracy"].append(float(clustering_accuracy(y, labels)))
    row["cut"].append(_init.weighted_cut(graph, labels, n_clusters))


def print_partitions(name, rows):
    """One line: the mean accuracy of each partition of ``rows``."""
    print(name, " ".join(f"{c}: {np.mean(v['accuracy']):.3f}" for c, v in rows.items()),
          flush=True)


def main(argv=None):
    from skgmvae.metrics import clustering_accuracy

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seeds", type=int, default=4)
    parser.add_argument("--datasets", nargs="+", default=list(SMALL), choices=SMALL)
    parser.add_argument(
        "--graphs", nargs="+", default=["knn", "self-tuning"], choices=["knn", "self-tuning"]
    )
    parser.add_argument("--neighbors", nargs="+", type=int, default=[10, 15, 25])
    parser.add_argument("--maps", nargs="+", type=float, default=[1, 2])
    parser.add_argument("--times", nargs="+", type=int, default=[0, 3])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--out-dir", default=str(EXPERIMENT_RESULTS))
    args = parser.parse_args(argv)
    warnings.simplefilter("ignore")
    settings = [
        (g, nn, m, t)
        for g in args.graphs
        for nn in args.neighbors
        for m in args.maps
        for t in args.times
    ]
    table = {}
    for name, X, y, k in suite_sets(args.datasets, args.quick):
        scores = {s: [] for s in settings}
        for seed in range(args.seeds):
            emb = pretrained(X, k, seed, args.quick).astype(np.float64)
            for g, nn, m, t in settings:
                labels = start_labels(emb, k, seed, g, nn, max(int(round(m * k)), 1), t)
                scores[(g, nn, m, t)].append(clustering_accuracy(y, labels))
        table[name] = {f"{g} {nn}/{m:g}K/t{t}": v for (g, nn, m, t), v in scores.items()}
        print(name, " ".join(f"{c} {np.mean(v):.3f}" for c, v in table[name].items()),
              flush=True)
    write_table(
        args.out_dir, "spectral_maps", table,
        "Accuracy of the spectral start's partition on the pretrained embedding, "
        "mean over seeds (worst). Columns: graph, neighbours / eigenvectors per "
        "cluster / diffusion time.",
        list(next(iter(table.values()))),
        lambda v: f"{np.mean(v):.3f} ({min(v):.3f})",
    )


if __name__ == "__main__":
    main()
