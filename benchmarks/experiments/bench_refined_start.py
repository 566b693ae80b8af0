"""Which spectral starts the input's mixture refines, and what it gives.

Where the spectral partition of the embedding is clean (its clusters do not
touch in the graph) and the input rows can carry a full covariance per
cluster, the default start runs EM of a full-covariance
``GaussianMixture`` of the input rows from the spectral clusters
(``skgmvae._init.refined_labels``) and takes its partition when EM moved at
most ``skgmvae._init.REFINED_MOVED_SHARE`` of the rows. For each data set
of the small quality suite and its held-out sets
(``benchmarks/bench_suite.py``) and each seed:

* the start, from a ``GMVAEClustering`` fitted for one ELBO epoch with the
  share set to infinity: whether EM ran (a clean spectral start whose input
  can carry the mixture), the share of rows it moved (None where it left a
  cluster of no more rows than features), and the Hungarian accuracy of the
  spectral partition and of EM's;
* where the default takes the refined partition: the default fit and the
  same fit with the refinement off (the share set below zero). Elsewhere
  the default fit is the spectral or Gaussian start's, as before, and
  ``benchmarks/bench_suite.py`` has it.

Usage::

    python benchmarks/experiments/bench_refined_start.py [--seeds 3] [--datasets aniso moons]

Writes ``benchmarks/experiments/results/refined_start.{json,md}``
(``refined_start_quick`` with ``--quick``); each finished data set is saved
at once, and a rerun skips those already there with the same seeds.
"""

import math
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # benchmarks/
from _common import DATA_DIR, mean_worst, patched, seed_table_main  # noqa: E402
from bench_suite import HELD_OUT, SMALL, load  # noqa: E402


def one_seed(X, y, k, seed, quick):
    """The start's partitions, EM's moved share, and both fits where the
    refined partition is taken."""
    from skgmvae import GMVAEClustering, _init
    from skgmvae.metrics import clustering_accuracy

    params = {"pretrain_epochs": 2, "max_iter": 3} if quick else {}
    seen = {}
    refine = _init.refined_labels

    def recording(inputs, labels, n_components, seed, weights=None):
        seen["spectral"] = labels
        seen["refined"] = refine(inputs, labels, n_components, seed, weights)
        return seen["refined"]

    with patched(_init, "refined_labels", recording), patched(
        _init, "REFINED_MOVED_SHARE", math.inf
    ):
        GMVAEClustering(k, random_state=seed, **{**params, "max_iter": 1}).fit(X)
    row = {"em": "spectral" in seen, "moved": None, "spectral": None, "refined": None,
           "taken": False, "default": None, "unrefined": None}
    if not row["em"]:
        return row
    row["spectral"] = clustering_accuracy(y, seen["spectral"])
    if seen["refined"] is not None:
        row["refined"] = clustering_accuracy(y, seen["refined"])
        row["moved"] = float(np.mean(seen["refined"] != seen["spectral"]))
        row["taken"] = row["moved"] <= _init.REFINED_MOVED_SHARE
    if row["taken"]:
        default = GMVAEClustering(k, random_state=seed, **params).fit(X)
        with patched(_init, "REFINED_MOVED_SHARE", -1.0):
            unrefined = GMVAEClustering(k, random_state=seed, **params).fit(X)
        row["default"] = clustering_accuracy(y, default.labels_)
        row["unrefined"] = clustering_accuracy(y, unrefined.labels_)
    return row


def _accuracies(rows, key):
    values = [r[key] for r in rows if r[key] is not None]
    return mean_worst(values) if values else "-"


def _moved(rows):
    moved = [r["moved"] for r in rows if r["moved"] is not None]
    refused = sum(r["em"] and r["moved"] is None for r in rows)
    text = f"{min(moved):.4f}-{max(moved):.4f}" if moved else "-"
    return text + (f"; {refused} refused" if refused else "")


def write_table(table, path):
    lines = [
        "Per data set: seeds where EM of the input's mixture ran from the spectral "
        "start (a clean start whose input can carry a full covariance per cluster), "
        "the share of rows it moved (min-max; refused: it left a cluster of no more "
        "rows than features), seeds where the default takes the refined partition "
        "(moved at most REFINED_MOVED_SHARE), and Hungarian accuracy, mean (worst "
        "seed), of the spectral and refined partitions and, where taken, of the "
        "default fit and the same fit without the refinement.",
        "",
        "| data | seeds | EM ran | moved | taken | spectral start | refined | default fit "
        "| unrefined fit |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for name, rows in table.items():
        taken = [r for r in rows if r["taken"]]
        lines.append(
            f"| {name} | {len(rows)} | {sum(r['em'] for r in rows)} | {_moved(rows)} | "
            f"{len(taken)} | {_accuracies(rows, 'spectral')} | "
            f"{_accuracies(rows, 'refined')} | {_accuracies(taken, 'default')} | "
            f"{_accuracies(taken, 'unrefined')} |"
        )
    path.write_text("\n".join(lines) + "\n")


def summary(name, rows):
    """The line printed when ``name`` is done."""
    taken = [r for r in rows if r["taken"]]
    return (
        f"{name}: EM ran {sum(r['em'] for r in rows)}/{len(rows)}, moved {_moved(rows)}, "
        f"taken {len(taken)}, default {_accuracies(taken, 'default')}, unrefined "
        f"{_accuracies(taken, 'unrefined')}"
    )


def main(argv=None):
    seed_table_main(
        argv, __doc__, "refined_start", 3, SMALL + HELD_OUT, lambda name: load(name, DATA_DIR), one_seed,
        summary, write_table,
    )


if __name__ == "__main__":
    main()
