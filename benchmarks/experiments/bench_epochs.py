"""How the clusters change with the length of the ELBO phase.

Fits the default ``GMVAEClustering`` (``likelihood="bernoulli"``, ``K`` given
by ``--n-components``) once per seed for the first number of ELBO epochs in
``--epochs`` (default 100, the default ``max_iter``), scores it, then continues
the same fit with ``warm_start=True`` up to each further number of epochs and
scores it again. A continued fit equals, bit for bit on the CPU, one fit of
that many epochs (the optimiser state, random stream and KL warm-up travel
with the model), so each row of the table is what ``max_iter`` of that value
would give, at the cost of the longest run only. That holds for a constant
step size only, and without ``grow_from`` (whose split falls halfway through
the first fit), so the script refuses a ``learning_rate_decay`` or
``grow_from`` override.
Early stopping keeps its default: a fit that stops early is not continued,
and its later rows repeat its last scores.

Data and scores follow ``bench_mnist_table.py`` (``--protocol train-test``
fits the 60,000 training images and scores the 10,000 test images, ``all``
fits and scores all 70,000). Each checkpoint is written at once to
``benchmarks/experiments/results/epochs_<dataset>_<protocol>_K<k>.json`` (a rerun skips
checkpoints already there); the Markdown summary goes next to it.

Usage::

    python benchmarks/experiments/bench_epochs.py [--dataset mnist] [--protocol train-test]
        [--n-components 10] [--seeds 0 1 2 3 4] [--epochs 100 150 200] [key=value ...]
    python benchmarks/experiments/bench_epochs.py --quick   # 2,000 training images, 1 seed, 2 + 2 epochs
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
from bench_mnist_table import PROTOCOLS, TABLE_PARAMS, load, scores

SCORES = ("accuracy", "purity", "nmi", "ari")


def markdown(cells, title):
    """Mean ± std over seeds (worst seed) of every score at every checkpoint."""
    lines = [
        title,
        "",
        (
            "| ELBO epochs | seeds | accuracy (worst) | purity (worst) | NMI | ARI "
            "| lower bound | seconds |"
        ),
        "|---|---|---|---|---|---|---|---|",
    ]
    for epochs in sorted({c["epochs"] for c in cells.values()}):
        rows = [c for c in cells.values() if c["epochs"] == epochs]
        col = {m: [r[m] for r in rows] for m in (*SCORES, "lower_bound", "seconds")}
        lines.append(
            f"| {epochs} | {len(rows)} "
            f"| {mean_std(col['accuracy'])} ({min(col['accuracy']):.3f}) "
            f"| {mean_std(col['purity'])} ({min(col['purity']):.3f}) "
            f"| {mean_std(col['nmi'])} | {mean_std(col['ari'])} "
            f"| {np.mean(col['lower_bound']):.2f} | {np.mean(col['seconds']):.0f} |"
        )
    return "\n".join(lines) + "\n"


def main(argv=None):
    import torch

    from skgmvae import GMVAEClustering
    from skgmvae._cli import _positive_int

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    add_dataset_argument(parser)
    parser.add_argument("--protocol", default="train-test", choices=PROTOCOLS)
    parser.add_argument("--n-components", type=_positive_int, default=10)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2, 3, 4])
    parser.add_argument(
        "--epochs", type=_positive_int, nargs="+", default=[100, 150, 200]
    )
    parser.add_argument("--threads", type=_positive_int, default=None)
    add_run_arguments(parser, out_dir=EXPERIMENT_RESULTS)
    args = parser.parse_args(argv)
    params = {**TABLE_PARAMS, **dict(args.overrides)}
    if params.get("learning_rate_decay", 0):
        # a continuation anneals its own epochs: it is not one longer fit
        parser.error(
            "learning_rate_decay must stay 0 here: with a decaying step size, a "
            "continued fit differs from one fit of that many epochs; compare "
            "separate fits with bench_mnist_table.py instead"
        )
    if params.get("grow_from") is not None:
        # the split falls halfway through the first fit only
        parser.error(
            "grow_from must stay None here: the mixture is split halfway through "
            "the first fit, so a continued fit differs from one fit of that many "
            "epochs; compare separate fits with bench_mnist_table.py instead"
        )
    seeds, checkpoints = args.seeds, sorted(set(args.epochs))
    if args.quick:
        seeds, checkpoints = seeds[:1], [2, 4]
        params.setdefault("pretrain_epochs", 2)
    if args.threads:
        torch.set_num_threads(args.threads)
    k = args.n_components
    out_json, cells = saved_cells(
        args.out_dir,
        f"epochs_{args.dataset}_{args.protocol}_K{k}",
        args.overrides,
        args.quick,
    )
    title = (
        f"{args.dataset}, {args.protocol}, K={k}, GMVAE parameters {params}: "
        "mean ± std over seeds (worst seed)"
    )

    def save():
        payload = {
            "dataset": args.dataset,
            "protocol": args.protocol,
            "k": k,
            "gmvae_params": params,
            "cells": cells,
        }
        out_json.write_text(json.dumps(payload, indent=1, default=str))
        out_json.with_suffix(".md").write_text(markdown(cells, title))

    X_fit, X_score, y_score = load(
        args.data_dir, args.dataset, args.protocol, args.quick
    )
    for seed in seeds:
        keys = [f"seed{seed}/epochs{e}" for e in checkpoints]
        if all(key in cells for key in keys):
            continue
        model = GMVAEClustering(k, random_state=seed, **params)
        done, seconds, last = 0, 0.0, None
        for epochs, key in zip(checkpoints, keys):
            if last is None or not model.converged_:
                model.set_params(warm_start=done > 0, max_iter=epochs - done)
                tic = time.perf_counter()
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")  # ConvergenceWarning
                    model.fit(X_fit)
                seconds += time.perf_counter() - tic
                done = epochs
                labels = model.predict(X_fit if X_score is None else X_score)
                last = {
                    **scores(y_score, labels),
                    "lower_bound": float(model.lower_bound_),
                    "n_iter": int(model.n_iter_),
                    "converged": bool(model.converged_),
                    "seconds": seconds,
                }
            cells[key] = {"seed": seed, "epochs": epochs, **last}
            save()
            print(
                f"seed {seed}, {epochs} epochs: accuracy {last['accuracy']:.3f} "
                f"purity {last['purity']:.3f} NMI {last['nmi']:.3f} "
                f"bound {last['lower_bound']:.2f} ({seconds:.0f}s)",
                flush=True,
            )
    save()
    print(markdown(cells, title))
    print(f"wrote {out_json}")
    return cells


if __name__ == "__main__":
    main()
