"""Which starts the neighbour term holds, and what holding them gives.

Every fit starts from the spectral partition (``init_params="spectral"``,
which the default takes unless its clusters touch in the graph). For each
data set of the small quality suite (``benchmarks/bench_suite.py``) and
each seed:

* the start: the ``GMVAEClustering`` fitted for one ELBO epoch; its
  neighbour graph holds the start's partition (the arg max of its smoothed
  assignments, still the start's after one epoch), from which the *leak*
  (``skgmvae._train.start_leak``: the mean share of a row's neighbour
  weight on rows of other clusters) and whether the start is held;
* ``default``: the full default fit (``graph_weight="auto"``, which holds a
  start whose leak is under ``skgmvae._train.HOLD_MAX_LEAK``, and a start
  whose components start as factor analysers, see
  ``skgmvae._train.HOLD_FACTORED_STARTS``);
* ``follow``: the same with ``graph_weight=1.0``, whose smoothed
  assignments always follow the posteriors (what "auto" did for every
  start before the hold);
* ``hold all``: the default fit with every start held, whatever its leak
  (``HOLD_MAX_LEAK`` set to infinity for the fit).

The table gives the Hungarian accuracy of the start's partition and of both
fits, mean over seeds (worst seed), and the leak's range. Usage::

    python benchmarks/experiments/bench_start_leak.py [--seeds 5] [--datasets iris moons_small]

Writes ``benchmarks/experiments/results/start_leak.{json,md}``
(``start_leak_quick`` with ``--quick``); each finished data set is saved at
once, and a rerun skips those already there with the same seeds.
"""

import math
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # benchmarks/
from _common import DATA_DIR, mean_worst, seed_table_main  # noqa: E402
from bench_suite import SMALL, load  # noqa: E402


def one_seed(X, y, k, seed, quick):
    """Start accuracy, leak, held, and the accuracy of both fits."""
    from skgmvae import GMVAEClustering, _train
    from skgmvae.metrics import clustering_accuracy

    # the spectral start throughout: "auto" replaces it with the "gaussian"
    # one where its clusters touch, which is what this measures
    params = {"init_params": "spectral"}
    if quick:
        params.update(pretrain_epochs=2, max_iter=3)
    start = GMVAEClustering(k, random_state=seed, **{**params, "max_iter": 1}).fit(X)
    graph = start._train_state.graph
    labels = graph.memory.argmax(1).numpy()
    leak = _train.start_leak(graph.neighbors.numpy(), graph.weights.numpy(), labels)
    default = GMVAEClustering(k, random_state=seed, **params).fit(X)
    follow = GMVAEClustering(k, random_state=seed, graph_weight=1.0, **params).fit(X)
    saved, _train.HOLD_MAX_LEAK = _train.HOLD_MAX_LEAK, math.inf
    try:
        hold_all = GMVAEClustering(k, random_state=seed, **params).fit(X)
    finally:
        _train.HOLD_MAX_LEAK = saved
    return {
        "start": clustering_accuracy(y, labels),
        "leak": leak,
        "held": bool(graph.held),
        "default": clustering_accuracy(y, default.labels_),
        "follow": clustering_accuracy(y, follow.labels_),
        "hold_all": clustering_accuracy(y, hold_all.labels_),
    }


def write_table(table, path):
    lines = [
        "Hungarian accuracy, mean over seeds (worst seed): the start's partition, "
        "the default fit (graph_weight='auto', which holds a start whose leak is "
        "under HOLD_MAX_LEAK or whose components start as factor analysers) and the fit whose neighbour term follows the "
        "posteriors (graph_weight=1.0), and the default fit with every start "
        "held (hold all). Leak: the mean share of a row's neighbour "
        "weight on rows of other clusters of the start (min-max over seeds).",
        "",
        "| data | seeds | leak | held | start | default | follow | hold all |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for name, rows in table.items():
        leak = [r["leak"] for r in rows]
        held = sum(r["held"] for r in rows)
        lines.append(
            f"| {name} | {len(rows)} | {min(leak):.4f}-{max(leak):.4f} | "
            f"{held}/{len(rows)} | {mean_worst([r['start'] for r in rows])} | "
            f"{mean_worst([r['default'] for r in rows])} | "
            f"{mean_worst([r['follow'] for r in rows])} | "
            f"{mean_worst([r['hold_all'] for r in rows])} |"
        )
    path.write_text("\n".join(lines) + "\n")


def summary(name, rows):
    """The line printed when ``name`` is done."""
    return (
        f"{name}: leak {np.mean([r['leak'] for r in rows]):.4f}, start "
        f"{mean_worst([r['start'] for r in rows])}, default "
        f"{mean_worst([r['default'] for r in rows])}, follow "
        f"{mean_worst([r['follow'] for r in rows])}, hold all "
        f"{mean_worst([r['hold_all'] for r in rows])}"
    )


def main(argv=None):
    seed_table_main(
        argv, __doc__, "start_leak", 5, SMALL, lambda name: load(name, DATA_DIR), one_seed,
        summary, write_table,
    )


if __name__ == "__main__":
    main()
