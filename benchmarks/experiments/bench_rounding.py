"""Which KMeans run on the diffusion map the spectral start keeps.

For each data set of the small quality suite (``benchmarks/bench_suite.py``)
and each seed, the default ``GMVAEClustering`` pretrains its autoencoder and
the pretrained embedding is kept (as in ``bench_spectral_maps.py``). On it,
three partitions of ``skgmvae._init.spectral_labels``, each for ``--draws``
seeds of the start, are scored by Hungarian accuracy and by normalised cut
(``skgmvae._init.weighted_cut``):

* ``least inertia``: the KMeans run of least inertia alone (no further
  runs: ``SPECTRAL_ROUNDINGS = 0``);
* ``least cut``: the partition of least cut among that run and the further
  single runs, whatever its cut;
* ``default``: the start as it is, which takes the least-cut partition only
  when its cut is below ``SPECTRAL_SEPARATED_CUT`` and below
  ``SPECTRAL_MAX_CUT_RATIO`` times the least-inertia one's.

Usage::

    python benchmarks/experiments/bench_rounding.py [--seeds 5] [--draws 4] [--datasets ...]

With ``--raw`` the partitions are those of the standardised features (no
pretraining; the seeds then only repeat the draws). Writes
``benchmarks/experiments/results/rounding[_raw][_quick].{json,md}``.
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

KINDS = ("least inertia", "least cut", "default")


def partitions(embedding, n_clusters, seed):
    """``{kind: labels}`` of the spectral start on ``embedding``."""
    import functools

    from skgmvae import _init

    rounds, rule = _init.SPECTRAL_ROUNDINGS, _init.separating_partition
    out = {}
    try:
        _init.SPECTRAL_ROUNDINGS = 0
        out["least inertia"] = _init.spectral_labels(embedding, n_clusters, seed)
        _init.SPECTRAL_ROUNDINGS = rounds
        _init.separating_partition = functools.partial(rule, max_cut=np.inf, max_ratio=np.inf)
        out["least cut"] = _init.spectral_labels(embedding, n_clusters, seed)
    finally:
        _init.SPECTRAL_ROUNDINGS, _init.separating_partition = rounds, rule
    out["default"] = _init.spectral_labels(embedding, n_clusters, seed)
    return out


def main(argv=None):
    from skgmvae import _init

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    start_arguments(parser, seeds=5)
    parser.add_argument(
        "--draws", type=int, default=4,
        help="seeds of the start (eigenvectors and KMeans) on each embedding",
    )
    args = parser.parse_args(argv)
    warnings.simplefilter("ignore")
    table = {}
    for name, y, k, seed, emb in start_spaces(args):
        rows = table.setdefault(name, {kind: {"accuracy": [], "cut": []} for kind in KINDS})
        graph = _init.self_tuning_graph(emb, _init.SPECTRAL_NEIGHBORS)
        for draw in range(args.draws):
            for kind, labels in partitions(emb, k, 1000 * seed + draw).items():
                score_partition(rows[kind], y, labels, graph, k)
        if seed == args.seeds - 1:
            print_partitions(name, rows)
    write_table(
        args.out_dir,
        "rounding" + ("_raw" if args.raw else "") + ("_quick" if args.quick else ""),
        table,
        f"Accuracy of the spectral start's partition on the "
        f"{'standardised features' if args.raw else 'pretrained embedding'}, "
        f"mean over {args.seeds} seeds × {args.draws} draws of the start (worst), "
        "and its mean normalised cut, for the KMeans run of least inertia, the run "
        "of least cut, and the default rule.",
        KINDS,
        lambda v: f"{np.mean(v['accuracy']):.3f} ({min(v['accuracy']):.3f}); "
        f"cut {np.mean(v['cut']):.4f}",
    )


if __name__ == "__main__":
    main()
