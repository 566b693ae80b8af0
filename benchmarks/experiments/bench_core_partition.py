"""When the spectral start takes the partition of the densest rows.

For each data set of the small quality suite (``benchmarks/bench_suite.py``)
and each seed, the default ``GMVAEClustering`` pretrains its autoencoder and
the pretrained embedding is kept (as in ``bench_spectral_maps.py``). On it,
four partitions are scored by Hungarian accuracy, by normalised cut of
the graph of all rows (``skgmvae._init.weighted_cut``) and by that cut
counted on the edges between core rows only:

* ``all rows``: the spectral partition of every row
  (``skgmvae._init.graph_partition``);
* ``core``: the spectral partition of the densest
  ``SPECTRAL_CORE_SHARE`` of the rows, the others joining their nearest
  core rows' cluster (``skgmvae._init.core_partition``);
* ``earlier rule``: the core partition where its cut is below
  ``SPECTRAL_SEPARATED_CUT`` and below the cut of all rows' partition,
  both on the graph of all rows, else the partition of all rows (the rule
  before the cuts among core rows);
* ``default``: the rule of the start (``skgmvae._init.graph_labels``, the
  partition that ``spectral_labels`` weighs against a denser graph's), which
  takes the core partition only where its cut is below
  ``SPECTRAL_SEPARATED_CUT`` and its cut among core rows below that of all
  rows' partition.

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
from _common import write_table  # noqa: E402
from bench_spectral_maps import (  # noqa: E402
    print_partitions,
    score_partition,
    start_arguments,
    start_spaces,
)

KINDS = ("all rows", "core", "earlier rule", "default")


def partitions(embedding, n_clusters, seed):
    """The graph, ``{kind: labels}`` on ``embedding`` (no more rows than
    ``SPECTRAL_ROWS``), with the seeds that ``spectral_labels`` draws, and a
    mask of the rows outside the core (None where there is no core)."""
    from skgmvae import _init

    rng = np.random.default_rng(seed)
    _init.seeded_rows(embedding.shape[0], _init.SPECTRAL_ROWS, rng)
    state = int(rng.integers(0, 2**31 - 1))
    graph = _init.self_tuning_graph(embedding, _init.SPECTRAL_NEIGHBORS)
    core, dense = _init.core_partition(
        embedding, n_clusters, _init.SPECTRAL_NEIGHBORS, state, return_core=True
    )
    outside = None
    if dense is not None:
        outside = np.ones(embedding.shape[0], dtype=bool)
        outside[dense] = False
    every = _init.graph_partition(graph, n_clusters, state)
    earlier = every
    if core is not None:
        cut = _init.weighted_cut(graph, core, n_clusters)
        if cut < _init.SPECTRAL_SEPARATED_CUT and cut < _init.weighted_cut(
            graph, every, n_clusters
        ):
            earlier = core
    return graph, {
        "all rows": every,
        "core": core,
        "earlier rule": earlier,
        "default": _init.graph_labels(embedding, n_clusters, _init.SPECTRAL_NEIGHBORS, state),
    }, outside


def main(argv=None):
    from skgmvae import _init

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    start_arguments(parser, seeds=5)
    args = parser.parse_args(argv)
    warnings.simplefilter("ignore")
    table = {}
    for name, y, k, seed, emb in start_spaces(args):
        rows = table.setdefault(
            name, {kind: {"accuracy": [], "cut": [], "core_cut": []} for kind in KINDS}
        )
        graph, found, outside = partitions(emb, k, seed)
        for kind, labels in found.items():
            if labels is None:  # too few rows for a core
                labels = found["all rows"]
            score_partition(rows[kind], y, labels, graph, k)
            inside = labels if outside is None else np.where(outside, -1, labels)
            rows[kind]["core_cut"].append(_init.weighted_cut(graph, inside, k))
        if seed == args.seeds - 1:
            print_partitions(name, rows)
    write_table(
        args.out_dir,
        "core_partition" + ("_raw" if args.raw else "") + ("_quick" if args.quick else ""),
        table,
        f"Accuracy of the spectral start's partition on the "
        f"{'standardised features' if args.raw else 'pretrained embedding'}, "
        f"mean over {args.seeds} seeds (worst), its mean normalised cut of "
        "the graph of all rows and, after the semicolon, of the edges between "
        "core rows: the partition of all rows, the partition of the densest "
        "rows extended to the others, the rule before the cuts among core "
        "rows and the default rule.",
        KINDS,
        lambda v: f"{np.mean(v['accuracy']):.3f} ({min(v['accuracy']):.3f}); "
        f"cut {np.mean(v['cut']):.4f}; {np.mean(v['core_cut']):.4f}",
    )


if __name__ == "__main__":
    main()
