"""Choosing among several fits: by the bound or by agreement.

``n_init`` fits the model several times and keeps the run with the highest
``lower_bound_``. On small data the bound need not follow the accuracy, so
this experiment compares two rules over the same fits. For each data set it
fits the default ``GMVAEClustering`` once per seed and keeps its labels, its
``lower_bound_`` and its Hungarian accuracy; then, for every group of ``g``
of those seeds (every combination, ``g`` in ``--group-sizes``), it takes

* ``bound``: the run of the group with the highest ``lower_bound_`` (what
  ``n_init=g`` does);
* ``agreement``: the run whose labels agree most with the others' (highest
  summed adjusted Rand index), the medoid of the group;

and reports the mean accuracy over the groups (worst group). Runs of one
``n_init`` differ only in their seeds, as these do. The data: the suite's
``iris``, ``wine``, ``breast_cancer`` and ``digits``
(``benchmarks/bench_suite.py``). Usage::

    python benchmarks/experiments/bench_run_agreement.py [--seeds 12] [--datasets wine digits]

Writes ``benchmarks/experiments/results/run_agreement.{json,md}``
(``run_agreement_quick`` with ``--quick``); each finished data set is saved
at once, and a rerun skips those already there with the same seeds.
"""

import itertools
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # benchmarks/
from _common import DATA_DIR, mean_worst, random_rows, seed_table_main  # noqa: E402
from bench_suite import load  # noqa: E402

DATASETS = ("iris", "wine", "breast_cancer", "digits")
GROUP_SIZES = (3, 5)


def make(name):
    """Rows and classes of ``name``."""
    return load(name, DATA_DIR)


def one_seed(X, y, k, seed, quick):
    """The default fit's accuracy, bound and labels."""
    from skgmvae import GMVAEClustering
    from skgmvae.metrics import clustering_accuracy

    params = {"pretrain_epochs": 2, "max_iter": 3} if quick else {}
    model = GMVAEClustering(k, random_state=seed, **params).fit(X)
    return {
        "accuracy": clustering_accuracy(y, model.labels_),
        "lower_bound": float(model.lower_bound_),
        "labels": model.labels_.tolist(),
    }


def choices(rows, group_size):
    """Accuracies of the runs that each rule keeps, one per group of
    ``group_size`` of ``rows``: ``{"bound": [...], "agreement": [...]}``
    (empty where there are fewer rows than ``group_size``)."""
    from sklearn.metrics import adjusted_rand_score

    n = len(rows)
    agree = np.array(
        [[adjusted_rand_score(a["labels"], b["labels"]) for b in rows] for a in rows]
    )
    kept = {"bound": [], "agreement": []}
    for group in itertools.combinations(range(n), group_size):
        group = list(group)
        by_bound = group[int(np.argmax([rows[i]["lower_bound"] for i in group]))]
        medoid = group[int(np.argmax(agree[np.ix_(group, group)].sum(1)))]
        kept["bound"].append(rows[by_bound]["accuracy"])
        kept["agreement"].append(rows[medoid]["accuracy"])
    return kept


def _mean_worst(values):
    """:func:`_common.mean_worst`, and "-" for no values (fewer seeds than a
    group)."""
    return mean_worst(values) if values else "-"


def write_table(table, path):
    header = "| data | seeds | one fit |"
    rule = "|---|---|---|"
    for g in GROUP_SIZES:
        header += f" best bound of {g} | agreement of {g} |"
        rule += "---|---|"
    lines = [
        "Hungarian accuracy, mean (worst): one default fit per seed; and over "
        "every group of g of those seeds, the run with the highest lower_bound_ "
        "(what n_init=g keeps) and the run that agrees most with the group's "
        "others (summed adjusted Rand index).",
        "",
        header,
        rule,
    ]
    for name, rows in table.items():
        line = f"| {name} | {len(rows)} | {_mean_worst([r['accuracy'] for r in rows])} |"
        for g in GROUP_SIZES:
            kept = choices(rows, g)
            line += f" {_mean_worst(kept['bound'])} | {_mean_worst(kept['agreement'])} |"
        lines.append(line)
    path.write_text("\n".join(lines) + "\n")


def summary(name, rows):
    """The line printed when ``name`` is done."""
    kept = choices(rows, min(3, len(rows)))
    return (
        f"{name}: one fit {_mean_worst([r['accuracy'] for r in rows])}, best bound "
        f"{_mean_worst(kept['bound'])}, agreement {_mean_worst(kept['agreement'])}"
    )


def main(argv=None):
    seed_table_main(
        argv, __doc__, "run_agreement", 12, DATASETS, make, one_seed, summary,
        write_table, random_rows,
    )


if __name__ == "__main__":
    main()
