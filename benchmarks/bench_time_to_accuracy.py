"""Accuracy against seconds: how fast a GMVAE fit reaches its clusters.

For each GMVAE configuration (``--configs``, each a comma-separated list of
``key=value`` parameters; ``defaults`` for none) and seed, one fit on a data
set of the suite (``likelihood="bernoulli"`` on images) with a callback that
measures the training rows' Hungarian accuracy at the mixture's start and
after every ``--every`` ELBO epochs. The clock counts training only: the
time spent measuring is taken out. The baselines of the suite (KMeans with
``n_init=10``, a full GaussianMixture on 50 principal components, UMAP + a
full GaussianMixture) are fitted in the same run and give one point each.

Each finished fit is saved at once in
``benchmarks/results/time_to_accuracy_<data>.json`` and a rerun skips it,
unless it is a GMVAE fit of other code or other defaults than the current
ones (its saved fingerprint, as in ``bench_suite.py``), which is fitted
again; the table marks such fits with †.
``--plot FILE`` draws the curves (matplotlib needed)::

    python benchmarks/bench_time_to_accuracy.py --data mnist --seeds 3 \\
        --configs defaults batch_size=512 --plot docs/_static/time_to_accuracy.png
"""

import argparse
import json
import time
from pathlib import Path

import numpy as np
from _common import DATA_DIR, RESULTS, gmvae_fingerprint, parse_override
from bench_suite import IMAGES, SMALL, available_models, fit_and_score, load, make_model

from skgmvae import Callback
from skgmvae._train import posterior_components
from skgmvae.metrics import clustering_accuracy

BASELINES = ("KMeans", "GMM-full", "UMAP+GMM")


class AccuracyTrace(Callback):
    """Records ``(seconds, accuracy)`` of the training rows at the start of
    the mixture and after every ``every`` ELBO epochs; the seconds count
    training only (the time of the measurements is taken out)."""

    def __init__(self, y, every):
        self.y, self.every = y, every
        self.points, self._t0, self._excluded = [], None, 0.0

    def _measure(self, trainer, epoch):
        tic = time.perf_counter()
        labels = posterior_components(trainer.net, trainer.X, 4096)[1].cpu().numpy()
        accuracy = float(clustering_accuracy(self.y, labels))
        seconds = tic - self._t0 - self._excluded
        self.points.append({"epoch": epoch, "seconds": seconds, "accuracy": accuracy})
        self._excluded += time.perf_counter() - tic

    def on_train_begin(self, trainer):
        self._t0 = time.perf_counter()

    def on_pretrain_end(self, trainer):
        self._measure(trainer, 0)

    def on_epoch_end(self, trainer, record):
        if record["epoch"] % self.every == 0:
            self._measure(trainer, record["epoch"])

    def on_train_end(self, trainer):
        last = self.points[-1]["epoch"] if self.points else None
        epoch = trainer.state.epoch if trainer.state is not None else 0
        if last != epoch:
            self._measure(trainer, epoch)


def parse_config(text):
    """``"a=1,b=2"`` -> ``{"a": 1, "b": 2}``; ``"defaults"`` -> ``{}``."""
    if text == "defaults":
        return {}
    return dict(parse_override(part) for part in text.split(","))


def fingerprint(k, images, params):
    """The fingerprint of the GMVAE of ``params`` (without the tracing
    callback): its parameters but the seed, and the package's constants and
    code (:func:`_common.gmvae_fingerprint`)."""
    return gmvae_fingerprint(make_model("GMVAE", k, 0, images, params))


def run_gmvae(X, y, k, seed, images, params, every):
    """One traced fit: its points and its final scores."""
    trace = AccuracyTrace(y, every)
    model = make_model("GMVAE", k, seed, images, {**params, "callbacks": [trace]})
    final = fit_and_score(model, X, y)
    final["n_iter"] = int(model.n_iter_)
    return {"points": trace.points, **final}


