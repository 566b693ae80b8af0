"""What starting the components as factor analysers after a "spectral" start gives.

After a ``"spectral"`` start the prior's components start as factor
analysers of the start's clusters, with q(w|y) at each row's factors
(``skgmvae._train.FACTOR_SPECTRAL_START``), rather than as the diagonal
moments of the clusters. For each data set and seed this fits the default
``GMVAEClustering`` both ways (same seed, same pretraining) and records,
for each, three Hungarian accuracies:

* ``start``: the partition of the spectral start itself;
* ``first``: the model's own partition (``predict``'s rule) just after the
  start, before the first ELBO step: how much of the start the components
  hold;
* ``final``: the fitted model's labels.

The data: the sets of the quality suite (``benchmarks/bench_suite.py``)
whose default start is spectral, and four the suite does not have: the odd
and the even digits of ``load_digits`` (five classes each), blobs each
with its own random covariance, well apart, and three ``make_moons`` pairs
side by side. The table gives the mean over seeds (worst seed). Usage::

    python benchmarks/experiments/bench_factor_start.py [--seeds 3] [--datasets digits wine]

Writes ``benchmarks/experiments/results/factor_start.{json,md}``
(``factor_start_quick`` with ``--quick``); each finished data set is saved
at once, and a rerun skips those already there with the same seeds.
"""

import argparse
import sys
import warnings
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # benchmarks/
from _common import (  # noqa: E402
    DATA_DIR,
    add_seed_table_arguments,
    random_rows,
    seeds_per_dataset,
)
from bench_suite import SMALL, load  # noqa: E402

#: The suite's sets whose default start is spectral.
SUITE_SETS = tuple(name for name in SMALL if name not in ("iris", "classification"))
OTHER = ("digits_odd", "digits_even", "blobs_apart_own_covariance", "three_moon_pairs")
DATASETS = SUITE_SETS + OTHER
WAYS = ("factored", "diagonal")


def make(name):
    """Rows and classes of ``name``."""
    from sklearn import datasets

    if name in SUITE_SETS:
        return load(name, DATA_DIR)
    if name.startswith("digits_"):
        X, y = datasets.load_digits(return_X_y=True)
        keep = y % 2 == (1 if name == "digits_odd" else 0)
        return X[keep], y[keep]
    if name == "blobs_apart_own_covariance":
        rng = np.random.default_rng(11)
        parts = [
            rng.normal(size=(250, 5)) @ rng.normal(size=(5, 5))
            + rng.normal(scale=8.0, size=5)
            for _ in range(5)
        ]
        return np.vstack(parts), np.repeat(np.arange(5), 250)
    rows, labels = [], []
    for pair in range(3):
        X, y = datasets.make_moons(400, noise=0.07, random_state=pair)
        rows.append(X + np.array([4.0 * pair, 0.0]))
        labels.append(y + 2 * pair)
    return np.vstack(rows), np.concatenate(labels)


def one_seed(X, y, k, seed, quick):
    """Start, first and final accuracy of the factored and diagonal fits."""
    from skgmvae import GMVAEClustering, _train
    from skgmvae.callbacks import Callback
    from skgmvae.metrics import clustering_accuracy

    class AtTheStart(Callback):
        def on_pretrain_end(self, trainer):
            self.method = trainer.start_method

        def on_elbo_begin(self, trainer):
            graph = trainer.state.graph
            self.start = (
                None if graph is None
                else clustering_accuracy(y, graph.memory.argmax(1).cpu().numpy())
            )
            first = _train.posterior_components(trainer.net, trainer.X, 512)[1]
            self.first = clustering_accuracy(y, first.cpu().numpy())

    params = {"pretrain_epochs": 2, "max_iter": 3} if quick else {}
    out = {}
    saved = _train.FACTOR_SPECTRAL_START
    try:
        for way in WAYS:
            _train.FACTOR_SPECTRAL_START = way == "factored"
            seen = AtTheStart()
            est = GMVAEClustering(k, random_state=seed, callbacks=[seen], **params).fit(X)
            out[way] = {
                "method": seen.method,
                "start": seen.start,
                "first": seen.first,
                "final": clustering_accuracy(y, est.labels_),
            }
    finally:
        _train.FACTOR_SPECTRAL_START = saved
    return out


def _cell(rows, way, key):
    values = [r[way][key] for r in rows]
    if any(v is None for v in values):
        return "-"
    return f"{np.mean(values):.3f} ({min(values):.3f})"


def write_table(table, path):
    lines = [
        "Hungarian accuracy, mean over seeds (worst seed), of the default fit with the "
        "components started as factor analysers of a spectral start's clusters "
        "(factored) and as their diagonal moments (diagonal): the start's partition, "
        "the model's partition just after the start (first) and the fitted labels "
        "(final). Start: the starts the fits made (the two ways differ only after a "
        "spectral one).",
        "",
        "| data | seeds | start made | start | first: factored | first: diagonal "
        "| final: factored | final: diagonal |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for name, rows in table.items():
        starts = ", ".join(sorted({r["factored"]["method"] for r in rows}))
        lines.append(
            f"| {name} | {len(rows)} | {starts} | {_cell(rows, 'factored', 'start')} | "
            f"{_cell(rows, 'factored', 'first')} | {_cell(rows, 'diagonal', 'first')} | "
            f"{_cell(rows, 'factored', 'final')} | {_cell(rows, 'diagonal', 'final')} |"
        )
    path.write_text("\n".join(lines) + "\n")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    add_seed_table_arguments(parser, 3, DATASETS)
    args = parser.parse_args(argv)
    warnings.simplefilter("ignore")

    def report(name, rows):
        print(
            f"{name}: final factored {_cell(rows, 'factored', 'final')}, diagonal "
            f"{_cell(rows, 'diagonal', 'final')}; first {_cell(rows, 'factored', 'first')}"
            f" against {_cell(rows, 'diagonal', 'first')}",
            flush=True,
        )

    table, path = seeds_per_dataset(
        args, "factor_start", args.datasets, make, one_seed, report, random_rows
    )
    write_table(table, path.with_suffix(".md"))
    print(f"wrote {path.with_suffix('.md')}")


if __name__ == "__main__":
    main()
