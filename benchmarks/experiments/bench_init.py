"""How the mixture starts: consensus partition vs one Gaussian mixture, seed by seed.

Fits the default ``GMVAEClustering`` (K=10, ``likelihood="bernoulli"``) on a
seeded random subset of the MNIST (or, with ``--dataset fashion-mnist``,
Fashion-MNIST) training images (``--n``, default 20,000) once per seed and
per start of the mixture:

* ``consensus``: the default, the moments of a consensus partition of the
  pretrained embedding (evidence accumulation over KMeans over-clusterings);
* ``gaussian-mixture``: a diagonal ``GaussianMixture`` fitted on the same
  embedding (the earlier default, and still the start for data too small for
  the consensus).

Both starts of one seed share the pretrained autoencoder (same seed, same
batches), so the per-seed difference is the start alone. For every fit the
script records the Hungarian accuracy of the initial mixture (each image
assigned to its most likely initial component) and of the fitted model, NMI,
the KL divergence of the cluster sizes to uniform, the lower bound and fit
seconds, all on the same images; it prints mean ± std, the worst seed and the
paired differences. Every fit is written at once to
``benchmarks/experiments/results/init_<dataset>_<n>.json`` (a rerun skips fits already there);
the Markdown summary goes next to it.

Usage::

    python benchmarks/experiments/bench_init.py [--dataset mnist] [--n 20000] [--seeds 0 1 2 3 4]
        [--threads 1] [--start consensus gaussian-mixture] [key=value ...]
    python benchmarks/experiments/bench_init.py --quick   # 1,500 images, 1 seed, few epochs

``--threads 1`` (the default) lets two runs with different ``--seeds`` share a
2-core machine and one results file; the seconds depend on it.
"""

import argparse
import json
import sys
import time
import warnings
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # benchmarks/: _common
from _common import (
    DATASETS,
    EXPERIMENT_RESULTS,
    add_dataset_argument,
    add_run_arguments,
    mean_std,
    saved_cells,
)

STARTS = ("consensus", "gaussian-mixture")
#: Seed of the subset of training images (shared by every run).
SUBSET_SEED = 1234


def load(data_dir, dataset, n):
    from skgmvae.datasets import load_idx_dataset

    X, y = load_idx_dataset(Path(data_dir) / dataset, subset="train")
    rows = np.random.default_rng(SUBSET_SEED).choice(len(X), n, replace=False)
    return X[rows], y[rows]


def initial_labels(embedding, means, variances):
    """Most likely component of every embedded row under the diagonal
    Gaussians ``means``, ``variances`` (equal weights)."""
    from skgmvae._init import diagonal_gaussian_labels

    return diagonal_gaussian_labels(embedding, means, variances)


def start_of_mixture(start, record):
    """The ``init_params`` callable that starts the mixture with ``start``
    and stores the initial assignments (most likely initial component of
    every embedded row) in ``record["labels"]``."""
    from skgmvae._init import initial_components

    method = "gmm" if start == "gaussian-mixture" else "consensus"

    def init(embedding, n_components, seed):
        means, variances = initial_components(embedding, n_components, seed, method)
        record["labels"] = initial_labels(embedding, means, variances)
        return means, variances

    return init


def size_kl(labels, k):
    """KL divergence (nats) of the cluster sizes to the uniform distribution."""
    share = np.bincount(labels, minlength=k) / len(labels)
    share = share[share > 0]
    return float((share * np.log(share * k)).sum())