def plot(cells, data, path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4.5))
    configs = sorted({key.split("/")[1] for key in cells if key.startswith("GMVAE/")})
    for i, config in enumerate(configs):
        runs = [v for key, v in cells.items() if key.startswith(f"GMVAE/{config}/")]
        for j, run in enumerate(runs):
            pts = run["points"]
            ax.plot(
                [p["seconds"] for p in pts],
                [p["accuracy"] for p in pts],
                color=f"C{i}",
                alpha=0.8,
                label=f"GMVAE {config}" if j == 0 else None,
            )
    for i, name in enumerate(BASELINES):
        runs = [v for key, v in cells.items() if key.startswith(f"{name}/")]
        if runs:
            ax.scatter(
                [r["fit_seconds"] for r in runs],
                [r["accuracy"] for r in runs],
                marker="os^"[i],
                color=f"C{len(configs) + i}",
                label=name,
                zorder=3,
            )
    ax.set_xlabel("seconds of training (2 CPU cores)")
    ax.set_ylabel("Hungarian accuracy on the training rows")
    ax.set_title(f"{data}: accuracy against time")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=100)
    print(f"wrote {path}")


def table(cells, current=None):
    """One line per model: final accuracy mean ± std (worst), seconds; †
    after a GMVAE configuration some of whose fits are not those of
    ``current`` (``{config: fingerprint}``) or carry no fingerprint."""
    groups = {}
    for key, value in cells.items():
        groups.setdefault(key.rsplit("/", 1)[0], []).append(value)
    current = current or {}
    lines = ["| model | seeds | accuracy (worst) | fit seconds | ELBO epochs |", "|---|---|---|---|---|"]
    for name, runs in sorted(groups.items()):
        acc = np.array([r["accuracy"] for r in runs])
        secs = np.array([r["fit_seconds"] for r in runs])
        epochs = ", ".join(str(r["n_iter"]) for r in runs if "n_iter" in r) or "—"
        config = name.split("/", 1)[1] if name.startswith("GMVAE/") else None
        stale = config is not None and any(
            r.get("gmvae") is None or r.get("gmvae") != current.get(config) for r in runs
        )
        mark = " †" if stale else ""
        lines.append(
            f"| {name}{mark} | {len(runs)} | {acc.mean():.3f} ± {acc.std():.3f} "
            f"({acc.min():.3f}) | {secs.mean():.0f} ± {secs.std():.0f} | {epochs} |"
        )
    return "\n".join(lines) + "\n"


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", default="mnist", choices=SMALL + IMAGES)
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--configs", nargs="+", default=["defaults"])
    parser.add_argument("--baselines", nargs="*", default=list(BASELINES))
    parser.add_argument("--every", type=int, default=5)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--data-dir", default=str(DATA_DIR))
    parser.add_argument("--out-dir", default=str(RESULTS))
    parser.add_argument("--plot", default=None)
    args = parser.parse_args(argv)
    X, y = load(args.data, args.data_dir, args.quick)
    k, images = len(np.unique(y)), args.data in IMAGES
    suffix = "_quick" if args.quick else ""
    path = Path(args.out_dir) / f"time_to_accuracy_{args.data}{suffix}.json"
    cells = json.loads(path.read_text())["cells"] if path.exists() else {}
    jobs = [(f"GMVAE/{c}", c) for c in args.configs]
    jobs += [(name, None) for name in available_models(args.baselines)]
    configs = {c: parse_config(c) for c in args.configs}
    if args.quick:
        configs = {c: {"max_iter": 2, "pretrain_epochs": 2, **p} for c, p in configs.items()}
    current = {c: fingerprint(k, images, p) for c, p in configs.items()}
    for seed in range(args.seeds):
        for name, config in jobs:
            key = f"{name}/{seed}"
            saved = cells.get(key)
            if saved is not None and (config is None or saved.get("gmvae") == current[config]):
                continue
            if config is None:
                cells[key] = fit_and_score(make_model(name, k, seed, images, {}), X, y)
            else:
                cells[key] = run_gmvae(X, y, k, seed, images, configs[config], args.every)
                cells[key]["gmvae"] = current[config]
            print(
                f"{key}: accuracy {cells[key]['accuracy']:.3f} "
                f"({cells[key]['fit_seconds']:.1f}s)",
                flush=True,
            )
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(json.dumps({"data": args.data, "cells": cells}, indent=2))
    text = table(cells, current)
    print(text)
    path.with_suffix(".md").write_text(text)
    if args.plot:
        plot(cells, args.data, args.plot)


if __name__ == "__main__":
    main()
