"""When the spectral start takes the partition of the densest rows.

For each data set of the small quality suite (``benchmarks/bench_suite.py``)
and each seed, the default ``GMVAEClustering`` pretrains its autoencoder and
the pretrained embedding is kept (as in ``bench_spectral_maps.py``). On it,
three partitions are scored by Hungarian accuracy and by normalised cut of
the graph of all rows (``skgmvae._init.weighted_cut``):

* ``all rows``: the spectral partition of every row
  (``skgmvae._init.graph_partition``);
* ``core``: the spectral partition of the densest
  ``SPECTRAL_CORE_SHARE`` of the rows, the others joining their nearest
  core rows' cluster (``skgmvae._init.core_partition``);
* ``default``: the start as it is (``skgmvae._init.spectral_labels``), which
  takes the core partition only where its cut is below
  ``SPECTRAL_SEPARATED_CUT`` and below the cut of all rows' partition.

Usage::

    python benchmarks/experiments/bench_core_partition.py [--seeds 5] [--datasets ...]

With ``--raw`` the partitions are those of the standardised features (no
pretraining; one seed is enough, the partitions barely depend on it).
Writes ``benchmarks/experiments/results/core_partition[_raw][_quick].{json,md}``.
"""

import argparse
import sys
import warnings
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # benchmarks/
sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import EXPERIMENT_RESULTS, write_table  # noqa: E402
from bench_spectral_maps import pretrained, suite_sets  # noqa: E402
from bench_suite import SMALL  # noqa: E402

KINDS = ("all rows", "core", "default")


def partitions(embedding, n_clusters, seed):
    """``{kind: labels}`` on ``embedding`` (no more rows than
    ``SPECTRAL_ROWS``), with the seeds that ``spectral_labels`` draws."""
    from skgmvae import _init

    rng = np.random.default_rng(seed)
    _init.seeded_rows(embedding.shape[0], _init.SPECTRAL_ROWS, rng)
    state = int(rng.integers(0, 2**31 - 1))
    graph = _init.self_tuning_graph(embedding, _init.SPECTRAL_NEIGHBORS)
    return graph, {
        "all rows": _init.graph_partition(graph, n_clusters, state),
        "core": _init.core_partition(
            embedding, n_clusters, _init.SPECTRAL_NEIGHBORS, state
        ),
        "default": _init.spectral_labels(embedding, n_clusters, seed),
    }


def main(argv=None):
    from skgmvae import _init
    from skgmvae.metrics import clustering_accuracy

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--datasets", nargs="+", default=list(SMALL), choices=SMALL)
    parser.add_argument(
        "--raw", action="store_true",
        help="partition the standardised features instead of pretrained embeddings",
    )
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--out-dir", default=str(EXPERIMENT_RESULTS))
    args = parser.parse_args(argv)
    warnings.simplefilter("ignore")
    table = {}
    for name, X, y, k in suite_sets(args.datasets, args.quick):
        rows = {kind: {"accuracy": [], "cut": []} for kind in KINDS}
        raw = None
        if args.raw:
            from sklearn.preprocessing import StandardScaler

            raw = StandardScaler().fit_transform(np.asarray(X, dtype=np.float64))
        for seed in range(args.seeds):
            emb = raw if args.raw else pretrained(X, k, seed, args.quick).astype(np.float64)
            graph, found = partitions(emb, k, seed)
            for kind, labels in found.items():
                if labels is None:  # too few rows for a core
                    labels = found["all rows"]
                rows[kind]["accuracy"].append(float(clustering_accuracy(y, labels)))
                rows[kind]["cut"].append(_init.weighted_cut(graph, labels, k))
        table[name] = rows
        print(name, " ".join(f"{c}: {np.mean(v['accuracy']):.3f}" for c, v in rows.items()),
              flush=True)
    write_table(
        args.out_dir,
        "core_partition" + ("_raw" if args.raw else "") + ("_quick" if args.quick else ""),
        table,
        f"Accuracy of the spectral start's partition on the "
        f"{'standardised features' if args.raw else 'pretrained embedding'}, "
        f"mean over {args.seeds} seeds (worst), and its mean normalised cut of "
        "the graph of all rows: the partition of all rows, the partition of the "
        "densest rows extended to the others, and the default rule.",
        KINDS,
        lambda v: f"{np.mean(v['accuracy']):.3f} ({min(v['accuracy']):.3f}); "
        f"cut {np.mean(v['cut']):.4f}",
    )


if __name__ == "__main__":
    main()
