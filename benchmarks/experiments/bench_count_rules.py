"""Counting clusters on large data: the eigengap against the modularity of
consensus cuts.

For every data set and seed ``GMVAEClustering(n_components="auto")``
(``max_components=20``, ``likelihood="bernoulli"`` for the images, defaults
otherwise) pretrains its autoencoder, counts the clusters and stops before
its start (``fit``: the number it took). On the pretrained embedding, with
the fit's draws, the script records what each rule counts:

- ``eigengap``: :func:`skgmvae._init.eigengap_components`, with the ratio of
  its largest jump to the next and the leak of the consensus cut into that
  many clusters (the share of the neighbour graph's weight between them);
- ``modularity``: :func:`skgmvae._init.modularity_components`;
- ``rule``: :func:`skgmvae._init.count_components`, what the fit takes (on
  more than ``MODULARITY_COUNT_MIN_ROWS`` rows the modularity where the
  eigengap's ratio is under ``EIGENGAP_DECISIVE_RATIO`` and its cut leaks
  ``TOUCHING_LEAK`` or more).

Data: all 70,000 images of MNIST and Fashion-MNIST (``--seeds``, default 5),
and 30,000-row synthetic sets (``--synthetic-seeds``, default 2): blobs with
2, 3, 6, 9 and 12 centres in 10 dimensions, four blobs of 16,000, 8,000,
4,000 and 2,000 rows in 6, ``make_classification`` with 4 and 8 classes and
two moons. Cells are saved as they finish (a rerun resumes) to
``benchmarks/experiments/results/count_rules.json``, the table to
``count_rules.md``.

Usage::

    python benchmarks/experiments/bench_count_rules.py [--seeds 5] [--synthetic-seeds 2]
    python benchmarks/experiments/bench_count_rules.py --quick   # 1,500 images, one blob set
"""

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # benchmarks/: _common
from _common import EXPERIMENT_RESULTS, add_run_arguments, saved_cells

MAX_COMPONENTS = 20
SYNTHETIC_ROWS = 30_000
IMAGES = ("mnist", "fashion-mnist")
SYNTHETIC = (
    "blobs-2", "blobs-3", "blobs-6", "blobs-9", "blobs-12",
    "unequal-blobs-4", "classification-4", "classification-8", "moons-2",
)