def fit_one(start, seed, X, y, params):
    from sklearn.metrics import normalized_mutual_info_score

    from skgmvae import GMVAEClustering
    from skgmvae.metrics import clustering_accuracy

    record = {}
    init = start_of_mixture(start, record)
    model = GMVAEClustering(10, random_state=seed, init_params=init, **params)
    tic = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # ConvergenceWarning at max_iter
        model.fit(X)
    seconds = time.perf_counter() - tic
    labels = model.labels_
    return {
        "start": start,
        "seed": seed,
        "initial_accuracy": clustering_accuracy(y, record["labels"]),
        "accuracy": clustering_accuracy(y, labels),
        "nmi": normalized_mutual_info_score(y, labels),
        "size_kl": size_kl(labels, 10),
        "lower_bound": float(model.lower_bound_),
        "fit_seconds": seconds,
    }


def markdown(cells, n, dataset="mnist"):
    """Per-start summary and the paired differences of every seed fitted
    with both starts."""
    lines = [
        f"{DATASETS[dataset]}, {n} training images, K=10: mean ± std (worst seed)",
        "",
        "| start | fits | initial accuracy | accuracy | NMI | size KL | seconds |",
        "|---|---|---|---|---|---|---|",
    ]
    by_start = {
        s: sorted(
            (c for c in cells.values() if c["start"] == s), key=lambda c: c["seed"]
        )
        for s in STARTS
    }
    for start, rows in by_start.items():
        if not rows:
            continue
        col = {m: [r[m] for r in rows] for m in rows[0] if m not in ("start", "seed")}
        lines.append(
            f"| {start} | {len(rows)} "
            f"| {mean_std(col['initial_accuracy'])} ({min(col['initial_accuracy']):.3f}) "
            f"| {mean_std(col['accuracy'])} ({min(col['accuracy']):.3f}) "
            f"| {mean_std(col['nmi'])} | {mean_std(col['size_kl'])} "
            f"| {np.mean(col['fit_seconds']):.0f} |"
        )
    first, second = ({r["seed"]: r["accuracy"] for r in by_start[s]} for s in STARTS)
    paired = sorted(set(first) & set(second))
    if paired:
        lines += [
            "",
            "| seed | " + " | ".join(STARTS) + " | difference |",
            "|---|---|---|---|",
        ]
    for seed in paired:
        lines.append(
            f"| {seed} | {first[seed]:.3f} | {second[seed]:.3f} "
            f"| {first[seed] - second[seed]:+.3f} |"
        )
    return "\n".join(lines) + "\n"


def main(argv=None):
    import torch

    from skgmvae._cli import _positive_int

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    add_dataset_argument(parser)
    parser.add_argument("--n", type=_positive_int, default=20_000)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2, 3, 4])
    parser.add_argument("--start", nargs="+", default=list(STARTS), choices=STARTS)
    parser.add_argument("--threads", type=_positive_int, default=1)
    add_run_arguments(parser, out_dir=EXPERIMENT_RESULTS)
    args = parser.parse_args(argv)
    params = {"likelihood": "bernoulli", **dict(args.overrides)}
    n, seeds = args.n, args.seeds
    if args.quick:
        n, seeds = 1500, seeds[:1]
        params.setdefault("max_iter", 2)
        params.setdefault("pretrain_epochs", 2)
    torch.set_num_threads(args.threads)
    out_json, cells = saved_cells(
        args.out_dir, f"init_{args.dataset}_{n}", args.overrides, args.quick
    )
    X, y = load(args.data_dir, args.dataset, n)
    for seed in seeds:
        for start in args.start:
            key = f"{start}/seed{seed}"
            if key in cells:
                continue
            result = fit_one(start, seed, X, y, params)
            print(
                key,
                {
                    k: round(v, 4)
                    for k, v in result.items()
                    if k not in ("start", "seed")
                },
                flush=True,
            )
            # reread first: runs with other --seeds may share the file
            if out_json.exists():
                cells = json.loads(out_json.read_text())["cells"]
            cells[key] = result
            out_json.write_text(
                json.dumps({"n": n, "params": params, "cells": cells}, indent=1)
            )
    table = markdown(cells, n, args.dataset)
    out_json.with_suffix(".md").write_text(table)
    print(table, end="")


if __name__ == "__main__":
    main()
