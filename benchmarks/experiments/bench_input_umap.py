"""A UMAP layout of the input rows, cut by a Gaussian mixture, beside the
GMVAE's fits of the suite.

The default start reads the pretrained embedding's neighbour graph (or the
standardised input rows' graph where they have no more features than the
embedding has dimensions). This experiment asks where a partition of the
input rows themselves would be the better start: for each data set of the
suite but the two sets of 70,000 images, seed by seed, the Hungarian
accuracy of ``skgmvae._init.umap_labels`` (a full-covariance
``GaussianMixture`` on a UMAP layout, ``min_dist=0``) of the rows scaled
to unit variance per feature, beside the GMVAE's mean (worst) accuracy and
the best baseline's mean over the suite's three seeds
(``benchmarks/results/suite.json``). Nothing is trained: this is a start's
partition alone, and the GMVAE would keep it only as a start. Needs
umap-learn (``pip install -e ".[bench]"``). Usage::

    python benchmarks/experiments/bench_input_umap.py [--seeds 3] [--datasets digits wine]

Writes ``benchmarks/experiments/results/input_umap.{json,md}``; each
finished data set is saved at once, and a rerun skips those already there
with the same seeds.
"""

import json
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # benchmarks/
from _common import DATA_DIR, mean_worst, random_rows, seed_table_main  # noqa: E402
from bench_suite import ALL, load  # noqa: E402

DATASETS = tuple(name for name in ALL if name not in ("mnist", "fashion-mnist"))
SUITE = Path(__file__).resolve().parents[1] / "results" / "suite.json"
BASELINES = ("KMeans", "KMeans-scaled", "GMM-full", "UMAP+GMM")


def make(name):
    """Rows and classes of ``name``."""
    return load(name, DATA_DIR)


def one_seed(X, y, k, seed, quick):
    """The accuracy of the UMAP partition of the standardised input rows
    (None where umap-learn is missing or the rows are too few)."""
    from skgmvae import _init
    from skgmvae.metrics import clustering_accuracy

    labels, _ = _init.umap_labels(_init.standardised(np.asarray(X, dtype=float)), k, seed)
    return {"accuracy": None if labels is None else clustering_accuracy(y, labels)}


def suite_cells(name, path=SUITE):
    """The suite's GMVAE accuracies of ``name`` over its seeds and the best
    baseline's name and mean accuracy; ``([], None, None)`` where the suite
    has not fitted it."""
    cells = json.loads(Path(path).read_text())["cells"] if Path(path).exists() else {}

    def seeds(model):
        return [cell["accuracy"] for key, cell in cells.items() if key.startswith(f"{name}/{model}/")]

    baselines = {model: np.mean(seeds(model)) for model in BASELINES if seeds(model)}
    if not baselines:
        return seeds("GMVAE"), None, None
    best = max(baselines, key=baselines.get)
    return seeds("GMVAE"), best, float(baselines[best])


def row_cells(name, rows, path=SUITE):
    """The table's cells of one data set after its name and seed count."""
    umap = mean_worst([r["accuracy"] for r in rows])
    gmvae, best, level = suite_cells(name, path)
    return [
        umap,
        mean_worst(gmvae) if gmvae else "-",
        "-" if best is None else f"{best} {level:.3f}",
    ]


def write_table(table, path):
    lines = [
        "A UMAP layout of the input rows (each feature scaled to unit variance) cut by a "
        "full-covariance Gaussian mixture (`skgmvae._init.umap_labels`), seed by seed, beside "
        "the suite's GMVAE and best baseline (`benchmarks/results/suite.json`, three seeds): "
        "Hungarian accuracy, mean (worst). The UMAP partition is a start's alone; nothing is "
        "trained.",
        "",
        "| data | seeds | UMAP of the input | GMVAE (suite) | best baseline (suite) |",
        "|---|---|---|---|---|",
    ]
    for name, rows in table.items():
        lines.append(f"| {name} | {len(rows)} | " + " | ".join(row_cells(name, rows)) + " |")
    path.write_text("\n".join(lines) + "\n")


def summary(name, rows):
    """The line printed when ``name`` is done."""
    umap, gmvae, best = row_cells(name, rows)
    return f"{name}: UMAP of the input {umap}, GMVAE {gmvae}, best baseline {best}"


def main(argv=None):
    seed_table_main(
        argv, __doc__, "input_umap", 3, DATASETS, make, one_seed, summary, write_table,
        random_rows,
    )


if __name__ == "__main__":
    main()
