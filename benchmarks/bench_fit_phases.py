"""Where the seconds of a default fit go, next to KMeans in the same run.

For each seed, one default ``GMVAEClustering`` fit (``likelihood="bernoulli"``
on images) with a callback that clocks its phases:

- ``pretrain``: the autoencoder epochs;
- ``start``: the mixture's start on the pretrained embedding (the count of
  ``n_components="auto"`` included) and the neighbour term's graph;
- ``elbo``: the ELBO epochs;
- ``other``: the rest of ``fit_predict``: validating and scaling ``X``, the
  bound that ranks the ``n_init`` fits (``lower_bound_``) and the labels.

Each phase is added up over the ``n_init`` runs of a fit.

``KMeans(n_init=10)`` is fitted on the same rows with the same seed; the
table gives each phase as mean ± std seconds and the fit's total as a ratio
of KMeans' (mean and median over seeds). Each finished seed is saved at once
in ``benchmarks/results/fit_phases_<data>.json``; a rerun skips the seeds
saved with the same parameters and package code, and the table holds the
seeds below ``--seeds`` fitted by the current code only::

    python benchmarks/bench_fit_phases.py --data mnist --seeds 5
"""

import argparse
import json
import time

import numpy as np
from _common import add_run_arguments, gmvae_fingerprint, saved_cells
from bench_suite import IMAGES, SMALL, fit_and_score, load, make_model

from skgmvae import Callback

PHASES = ("pretrain", "start", "elbo", "other")


class PhaseClock(Callback):
    """The seconds of each phase of a fit, added up over its ``n_init``
    runs: pretraining ends at the last pretraining epoch, the start at the
    first ELBO epoch, the ELBO epochs when the run ends. ``clock``: the
    seconds now (``time.perf_counter``)."""

    def __init__(self, clock=time.perf_counter):
        self.seconds = dict.fromkeys(PHASES[:-1], 0.0)
        self.clock, self._last = clock, None

    def _lap(self, phase):
        now = self.clock()
        self.seconds[phase] += now - self._last
        self._last = now

    def on_train_begin(self, trainer):
        self._last = self.clock()

    def on_pretrain_epoch_end(self, trainer, record):
        self._lap("pretrain")

    def on_elbo_begin(self, trainer):
        self._lap("start")

    def on_train_end(self, trainer):
        self._lap("elbo")

    def phases(self, fit_seconds):
        """The seconds of each of :data:`PHASES` in a fit of ``fit_seconds``:
        ``other`` is what the callbacks did not see."""
        out = dict(self.seconds)
        out["other"] = fit_seconds - sum(out.values())
        return out


def one_seed(X, y, k, seed, images, params):
    """The GMVAE fit with its phases, and the KMeans fit, of one seed."""
    clock = PhaseClock()
    model = make_model("GMVAE", k, seed, images, {**params, "callbacks": [clock]})
    gmvae = fit_and_score(model, X, y)
    gmvae["phases"] = clock.phases(gmvae["fit_seconds"])
    gmvae["n_iter"] = int(model.n_iter_)
    kmeans = fit_and_score(make_model("KMeans", k, seed, images, {}), X, y)
    return {"GMVAE": gmvae, "KMeans": kmeans}


def table(cells):
    """Markdown: each phase's seconds, the totals, the ratio and accuracies."""
    runs = list(cells.values())

    def cell(values, digits=1):
        values = np.asarray(values, dtype=float)
        return f"{values.mean():.{digits}f} ± {values.std():.{digits}f}"

    gmvae = np.array([r["GMVAE"]["fit_seconds"] for r in runs])
    kmeans = np.array([r["KMeans"]["fit_seconds"] for r in runs])
    ratios = gmvae / kmeans
    rows = [(f"GMVAE {name}", cell([r["GMVAE"]["phases"][name] for r in runs])) for name in PHASES]
    rows += [
        ("GMVAE fit", cell(gmvae)),
        ("KMeans(n_init=10) fit", cell(kmeans)),
        ("ratio GMVAE / KMeans", f"{ratios.mean():.2f} mean, {np.median(ratios):.2f} median"),
    ]
    for name in ("GMVAE", "KMeans"):
        acc = np.array([r[name]["accuracy"] for r in runs])
        rows.append((f"{name} accuracy", f"{cell(acc, 3)} (worst {acc.min():.3f})"))
    lines = [f"| seconds over {len(runs)} seeds | value |", "|---|---|"]
    lines += [f"| {name} | {value} |" for name, value in rows]
    return "\n".join(lines) + "\n"


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", default="mnist", choices=SMALL + IMAGES)
    parser.add_argument("--seeds", type=int, default=3)
    add_run_arguments(parser)
    args = parser.parse_args(argv)
    X, y = load(args.data, args.data_dir, args.quick)
    k, images = len(np.unique(y)), args.data in IMAGES
    params = dict(args.overrides)
    if args.quick:
        params = {"max_iter": 2, "pretrain_epochs": 2, **params}
    path, cells = saved_cells(
        args.out_dir, f"fit_phases_{args.data}", args.overrides, args.quick
    )
    fingerprint = gmvae_fingerprint(make_model("GMVAE", k, 0, images, params))
    seeds = [str(seed) for seed in range(args.seeds)]

    def current(seed):
        return cells.get(seed, {}).get("fingerprint") == fingerprint

    for seed in seeds:
        if current(seed):
            continue
        run = {**one_seed(X, y, k, int(seed), images, params), "fingerprint": fingerprint}
        cells[seed] = run
        phases = ", ".join(f"{n} {s:.1f}s" for n, s in run["GMVAE"]["phases"].items())
        print(
            f"seed {seed}: GMVAE {run['GMVAE']['fit_seconds']:.1f}s ({phases}), "
            f"accuracy {run['GMVAE']['accuracy']:.4f}; KMeans "
            f"{run['KMeans']['fit_seconds']:.1f}s",
            flush=True,
        )
        path.write_text(json.dumps({"data": args.data, "params": params, "cells": cells}, indent=2))
    text = table({seed: cells[seed] for seed in seeds if current(seed)})
    print(text)
    path.with_suffix(".md").write_text(text)


if __name__ == "__main__":
    main()