def synthetic(name, seed, n_rows):
    """``(X, y)`` of a synthetic set of the table."""
    from sklearn import datasets

    kind, k = name.rsplit("-", 1)
    k = int(k)
    if kind == "blobs":
        return datasets.make_blobs(
            n_rows, centers=k, n_features=10, center_box=(-10, 10), random_state=seed
        )
    if kind == "unequal-blobs":
        sizes = [n_rows * 8 // 15, n_rows * 4 // 15, n_rows * 2 // 15, n_rows // 15]
        return datasets.make_blobs(sizes, n_features=6, random_state=seed)
    if kind == "classification":
        return datasets.make_classification(
            n_rows, n_features=20, n_informative=8, n_classes=k,
            n_clusters_per_class=1, class_sep=2.5, random_state=seed,
        )
    return datasets.make_moons(n_rows, noise=0.06, random_state=seed)


def load(name, seed, data_dir, quick):
    """``(X, y, estimator parameters)`` of ``name`` for ``seed``."""
    if name in IMAGES:
        from skgmvae.datasets import load_idx_dataset

        X, y = load_idx_dataset(Path(data_dir) / name, subset="all")
        if quick:
            X, y = X[:1500], y[:1500]
        return X, y, {"likelihood": "bernoulli"}
    X, y = synthetic(name, seed, 3000 if quick else SYNTHETIC_ROWS)
    return X, y, {}


class _Counted(Exception):
    """Raised in place of the mixture's start: the embedding, the number of
    components the fit counted and the run's seed."""

    def __init__(self, embedding, n_components, seed):
        super().__init__()
        self.found = (np.asarray(embedding, dtype=np.float64), int(n_components), seed)


def auto_embedding(X, seed, params):
    """The pretrained embedding of ``GMVAEClustering(n_components="auto",
    max_components=MAX_COMPONENTS, random_state=seed, **params)``, the
    number it counted and the seed of its run (the count's draws come from
    it), and the seconds until then."""
    import warnings

    from skgmvae import GMVAEClustering

    def stop(embedding, n_components, seed):
        raise _Counted(embedding, n_components, seed)

    tic = time.perf_counter()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            GMVAEClustering(
                "auto", max_components=MAX_COMPONENTS, random_state=seed,
                init_params=stop, **params,
            ).fit(X)
    except _Counted as done:
        return (*done.found, time.perf_counter() - tic)
    raise RuntimeError("the fit did not reach the start of the mixture")


def counts(embedding, seed):
    """The counts of every rule on one embedding."""
    from skgmvae import _init

    found, values = _init.eigengap_components(embedding, MAX_COMPONENTS, seed)
    by_modularity, scores, leaks = _init.modularity_components(
        embedding, MAX_COMPONENTS, seed
    )
    return {
        "eigengap": int(found),
        "ratio": float(_init.eigengap_ratio(values, MAX_COMPONENTS)),
        "leak": float(leaks[found - 2]),
        "modularity": int(by_modularity),
        "modularity_scores": [round(float(v), 4) for v in scores],
        "rule": int(_init.count_components(embedding, MAX_COMPONENTS, seed)),
    }


def markdown(cells, names):
    """A row per data set: the counts of each rule over its seeds."""
    lines = [
        "| data | true K | seeds | eigengap: right (K) | largest jump / next | "
        "leak of its cut | modularity: right (K) | fit: right (K) |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for name in names:
        rows = [c for key, c in sorted(cells.items()) if key.split("/")[0] == name]
        if not rows:
            continue
        k = rows[0]["true_k"]

        def right(field):
            found = [r[field] for r in rows]
            hits = sum(f == k for f in found)
            return f"{hits}/{len(rows)} ({', '.join(map(str, found))})"

        ratios = ", ".join(f"{r['ratio']:.2f}" for r in rows)
        leaks = ", ".join(f"{r['leak']:.3f}" for r in rows)
        lines.append(
            f"| {name} | {k} | {len(rows)} | {right('eigengap')} | {ratios} | "
            f"{leaks} | {right('modularity')} | {right('fit')} |"
        )
    return "\n".join(lines) + "\n"


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--synthetic-seeds", type=int, default=2)
    add_run_arguments(parser, overrides=False, out_dir=EXPERIMENT_RESULTS)
    args = parser.parse_args(argv)
    path, cells = saved_cells(args.out_dir, "count_rules", [], args.quick)
    names = ("mnist", "blobs-3") if args.quick else IMAGES + SYNTHETIC
    for name in names:
        n_seeds = args.seeds if name in IMAGES else args.synthetic_seeds
        for seed in range(1 if args.quick else n_seeds):
            key = f"{name}/{seed}"
            if key in cells:
                continue
            X, y, params = load(name, seed, args.data_dir, args.quick)
            k = int(np.unique(y).size)
            embedding, fit_count, run_seed, seconds = auto_embedding(X, seed, params)
            tic = time.perf_counter()
            cells[key] = {"true_k": k, "fit": fit_count, **counts(embedding, run_seed)}
            cells[key]["seconds"] = {
                "pretrain_and_count": seconds, "counts": time.perf_counter() - tic
            }
            print(key, json.dumps(cells[key]), flush=True)
            path.write_text(json.dumps({"cells": cells}, indent=1))
    table = markdown(cells, names)
    path.with_suffix(".md").write_text(
        "Clusters counted on pretrained embeddings (upper bound "
        f"{MAX_COMPONENTS}), by `python benchmarks/experiments/bench_count_rules.py`:\n\n"
        + table
    )
    print(table)


if __name__ == "__main__":
    main()
