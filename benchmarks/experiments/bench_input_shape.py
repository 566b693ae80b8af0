"""The covariance shape of the Gaussian start's mixture, chosen on held-out
rows, seed by seed.

Where the spectral start's clusters touch, the default starts from the
clusters of a ``GaussianMixture`` of the input rows
(``skgmvae._init.input_mixture``), whose covariance shape (full, tied or
diagonal) is the one whose mixture gives held-out rows the highest
log-likelihood over five folds (``skgmvae._init.held_out_shape``). For
each data set whose input has the rows for a full covariance per cluster
(``skgmvae._init.full_covariance_estimable``) this experiment reports, seed
by seed, the shape chosen, each shape's held-out log-likelihood per row
less the full shape's, the Hungarian accuracy of the mixture of each
shape, fitted exactly as the start fits it, the shape that BIC would choose
instead, and the accuracy of the mixture the start takes (``skgmvae._init.input_mixture_labels``, which refuses one with
a cluster flat on a feature or of no more rows than features). The model itself is not fitted:
this is the start's input alone. Data: every set of the suite but the
images (``benchmarks/bench_suite.py``). Usage::

    python benchmarks/experiments/bench_input_shape.py [--seeds 3] [--datasets wine counts_20d]

Writes ``benchmarks/experiments/results/input_shape.{json,md}``; each
finished data set is saved at once, and a rerun skips those already there
with the same seeds.
"""

import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # benchmarks/
from _common import DATA_DIR, random_rows, seed_table_main  # noqa: E402
from bench_suite import ALL, IMAGES, load  # noqa: E402

DATASETS = tuple(name for name in ALL if name not in IMAGES)


def make(name):
    """Rows and classes of ``name``."""
    return load(name, DATA_DIR)


def held_out(rows, k, seed):
    """Each shape's held-out log-likelihood per row
    (``skgmvae._init.held_out_scores``), by shape."""
    from skgmvae import _init

    n = min(len(rows), _init.INPUT_MIXTURE_SHAPE_ROWS)
    return {shape: total / n for shape, total in _init.held_out_scores(rows, k, seed).items()}


def bic_scores(rows, k, seed):
    """The Bayesian information criterion of each shape's mixture, fitted
    on all ``rows`` as the start fits it (lower is better)."""
    from sklearn.mixture import GaussianMixture

    from skgmvae import _init

    scores = {}
    for shape in _init.INPUT_MIXTURE_SHAPES:
        gmm = GaussianMixture(
            k, covariance_type=shape, reg_covar=_init.INPUT_MIXTURE_REG,
            n_init=_init.INPUT_MIXTURE_INIT, random_state=int(seed) % (2**32),
        )
        scores[shape] = float(gmm.fit(rows).bic(rows))
    return scores


def one_seed(X, y, k, seed, quick):
    """The shape chosen, each shape's held-out score less the full
    shape's, each shape's accuracy and that of the mixture the start takes
    (None where it refuses it)."""
    from skgmvae import _init
    from skgmvae.metrics import clustering_accuracy

    n, p = X.shape
    out = {"rule": bool(_init.full_covariance_estimable(n, p, k))}
    if not out["rule"] or n <= k:
        return out
    shapes = _init.INPUT_MIXTURE_SHAPES
    rows = _init.standardised(X)
    scores = held_out(rows, k, seed)
    # held_out_shape's rule on the same scores: the first shape of the highest
    out["chosen"] = max(shapes, key=scores.get)
    out["held_out"] = {s: scores[s] - scores["full"] for s in shapes}
    taken = _init.input_mixture_labels(X, k, seed)
    out["taken"] = None if taken is None else clustering_accuracy(y, taken)
    out["bic"] = bic_scores(rows, k, seed)
    out["accuracy"] = {}
    try:
        for shape in shapes:
            _init.INPUT_MIXTURE_SHAPES = (shape,)
            out["accuracy"][shape] = clustering_accuracy(y, _init.input_mixture(X, k, seed))
    finally:
        _init.INPUT_MIXTURE_SHAPES = shapes
    return out


def row_cells(rows):
    """The table's cells of one data set."""
    fitted = [r for r in rows if "chosen" in r]
    if not fitted:
        return ["no", "-", "-", "-", "-", "-", "-"]
    shapes = list(fitted[0]["accuracy"])
    chosen = [r["chosen"] for r in fitted]
    counts = ", ".join(f"{s} {chosen.count(s)}" for s in shapes if chosen.count(s))
    held = [f"{np.mean([r['held_out'][s] for r in fitted]):+.3f}" for s in shapes[1:]]
    acc = [f"{np.mean([r['accuracy'][s] for r in fitted]):.3f}" for s in shapes]
    picked = [r["accuracy"][r["chosen"]] for r in fitted]
    by_bic = [min(r["bic"], key=r["bic"].get) for r in fitted]
    bic = ", ".join(f"{s} {by_bic.count(s)}" for s in shapes if by_bic.count(s))
    bic_acc = np.mean([r["accuracy"][b] for r, b in zip(fitted, by_bic)])
    taken = [r["taken"] for r in fitted if r["taken"] is not None]
    refused = len(fitted) - len(taken)
    start = f"{np.mean(taken):.3f} ({min(taken):.3f})" if taken else "-"
    return [
        "yes", counts, *held, *acc, f"{np.mean(picked):.3f} ({min(picked):.3f})",
        f"{bic}: {bic_acc:.3f}",
        start + (f"; {refused} refused" if refused else ""),
    ]


def write_table(table, path):
    lines = [
        "The Gaussian start's covariance shape, chosen by the log-likelihood of "
        "held-out rows (five folds), on the suite's sets but the images: whether "
        "the input has the rows for a full covariance per cluster (else the "
        "start takes no mixture of the input), the shapes chosen over the "
        "seeds, the tied and diagonal shapes' held-out log-likelihood per row "
        "less the full shape's (mean over seeds), the Hungarian accuracy of "
        "the mixture of each shape (mean over seeds) and of the shape chosen, "
        "mean (worst), the shapes that BIC would choose and their accuracy "
        "(mean over seeds), and that of the mixture the \"gaussian\" start takes, "
        "mean (worst) over the seeds where it does not refuse it (a cluster "
        "flat on a feature or of no more rows than features; the start is "
        "then spectral or spherical). The \"auto\" start reaches it only where "
        "the spectral clusters touch in the graph; curved and separated "
        "groups keep the spectral start.",
        "",
        "| data | seeds | rule | chosen | tied - full | diag - full | full | tied "
        "| diag | chosen accuracy | BIC's choice | start takes |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for name, rows in table.items():
        cells = row_cells(rows)
        cells += ["-"] * (10 - len(cells))
        lines.append(f"| {name} | {len(rows)} | " + " | ".join(cells) + " |")
    path.write_text("\n".join(lines) + "\n")


def summary(name, rows):
    """The line printed when ``name`` is done."""
    cells = row_cells(rows)
    return f"{name}: rule {cells[0]}, chosen {cells[1]}, accuracy chosen {cells[-3]}, BIC {cells[-2]}, start takes {cells[-1]}"


def main(argv=None):
    seed_table_main(
        argv, __doc__, "input_shape", 3, DATASETS, make, one_seed, summary,
        write_table, random_rows,
    )


if __name__ == "__main__":
    main()
