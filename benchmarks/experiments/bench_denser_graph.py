"""When the spectral start takes the partition of a denser graph.

For each data set and seed, the default ``GMVAEClustering`` pretrains its
autoencoder and the pretrained embedding is kept (as in
``bench_spectral_maps.py``); with ``--raw`` the rows are the standardised
features instead, which the start cuts where they have no more features
than the embedding has dimensions (``skgmvae._init.graph_space``). The
graph asked for has the neighbours that ``n_neighbors="auto"`` gives the
rows (``skgmvae._fitting.n_neighbors``). Three partitions are scored by
Hungarian accuracy and by the share of a row's neighbour weight in the asked
graph that they cut (``skgmvae._init.start_leak``):

* ``asked graph``: the spectral partition of that graph, or of its densest
  rows (``skgmvae._init.graph_labels``);
* ``denser graph``: the same of the graph of ``SPECTRAL_DENSER_RATIO``
  times as many neighbours;
* ``default``: the spectral start's partition
  (``skgmvae._init.spectral_labels``), which takes the denser graph's
  partition where it leaks less of the asked graph. The estimator's start
  reaches it through ``graph_space`` and ``sparse_partition``, which may
  then take a sparser graph's partition or refine it.

Usage::

    python benchmarks/experiments/bench_denser_graph.py [--seeds 3] [--datasets ...] [--raw]

Writes ``benchmarks/experiments/results/denser_graph[_raw][_quick].{json,md}``.
"""

import argparse
import sys
import warnings
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # benchmarks/
sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import write_table  # noqa: E402
from bench_spectral_maps import print_partitions, start_arguments, start_spaces  # noqa: E402

KINDS = ("asked graph", "denser graph", "default")


def asked_neighbors(n_rows):
    """The neighbours of each row that ``n_neighbors="auto"`` asks for."""
    from skgmvae import GMVAEClustering, _fitting

    return _fitting.n_neighbors(GMVAEClustering(), n_rows)


def partitions(rows, n_clusters, seed):
    """``{kind: labels}`` of ``rows`` (no more than ``SPECTRAL_ROWS``), with
    the seed that ``spectral_labels`` draws, and the asked graph's
    neighbours."""
    from skgmvae import _init

    rng = np.random.default_rng(seed)
    _init.seeded_rows(rows.shape[0], _init.SPECTRAL_ROWS, rng)
    state = int(rng.integers(0, 2**31 - 1))
    asked = asked_neighbors(rows.shape[0])
    denser = int(round(_init.SPECTRAL_DENSER_RATIO * asked))
    return asked, {
        "asked graph": _init.graph_labels(rows, n_clusters, asked, state),
        "denser graph": _init.graph_labels(rows, n_clusters, denser, state),
        "default": _init.spectral_labels(rows, n_clusters, seed, asked),
    }


def main(argv=None):
    from skgmvae import _init
    from skgmvae.metrics import clustering_accuracy

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    start_arguments(parser, seeds=3)
    args = parser.parse_args(argv)
    warnings.simplefilter("ignore")
    table = {}
    for name, y, k, seed, rows in start_spaces(args):
        scores = table.setdefault(name, {kind: {"accuracy": [], "leak": []} for kind in KINDS})
        asked, found = partitions(rows, k, seed)
        near, shares = _init.neighbour_shares(rows, asked)
        for kind, labels in found.items():
            scores[kind]["accuracy"].append(float(clustering_accuracy(y, labels)))
            scores[kind]["leak"].append(_init.start_leak(near, shares, labels))
        if seed == args.seeds - 1:
            print_partitions(name, scores)
    write_table(
        args.out_dir,
        "denser_graph" + ("_raw" if args.raw else "") + ("_quick" if args.quick else ""),
        table,
        f"Accuracy of the spectral start's partition on the "
        f"{'standardised features' if args.raw else 'pretrained embedding'}, "
        f"mean over {args.seeds} seeds (worst), and the mean share of a row's "
        "neighbour weight in the asked graph that it cuts: the partition of the "
        "graph asked for, that of the graph of "
        f"{_init.SPECTRAL_DENSER_RATIO:.3g} times as many neighbours, and the "
        "default start's.",
        KINDS,
        lambda v: f"{np.mean(v['accuracy']):.3f} ({min(v['accuracy']):.3f}); "
        f"leak {np.mean(v['leak']):.4f}",
    )


if __name__ == "__main__":
    main()
