"""The start on large data: one consensus draw against the medoid of several.

For every seed the default ``GMVAEClustering`` (``likelihood="bernoulli"``,
``--n-components`` clusters, default 10) pretrains its autoencoder on a seeded
random subset of the MNIST (or, with ``--dataset fashion-mnist``,
Fashion-MNIST) training images (``--n``); the fit stops there and the
pretrained embedding is kept (the subset and the stop of
``bench_consensus.py``). On it ``--draws`` consensus partitions are drawn
(``_init.consensus_labels`` with the seeds ``1000 * seed + d``, each its own
rows and KMeans runs) and each is scored by the Hungarian accuracy of the
initial assignments (every embedded image to its most likely initial
component). ``_init.chosen_consensus_labels`` with as many draws then
picks the draw that agrees most with the others, as the default start does.

The table compares, per seed and over the seeds, the first draw (what one
draw gives), the mean of the draws (what one draw gives on average) and the
chosen draw. Results go to
``benchmarks/experiments/results/consensus_draws_<dataset>_<n>_K<k>_D<draws>.json``
and a Markdown summary next to it.

Usage::

    python benchmarks/experiments/bench_consensus_draws.py [--dataset mnist] [--n 60000]
        [--seeds 0 1 2] [--draws 8]
    python benchmarks/experiments/bench_consensus_draws.py --quick   # 1,500 images, 1 seed
"""

import argparse
import contextlib
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # benchmarks/: _common
from _common import mean_std, patched, saved_cells
from bench_consensus import (
    add_start_arguments,
    pretrained_embedding,
    save_cells,
    start_run,
    write_table,
)
from bench_init import initial_labels


@contextlib.contextmanager
def consensus_draws(n_draws):
    """``_init.CONSENSUS_DRAWS`` set to ``n_draws`` while the block runs."""
    from skgmvae import _init

    with patched(_init, "CONSENSUS_DRAWS", n_draws):
        yield


def start_accuracy(embedding, y, k, labels):
    """Hungarian accuracy of the initial assignments of the partition
    ``labels`` (-1: rows the draw left out)."""
    from skgmvae._init import partition_moments
    from skgmvae.metrics import clustering_accuracy

    means, variances = partition_moments(embedding, labels, k)
    return float(clustering_accuracy(y, initial_labels(embedding, means, variances)))


def score_seed(embedding, y, k, seed, n_draws):
    """Accuracy of each draw's start and of the chosen one."""
    from skgmvae._init import chosen_consensus_labels, consensus_labels

    base = 1000 * seed
    draws = [
        start_accuracy(embedding, y, k, consensus_labels(embedding, k, base + d))
        for d in range(n_draws)
    ]
    with consensus_draws(n_draws):
        chosen = chosen_consensus_labels(embedding, k, base)
    return {"draws": draws, "chosen": start_accuracy(embedding, y, k, chosen)}


def markdown(cells, dataset, n, k, n_draws):
    """A row per seed and one over the seeds."""
    lines = [
        f"{dataset}, {n} training images, K={k}, {n_draws} consensus draws a seed: "
        "accuracy of the initial assignments",
        "",
        "| seed | first draw | draws: mean (worst) | chosen (medoid) | chosen − mean |",
        "|---|---|---|---|---|",
    ]
    for key in sorted(cells, key=lambda key: cells[key]["seed"]):
        cell = cells[key]
        draws = cell["draws"]
        lines.append(
            f"| {cell['seed']} | {draws[0]:.3f} | {np.mean(draws):.3f} ({min(draws):.3f}) "
            f"| {cell['chosen']:.3f} | {cell['chosen'] - np.mean(draws):+.3f} |"
        )
    first = [c["draws"][0] for c in cells.values()]
    means = [float(np.mean(c["draws"])) for c in cells.values()]
    chosen = [c["chosen"] for c in cells.values()]
    lines.append(
        f"| all | {mean_std(first)} ({min(first):.3f}) | {mean_std(means)} "
        f"| {mean_std(chosen)} ({min(chosen):.3f}) "
        f"| {mean_std(np.subtract(chosen, means))} |"
    )
    return "\n".join(lines) + "\n"


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    add_start_arguments(parser, n=60_000, draws=8)
    args = parser.parse_args(argv)
    params, n, seeds, X, y = start_run(args)
    k = args.n_components
    out_json, cells = saved_cells(
        args.out_dir,
        f"consensus_draws_{args.dataset}_{n}_K{k}_D{args.draws}",
        args.overrides,
        args.quick,
    )
    for seed in seeds:
        key = f"seed{seed}"
        if key in cells:
            continue
        embedding, seconds = pretrained_embedding(X, k, seed, params)
        cells[key] = {"seed": seed, **score_seed(embedding, y, k, seed, args.draws)}
        print(
            f"seed {seed}: pretrained in {seconds:.0f}s; draws "
            + " ".join(f"{a:.3f}" for a in cells[key]["draws"])
            + f"; chosen {cells[key]['chosen']:.3f}",
            flush=True,
        )
        save_cells(out_json, args.dataset, n, k, params, cells)
    write_table(out_json, markdown(cells, args.dataset, n, k, args.draws))
    return cells


if __name__ == "__main__":
    main()
