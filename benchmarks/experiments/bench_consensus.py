"""How the consensus cut starts the mixture, with and without a smallest cluster.

For every seed the default ``GMVAEClustering`` (``likelihood="bernoulli"``,
``--n-components`` clusters, default 10) pretrains its autoencoder on a seeded
random subset of the MNIST (or, with ``--dataset fashion-mnist``,
Fashion-MNIST) training images (``--n``, default 20,000; the subset of
``bench_init.py``); the fit stops there and the pretrained embedding is kept.
On each embedding the initial mixture is then drawn ``--draws`` times (each
draw its own subset of rows and its own KMeans runs) for every value of
``--min-share`` (``_init.CONSENSUS_MIN_SHARE``: subtrees of the
average-linkage tree smaller than this share of an even split are left out
of the cut; 0 is the plain cut), and with ``--balance`` for each share both
as cut and evened out towards equal sizes (``_init.balanced_groups``, the
default since it was measured here). Each draw is scored by the Hungarian
accuracy and the purity of the initial assignments (every embedded image to
its most likely initial component) and by the share of the images in the
smallest initial component. Draws with the same seed and draw number see the
same rows and KMeans runs whatever the share, so the paired differences are
the cut alone.

Results go to ``benchmarks/experiments/results/consensus_<dataset>_<n>_K<k>.json``
(``..._balance.json`` with ``--balance``) and a Markdown summary next to it.

Usage::

    python benchmarks/experiments/bench_consensus.py [--dataset mnist] [--n 20000]
        [--n-components 10] [--seeds 0 1 2] [--draws 4] [--min-share 0 0.25]
        [--balance]
    python benchmarks/experiments/bench_consensus.py --quick   # 1,500 images, 1 seed
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
    EXPERIMENT_RESULTS,
    add_dataset_argument,
    add_run_arguments,
    mean_std,
    saved_cells,
)
from bench_init import initial_labels, load
from bench_mnist_table import consensus_cut


class _Pretrained(Exception):
    """Raised in place of the mixture's start, carrying the embedding."""

    def __init__(self, embedding):
        super().__init__()
        self.embedding = embedding


def pretrained_embedding(X, k, seed, params):
    """Posterior means of ``X`` (float64) after the default pretraining of a
    ``GMVAEClustering(k, random_state=seed, **params)``, and its seconds."""
    from skgmvae import GMVAEClustering

    def stop(embedding, n_components, seed):
        raise _Pretrained(embedding)

    tic = time.perf_counter()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            GMVAEClustering(k, random_state=seed, init_params=stop, **params).fit(X)
    except _Pretrained as done:
        embedding = np.asarray(done.embedding, dtype=np.float64)
        return embedding, time.perf_counter() - tic
    raise RuntimeError("the fit did not reach the start of the mixture")


def score_start(embedding, y, k, draw_seed, min_share, balance=False):
    """Accuracy, purity and smallest component share of one initial mixture,
    its consensus cut evened out or not (``balance``)."""
    from skgmvae._init import consensus_components, gmm_components
    from skgmvae.metrics import clustering_accuracy, purity

    with consensus_cut(balance):
        start = consensus_components(embedding, k, draw_seed, min_share=min_share)
    means, variances = start or gmm_components(embedding, k, draw_seed)
    labels = initial_labels(embedding, means, variances)
    return {
        "accuracy": float(clustering_accuracy(y, labels)),
        "purity": float(purity(y, labels)),
        "smallest_share": float(np.bincount(labels, minlength=k).min() / len(labels)),
    }


def markdown(cells, dataset, n, k):
    """The table: a row per min share (and cut: plain or evened out), the
    paired change of the accuracy against the plain cut with share 0, or
    with ``--balance`` against the plain cut with the same share."""
    variants = sorted({(c["min_share"], c.get("balance", False)) for c in cells.values()})
    balanced_run = any(b for _, b in variants)
    title = (
        f"{dataset}, {n} training images, K={k}, initial mixture of each draw: "
        "mean ± std over seeds × draws (worst draw)"
    )
    header = (
        "| min share | cut | draws | initial accuracy (worst) | initial purity (worst) "
        f"| smallest component | Δ accuracy vs {'plain' if balanced_run else '0'} "
        "| draws changed |"
    )
    lines = [title, "", header, "|---|---|---|---|---|---|---|---|"]
    for share, balance in variants:
        reference = (share, False) if balanced_run else (0, False)
        plain = {
            (c["seed"], c["draw"]): c["accuracy"]
            for c in cells.values()
            if (c["min_share"], c.get("balance", False)) == reference
        }
        rows = [
            c for c in cells.values()
            if (c["min_share"], c.get("balance", False)) == (share, balance)
        ]
        acc = [r["accuracy"] for r in rows]
        pur = [r["purity"] for r in rows]
        small = [r["smallest_share"] for r in rows]
        pairs = [
            r["accuracy"] - plain[r["seed"], r["draw"]]
            for r in rows
            if (r["seed"], r["draw"]) in plain
        ]
        compared = pairs and (share, balance) != reference
        delta = mean_std(pairs) if compared else "–"
        changed = f"{sum(abs(d) > 0 for d in pairs)} of {len(pairs)}" if compared else "–"
        lines.append(
            f"| {share:g} | {'evened' if balance else 'plain'} | {len(rows)} | {mean_std(acc)} ({min(acc):.3f}) "
            f"| {mean_std(pur)} ({min(pur):.3f}) | {mean_std(small)} "
            f"| {delta} | {changed} |"
        )
    return "\n".join(lines) + "\n"


