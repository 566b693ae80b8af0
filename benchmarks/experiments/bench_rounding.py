"""Which KMeans run on the diffusion map the spectral start keeps.

For each data set of the small quality suite (``benchmarks/bench_suite.py``)
and each seed, the default ``GMVAEClustering`` pretrains its autoencoder and
the pretrained embedding is kept (as in ``bench_spectral_maps.py``). On it,
five partitions of ``skgmvae._init.spectral_labels``, each for ``--draws``
seeds of the start, are scored by Hungarian accuracy and by normalised cut
(``skgmvae._init.weighted_cut``):

* ``least inertia``: KMeans' own choice among its ``SPECTRAL_KMEANS_INIT``
  restarts alone (no further runs: ``SPECTRAL_ROUNDINGS = 0``);
* ``least cut``: the partition of least cut among that one and the further
  single runs, whatever its cut;
* ``restarts only``: the cut rule (``separating_partition``: the least-cut
  partition only when its cut is below ``SPECTRAL_SEPARATED_CUT`` and below
  ``SPECTRAL_MAX_CUT_RATIO`` times the other's) applied to KMeans' own
  choice, as if no further run could replace it for its lower inertia
  (``SPECTRAL_INERTIA_RTOL = inf``);
* ``default``: the start as it is, which applies the cut rule to the
  partition of least inertia among the restarts and the further runs (and
  weighs it against a denser graph's partition, see
  ``skgmvae._init.spectral_labels``);
* ``100 restarts``: the default with ``SPECTRAL_KMEANS_INIT = 100``.

Every partition but ``default`` cuts the graph asked for alone
(``SPECTRAL_DENSER_RATIO = 1``), so that they differ in their rounding only.

The last three ask whether the start's spread from one seed to the next on
an embedding comes from KMeans stopping in different local minima of its
inertia.

Usage::

    python benchmarks/experiments/bench_rounding.py [--seeds 5] [--draws 4] [--datasets ...]
        [--n-neighbors N] [--out-dir DIR] [--table-only]

With ``--raw`` the partitions are those of the standardised features (no
pretraining; the seeds then only repeat the draws). ``--n-neighbors`` sets
the graph's neighbours (default ``SPECTRAL_NEIGHBORS``, 25; a fit of more
than 250 rows builds its graph with 15). Writes
``<out-dir>/rounding[_raw][_neighbors-N][_quick].{json,md}`` (``--out-dir``
default ``benchmarks/experiments/results``).
"""

import argparse
import json
import sys
import warnings
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # benchmarks/
sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import write_table  # noqa: E402
from bench_spectral_maps import (  # noqa: E402
    print_partitions,
    score_partition,
    start_arguments,
    start_spaces,
)

KINDS = ("least inertia", "least cut", "restarts only", "default", "100 restarts")


def partitions(embedding, n_clusters, seed, n_neighbors=None):
    """``{kind: labels}`` of the spectral start on ``embedding`` (graph of
    ``n_neighbors`` neighbours, None: the start's default)."""
    import functools

    from skgmvae import _init

    rounds, rule = _init.SPECTRAL_ROUNDINGS, _init.separating_partition
    restarts, rtol = _init.SPECTRAL_KMEANS_INIT, _init.SPECTRAL_INERTIA_RTOL
    denser = _init.SPECTRAL_DENSER_RATIO
    out = {}
    try:
        _init.SPECTRAL_DENSER_RATIO = 1  # the roundings of the one graph asked for
        _init.SPECTRAL_ROUNDINGS = 0
        out["least inertia"] = _init.spectral_labels(embedding, n_clusters, seed, n_neighbors)
        _init.SPECTRAL_ROUNDINGS = rounds
        _init.separating_partition = functools.partial(rule, max_cut=np.inf, max_ratio=np.inf)
        out["least cut"] = _init.spectral_labels(embedding, n_clusters, seed, n_neighbors)
        _init.separating_partition = rule
        _init.SPECTRAL_INERTIA_RTOL = np.inf
        out["restarts only"] = _init.spectral_labels(embedding, n_clusters, seed, n_neighbors)
        _init.SPECTRAL_INERTIA_RTOL = rtol
        _init.SPECTRAL_KMEANS_INIT = 100
        out["100 restarts"] = _init.spectral_labels(embedding, n_clusters, seed, n_neighbors)
    finally:
        _init.SPECTRAL_ROUNDINGS, _init.separating_partition = rounds, rule
        _init.SPECTRAL_KMEANS_INIT, _init.SPECTRAL_INERTIA_RTOL = restarts, rtol
        _init.SPECTRAL_DENSER_RATIO = denser
    out["default"] = _init.spectral_labels(embedding, n_clusters, seed, n_neighbors)
    return out


