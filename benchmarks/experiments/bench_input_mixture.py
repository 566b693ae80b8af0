"""The Gaussian start's mixture of the input, seed by seed, and the rules
that let it through.

Where the spectral start's clusters touch, the default starts from the
clusters of a ``GaussianMixture`` of the input rows
(``skgmvae._init.input_mixture_labels``) when the input has the rows for a
full covariance per cluster (``skgmvae._init.full_covariance_estimable``).
This experiment fits the full shape only (the start chooses among full,
tied and diagonal on held-out rows: ``bench_input_shape.py``). For each data set this
experiment reports both rules (the current one, four rows per feature in a
cluster of an even split; the earlier one, a row per covariance entry) and,
where the current one lets the mixture through, fits it with one EM seed
after another exactly as the start does (the likeliest of
``INPUT_MIXTURE_INIT`` runs on the rows scaled to unit variance): its
Hungarian accuracy, its smallest cluster and whether the start refuses it
(a cluster of no more rows than features). The model itself is not fitted:
this is the start's input alone. Data: the suite's sets of at most 2,000
rows (``benchmarks/bench_suite.py``). Usage::

    python benchmarks/experiments/bench_input_mixture.py [--seeds 24] [--datasets wine breast_cancer]

Writes ``benchmarks/experiments/results/input_mixture.{json,md}``; each
finished data set is saved at once, and a rerun skips those already there
with the same seeds.
"""

import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # benchmarks/
from _common import DATA_DIR, random_rows, seed_table_main  # noqa: E402
from bench_suite import HELD_OUT, SMALL, load  # noqa: E402

DATASETS = SMALL + HELD_OUT


def make(name):
    """Rows and classes of ``name``."""
    return load(name, DATA_DIR)


def earlier_rule(n_rows, n_features, n_components):
    """The rule before four rows per feature: each cluster of an even split
    has as many rows as a covariance matrix has free entries."""
    return n_rows >= n_components * n_features * (n_features + 1) / 2


def one_seed(X, y, k, seed, quick):
    """Both rules, and where the current one holds, the mixture's accuracy,
    its smallest cluster and whether the start refuses it."""
    from skgmvae import _init
    from skgmvae.metrics import clustering_accuracy

    n, p = X.shape
    out = {
        "rows_per_feature": n / k / p,
        "rule": bool(_init.full_covariance_estimable(n, p, k)),
        "earlier_rule": bool(earlier_rule(n, p, k)),
        "accuracy": None,
        "smallest": None,
        "refused": None,
    }
    if not out["rule"]:
        return out
    shapes = _init.INPUT_MIXTURE_SHAPES
    _init.INPUT_MIXTURE_SHAPES = ("full",)  # the rule is about full covariances
    try:
        taken = _init.input_mixture_labels(X, k, seed)
        # the start's labels where it keeps them, else the mixture it refused
        labels = taken if taken is not None else _init.input_mixture(X, k, seed)
    finally:
        _init.INPUT_MIXTURE_SHAPES = shapes
    out.update(
        accuracy=clustering_accuracy(y, labels),
        smallest=int(np.bincount(labels, minlength=k).min()),
        refused=taken is None,
    )
    return out


def row_cells(rows):
    """The table's cells of one data set."""
    first = rows[0]
    fitted = [r for r in rows if r["accuracy"] is not None]
    if fitted:
        acc = [r["accuracy"] for r in fitted]
        refused = [r for r in fitted if r["refused"]]
        kept = [r["accuracy"] for r in fitted if not r["refused"]]
        mixture = f"{np.mean(acc):.3f} ({min(acc):.3f})"
        start = f"{np.mean(kept):.3f} ({min(kept):.3f})" if kept else "-"
        smallest = str(min(r["smallest"] for r in fitted))
        refusals = f"{len(refused)} of {len(fitted)}"
        if refused:
            refusals += " (" + ", ".join(f"{r['accuracy']:.3f}" for r in refused) + ")"
    else:
        mixture = start = smallest = refusals = "-"
    return [
        f"{first['rows_per_feature']:.1f}",
        "yes" if first["earlier_rule"] else "no",
        "yes" if first["rule"] else "no",
        mixture,
        start,
        smallest,
        refusals,
    ]


def write_table(table, path):
    lines = [
        "The Gaussian start's full-covariance mixture of the input, one EM seed "
        "per row of the JSON: rows per feature in a cluster of an even split, "
        "the earlier rule (a row per covariance entry) and the current one (four "
        "rows per feature, at most four covariance entries per row), then, where "
        "the current rule holds, the mixture's Hungarian accuracy, mean (worst), "
        "over every seed and over the seeds the start keeps, its smallest "
        "cluster over the seeds, and the seeds refused for a cluster of no more "
        "rows than features (their accuracies).",
        "",
        "| data | seeds | rows per feature | earlier rule | rule | mixture | kept "
        "| smallest cluster | refused |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for name, rows in table.items():
        lines.append(f"| {name} | {len(rows)} | " + " | ".join(row_cells(rows)) + " |")
    path.write_text("\n".join(lines) + "\n")


def summary(name, rows):
    """The line printed when ``name`` is done."""
    cells = row_cells(rows)
    return f"{name}: rule {cells[2]}, mixture {cells[3]}, kept {cells[4]}, refused {cells[6]}"


def main(argv=None):
    seed_table_main(
        argv, __doc__, "input_mixture", 24, DATASETS, make, one_seed, summary,
        write_table, random_rows,
    )


if __name__ == "__main__":
    main()
