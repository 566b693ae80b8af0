"""What starting the components as factor analysers of the start's clusters gives.

After a ``"spectral"`` or a ``"gaussian"`` start the prior's components
start as factor analysers of the start's clusters, with q(w|y) at each
row's factors (``skgmvae._train.FACTOR_STARTS``), rather than as the
diagonal moments of the clusters, and the neighbour term then holds a
spectral start whatever its leak (``skgmvae._train.HOLD_FACTORED_STARTS``).
For each data set and seed this fits the default ``GMVAEClustering``
(``factored``), the same without that hold (``unheld``) and with diagonal
moments (``diagonal``), from the same seed and pretraining, and records
three Hungarian accuracies:

* ``start``: the partition of the start itself;
* ``first``: the model's own partition (``predict``'s rule) just after the
  start, before the first ELBO step: how much of the start the components
  hold;
* ``final``: the fitted model's labels.

The data: the small sets of the quality suite (``benchmarks/bench_suite.py``),
and five the suite does not have: the odd
and the even digits of ``load_digits`` (five classes each), blobs each
with its own random covariance, well apart, three ``make_moons`` pairs
side by side, and four ``make_classification`` classes in 10 features.
The table gives the mean over seeds (worst seed). Usage::

    python benchmarks/experiments/bench_factor_start.py [--seeds 3] [--datasets digits wine]

Writes ``benchmarks/experiments/results/factor_start.{json,md}``
(``factor_start_quick`` with ``--quick``); each finished data set is saved
at once, and a rerun skips those already there with the same seeds.
"""

import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # benchmarks/
from _common import (  # noqa: E402
    DATA_DIR,
    mean_worst,
    own_covariance_blobs,
    random_rows,
    seed_table_main,
)
from bench_suite import SMALL, load  # noqa: E402

#: The suite's small sets.
SUITE_SETS = tuple(SMALL)
OTHER = (
    "digits_odd",
    "digits_even",
    "blobs_apart_own_covariance",
    "three_moon_pairs",
    "classification_four",
)
DATASETS = SUITE_SETS + OTHER
WAYS = ("factored", "unheld", "diagonal")


def make(name):
    """Rows and classes of ``name``."""
    from sklearn import datasets

    if name in SUITE_SETS:
        return load(name, DATA_DIR)
    if name == "classification_four":
        return datasets.make_classification(
            1200, n_features=10, n_informative=6, n_classes=4,
            n_clusters_per_class=1, random_state=1,
        )
    if name.startswith("digits_"):
        X, y = datasets.load_digits(return_X_y=True)
        keep = y % 2 == (1 if name == "digits_odd" else 0)
        return X[keep], y[keep]
    if name == "blobs_apart_own_covariance":
        return own_covariance_blobs(11, 5, 250, 5, 8.0)
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
    saved = _train.FACTOR_STARTS, _train.HOLD_FACTORED_STARTS
    try:
        for way in WAYS:
            _train.FACTOR_STARTS = saved[0] if way != "diagonal" else ()
            _train.HOLD_FACTORED_STARTS = saved[1] if way == "factored" else ()
            seen = AtTheStart()
            est = GMVAEClustering(k, random_state=seed, callbacks=[seen], **params).fit(X)
            graph = est._train_state.graph
            out[way] = {
                "method": seen.method,
                "start": seen.start,
                "first": seen.first,
                "final": clustering_accuracy(y, est.labels_),
                "held": bool(graph is not None and graph.held),
            }
    finally:
        _train.FACTOR_STARTS, _train.HOLD_FACTORED_STARTS = saved
    return out


def _cell(rows, way, key):
    return mean_worst([r[way][key] for r in rows])


def write_table(table, path):
    lines = [
        "Hungarian accuracy, mean over seeds (worst seed), of the default fit with the "
        "components started as factor analysers of the start's clusters "
        "(factored, the default, whose neighbour term then holds a spectral start "
        "whatever its leak), the same without that hold (unheld) and as their diagonal "
        "moments (diagonal): the start's partition, the model's partition just after "
        "the start (first) and the fitted labels (final). Start: the starts the fits "
        "made (the ways differ only after a spectral or a gaussian one). Held: the "
        "seeds whose start the default fit held.",
        "",
        "| data | seeds | start made | held | start | first: factored | first: diagonal "
        "| final: factored | final: unheld | final: diagonal |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for name, rows in table.items():
        starts = ", ".join(sorted({r["factored"]["method"] for r in rows}))
        held = sum(r["factored"].get("held", False) for r in rows)
        lines.append(
            f"| {name} | {len(rows)} | {starts} | {held}/{len(rows)} | "
            f"{_cell(rows, 'factored', 'start')} | "
            f"{_cell(rows, 'factored', 'first')} | {_cell(rows, 'diagonal', 'first')} | "
            f"{_cell(rows, 'factored', 'final')} | {_cell(rows, 'unheld', 'final')} | "
            f"{_cell(rows, 'diagonal', 'final')} |"
        )
    path.write_text("\n".join(lines) + "\n")


def summary(name, rows):
    """The line printed when ``name`` is done."""
    return (
        f"{name}: final factored {_cell(rows, 'factored', 'final')}, unheld "
        f"{_cell(rows, 'unheld', 'final')}, diagonal "
        f"{_cell(rows, 'diagonal', 'final')}; first {_cell(rows, 'factored', 'first')}"
        f" against {_cell(rows, 'diagonal', 'first')}"
    )


def main(argv=None):
    seed_table_main(
        argv, __doc__, "factor_start", 3, DATASETS, make, one_seed, summary, write_table,
        random_rows,
    )


if __name__ == "__main__":
    main()