def spread(accuracies, draws):
    """The range of the start's accuracy over its ``draws`` seeds on one
    embedding, mean over the embeddings (``accuracies`` embedding-major)."""
    values = np.asarray(accuracies).reshape(-1, draws)
    return float((values.max(1) - values.min(1)).mean())


def stem(args):
    """The name of the result files of ``args``."""
    return (
        "rounding"
        + ("_raw" if args.raw else "")
        + (f"_neighbors-{args.n_neighbors}" if args.n_neighbors else "")
        + ("_quick" if args.quick else "")
    )


def save(args, table):
    """Write ``table`` as JSON and Markdown (see :func:`stem`)."""
    write_table(
        args.out_dir,
        stem(args),
        table,
        f"Accuracy of the spectral start's partition on the "
        f"{'standardised features' if args.raw else 'pretrained embedding'}, "
        f"mean over {args.seeds} seeds × {args.draws} draws of the start (worst); "
        "spread: the range of the accuracy over the draws on one embedding, mean over "
        "the embeddings; mean normalised cut. For KMeans' own choice among its restarts, "
        "the run of least cut, the cut rule on KMeans' own choice, the default (the cut "
        "rule on the run of least inertia among the restarts and the further runs), and "
        "the default with 100 restarts"
        + (f" ({args.n_neighbors} neighbours)." if args.n_neighbors else "."),
        KINDS,
        lambda v: f"{np.mean(v['accuracy']):.3f} ({min(v['accuracy']):.3f}); "
        f"spread {spread(v['accuracy'], args.draws):.3f}; cut {np.mean(v['cut']):.4f}",
    )


def main(argv=None):
    from skgmvae import _init

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    start_arguments(parser, seeds=5)
    parser.add_argument(
        "--draws", type=int, default=4,
        help="seeds of the start (eigenvectors and KMeans) on each embedding",
    )
    parser.add_argument(
        "--n-neighbors", type=int, default=None,
        help="neighbours of the graph (default: SPECTRAL_NEIGHBORS; a fit of "
        "more than 250 rows uses 15)",
    )
    parser.add_argument(
        "--table-only", action="store_true",
        help="rewrite the Markdown table of a finished run from its JSON",
    )
    args = parser.parse_args(argv)
    if args.table_only:
        path = Path(args.out_dir) / f"{stem(args)}.json"
        return save(args, json.loads(path.read_text()))
    warnings.simplefilter("ignore")
    neighbors = args.n_neighbors or _init.SPECTRAL_NEIGHBORS
    table = {}
    for name, y, k, seed, emb in start_spaces(args):
        rows = table.setdefault(name, {kind: {"accuracy": [], "cut": []} for kind in KINDS})
        graph = _init.self_tuning_graph(emb, neighbors)
        for draw in range(args.draws):
            for kind, labels in partitions(emb, k, 1000 * seed + draw, neighbors).items():
                score_partition(rows[kind], y, labels, graph, k)
        if seed == args.seeds - 1:
            print_partitions(name, rows)
    save(args, table)


if __name__ == "__main__":
    main()
