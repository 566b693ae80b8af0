"""Where a full ``GaussianMixture`` of the raw features beats the same
mixture of standardised ones: a better fit, or another local optimum?

A full-covariance Gaussian mixture is the same model whatever the scale of
each feature: rescaling the features maps every mixture, and its
likelihood, onto one of the rescaled rows. What does depend on the scale
is where EM starts (sklearn's k-means initialisation), and so which local
optimum it ends in. For each of the suite's sets of at most 2,000 rows
(``benchmarks/bench_suite.py``, where ``GMM-full`` is such a mixture of the
raw rows) and each seed, this experiment fits ``GaussianMixture(k,
covariance_type="full", random_state=seed)`` to the raw rows and to the
rows standardised to zero mean and unit variance, and reports each fit's
Hungarian accuracy and its mean log-likelihood per row in the units of
the standardised rows (the raw fit's plus the sum of the features' log
standard deviations: the same mixture, rescaled). It then starts EM on the
standardised rows from the raw fit's mixture, rescaled, and reports where
that ends. sklearn adds ``reg_covar`` (1e-6) to each covariance in the
units of the rows it is given, which weighs differently on raw features of
very different scales (and decides the likelihood where a covariance is
near singular, as with redundant features), so the raw fit's own
likelihood is not on the standardised fit's footing; the fit started from
it is: where it keeps the raw fit's accuracy, its likelihood against the
standardised fit's says whether the more accurate partition is also the
better fit of the model. Usage::

    python benchmarks/experiments/bench_raw_mixture.py [--seeds 12] [--datasets breast_cancer wine]

Writes ``benchmarks/experiments/results/raw_mixture.{json,md}``; each
finished data set is saved at once, and a rerun skips those already there
with the same seeds.
"""

import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # benchmarks/
from _common import random_rows, seed_table_main  # noqa: E402
from bench_input_mixture import DATASETS, make  # noqa: E402  (the same sets)

#: Mean log-likelihood per row by which one fit must exceed another to count
#: as the better fit (below it, the table's three decimals show a tie).
LOGLIK_TOL = 1e-3


def rescaled_start(mixture, mean, scale):
    """The parameters of ``mixture`` (fitted to raw rows) for the rows
    ``(X - mean) / scale``: weights, means and precisions."""
    means = (mixture.means_ - mean) / scale
    covariances = mixture.covariances_ / np.outer(scale, scale)
    return mixture.weights_, means, np.linalg.inv(covariances)


def one_seed(X, y, k, seed, quick):
    """Accuracy and mean log-likelihood (standardised units) of the raw and
    the standardised fit, and of EM on the standardised rows started from
    the raw fit."""
    from sklearn.mixture import GaussianMixture

    from skgmvae.metrics import clustering_accuracy

    X = np.asarray(X, dtype=float)
    mean, scale = X.mean(0), X.std(0)
    scale[scale == 0] = 1.0
    Z = (X - mean) / scale
    shift = np.log(scale).sum()
    raw = GaussianMixture(k, covariance_type="full", random_state=seed).fit(X)
    std = GaussianMixture(k, covariance_type="full", random_state=seed).fit(Z)
    weights, means, precisions = rescaled_start(raw, mean, scale)
    moved = GaussianMixture(
        k,
        covariance_type="full",
        random_state=seed,
        weights_init=weights,
        means_init=means,
        precisions_init=precisions,
    ).fit(Z)
    return {
        "raw": clustering_accuracy(y, raw.predict(X)),
        "raw_loglik": float(raw.score(X) + shift),
        "standardised": clustering_accuracy(y, std.predict(Z)),
        "standardised_loglik": float(std.score(Z)),
        "from_raw": clustering_accuracy(y, moved.predict(Z)),
        "from_raw_loglik": float(moved.score(Z)),
    }


def row_cells(rows):
    """The table's cells of one data set: mean (worst) accuracies and mean
    log-likelihoods, then the seeds where the raw fit is the more accurate
    and those of them where EM on the standardised rows started from it
    ends more than ``LOGLIK_TOL`` above the standardised fit's likelihood."""

    def acc(key):
        values = [r[key] for r in rows]
        return f"{np.mean(values):.3f} ({min(values):.3f})"

    def loglik(key):
        return f"{np.mean([r[key] for r in rows]):.3f}"

    ahead = [r for r in rows if r["raw"] > r["standardised"] + 1e-9]
    likelier = [
        r for r in ahead if r["from_raw_loglik"] > r["standardised_loglik"] + LOGLIK_TOL
    ]
    return [
        acc("raw"),
        loglik("raw_loglik"),
        acc("standardised"),
        loglik("standardised_loglik"),
        acc("from_raw"),
        loglik("from_raw_loglik"),
        f"{len(ahead)} of {len(rows)}",
        f"{len(likelier)} of {len(ahead)}",
    ]


def write_table(table, path):
    lines = [
        "Full-covariance GaussianMixture (sklearn's defaults) of the raw rows and "
        "of the standardised rows, and EM on the standardised rows started from "
        "the raw fit: Hungarian accuracy, mean (worst) over seeds, and mean "
        "log-likelihood per row in the units of the standardised rows (higher is "
        "a better fit; the raw fit's own includes sklearn's reg_covar in raw units, "
        "the fit started from it is on the standardised fit's footing); then the "
        "seeds on which the raw fit is more accurate than the standardised one, and "
        "how many of those, started from on the standardised rows, end more than "
        "0.001 above the standardised fit's likelihood.",
        "",
        "| data | seeds | raw | raw log-lik | standardised | standardised log-lik "
        "| from raw | from raw log-lik | raw more accurate | and a better fit |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for name, rows in table.items():
        lines.append(f"| {name} | {len(rows)} | " + " | ".join(row_cells(rows)) + " |")
    path.write_text("\n".join(lines) + "\n")


def summary(name, rows):
    """The line printed when ``name`` is done."""
    cells = row_cells(rows)
    return (
        f"{name}: raw {cells[0]} at {cells[1]}, standardised {cells[2]} at {cells[3]}, "
        f"from raw {cells[4]} at {cells[5]}"
    )


def main(argv=None):
    seed_table_main(
        argv, __doc__, "raw_mixture", 12, DATASETS, make, one_seed, summary,
        write_table, random_rows,
    )


if __name__ == "__main__":
    main()