def add_start_arguments(parser, n, draws):
    """The arguments of the experiments on the start of pretrained
    embeddings: ``--dataset``, ``--n`` images, ``--n-components``,
    ``--seeds``, ``--draws`` (defaults ``n`` and ``draws``), ``--threads``
    and those of every run (:func:`_common.add_run_arguments`)."""
    from skgmvae._cli import _positive_int

    add_dataset_argument(parser)
    parser.add_argument("--n", type=_positive_int, default=n)
    parser.add_argument("--n-components", type=_positive_int, default=10)
    parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
    parser.add_argument("--draws", type=_positive_int, default=draws)
    parser.add_argument("--threads", type=_positive_int, default=2)
    add_run_arguments(parser, out_dir=EXPERIMENT_RESULTS)


def start_run(args):
    """``(params, n, seeds, X, y)`` of a run of those experiments: torch
    on ``--threads`` threads, the default fit with Bernoulli likelihood and
    the overrides, and the images (1,500 images, one seed and two
    pretraining epochs with ``--quick``)."""
    import torch

    torch.set_num_threads(args.threads)
    params = {"likelihood": "bernoulli", **dict(args.overrides)}
    n, seeds = args.n, args.seeds
    if args.quick:
        n, seeds = 1500, seeds[:1]
        params.setdefault("pretrain_epochs", 2)
    X, y = load(args.data_dir, args.dataset, n)
    return params, n, seeds, X, y


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--min-share", nargs="+", type=float, default=[0.0, 0.25])
    parser.add_argument(
        "--balance", action="store_true",
        help="score each cut both plainly and evened out (balanced_groups)",
    )
    add_start_arguments(parser, n=20_000, draws=4)
    args = parser.parse_args(argv)
    params, n, seeds, X, y = start_run(args)
    k = args.n_components
    out_json, cells = saved_cells(
        args.out_dir,
        f"consensus_{args.dataset}_{n}_K{k}" + ("_balance" if args.balance else ""),
        args.overrides,
        args.quick,
    )
    cuts = (False, True) if args.balance else (False,)
    variants = [(share, balance) for share in args.min_share for balance in cuts]
    for seed in seeds:
        embedding = None
        for draw in range(args.draws):
            for share, balance in variants:
                key = f"seed{seed}/draw{draw}/share{share:g}" + ("/even" if balance else "")
                if key in cells:
                    continue
                if embedding is None:
                    embedding, seconds = pretrained_embedding(X, k, seed, params)
                    print(f"seed {seed}: pretrained in {seconds:.0f}s", flush=True)
                draw_seed = 1000 * seed + draw
                cells[key] = {
                    "seed": seed,
                    "draw": draw,
                    "min_share": share,
                    "balance": balance,
                    **score_start(embedding, y, k, draw_seed, share, balance),
                }
                print(
                    f"  draw {draw} share {share:g} {'evened' if balance else 'plain'}: accuracy "
                    f"{cells[key]['accuracy']:.3f} smallest "
                    f"{cells[key]['smallest_share']:.4f}",
                    flush=True,
                )
                save_cells(out_json, args.dataset, n, k, params, cells)
    write_table(out_json, markdown(cells, args.dataset, n, k))
    return cells


def save_cells(out_json, dataset, n, k, params, cells):
    """Write the run's settings and every scored cell to ``out_json``."""
    payload = {"dataset": dataset, "n": n, "k": k, "params": params}
    out_json.write_text(json.dumps({**payload, "cells": cells}, indent=1))


def write_table(out_json, table):
    """Write the Markdown ``table`` next to ``out_json`` and print it."""
    out_json.with_suffix(".md").write_text(table)
    print(table)
    print(f"wrote {out_json}")


if __name__ == "__main__":
    main()
