"""How often ``n_components="auto"`` finds the true number of clusters.

Data sets, each with its true number ``k`` of clusters:

- ``digits``: the classes ``0 .. k-1`` of scikit-learn's ``load_digits``,
  100 rows a class drawn by the seed, for k in 3, 5, 7;
- ``blobs``: ``make_blobs`` with ``k`` centres in 10 dimensions (200 rows a
  centre, standard deviation 1, centres drawn in [-10, 10]), for k = 2 .. 8;
- ``mnist`` (``--mnist``): all 70,000 MNIST images, k = 10,
  ``likelihood="bernoulli"``. With ``--count-only``, only the number found:
  the auto fit stops after its first ELBO epoch (``max_iter=1``), since the
  number is chosen before the ELBO phase (the same seed gives the same
  pretraining and the same count as a full fit), and the other fits are
  left out. ``--mnist-bgmm-seeds N`` counts the ``BayesianGaussianMixture``
  components (below) for the first ``N`` MNIST seeds only; the table gives
  each count over the seeds that have it.

For each data set and seed: one ``GMVAEClustering(n_components="auto")``
fit (defaults otherwise, ``max_components=20``), one fit with the true ``k``
for the accuracy and time it is compared with, and in the same run scikit-
learn's ``BayesianGaussianMixture`` (a Dirichlet-process prior on the
weights, 20 components at most, full covariances) on the standardised data
(on 50 principal components for MNIST) and on the GMVAE's embedding
(``transform``); a component counts when it is the most probable one of at
least one row.

Each finished cell is saved at once in ``benchmarks/results/auto_k.json``
and a rerun skips it; ``auto_k.md`` holds the table::

    python benchmarks/bench_auto_k.py --seeds 10 [--mnist --mnist-seeds 5]
"""

import argparse
import json
import time
import warnings
from pathlib import Path

import numpy as np
from _common import RESULTS, add_run_arguments, saved_cells
from sklearn.datasets import load_digits, make_blobs
from sklearn.mixture import BayesianGaussianMixture
from sklearn.preprocessing import StandardScaler

from skgmvae import GMVAEClustering
from skgmvae.metrics import clustering_accuracy

#: Upper bound of the number of clusters, for every method.
MAX_COMPONENTS = 20
DIGIT_KS = (3, 5, 7)
BLOB_KS = tuple(range(2, 9))


def digits(k, seed, per_class=100):
    X, y = load_digits(return_X_y=True)
    rng = np.random.default_rng(seed)
    rows = np.concatenate(
        [rng.choice(np.flatnonzero(y == c), per_class, replace=False) for c in range(k)]
    )
    return X[rows], y[rows]


def blobs(k, seed):
    return make_blobs(
        n_samples=200 * k,
        centers=k,
        n_features=10,
        cluster_std=1.0,
        center_box=(-10, 10),
        random_state=seed,
    )


def mnist(data_dir):
    from skgmvae.datasets import load_idx_dataset

    return load_idx_dataset(Path(data_dir) / "mnist")


def bayesian_count(X, seed):
    """Clusters a Dirichlet-process Gaussian mixture uses on ``X``."""
    model = BayesianGaussianMixture(
        n_components=MAX_COMPONENTS,
        covariance_type="full",
        weight_concentration_prior_type="dirichlet_process",
        max_iter=500,
        random_state=seed,
    )
    return int(np.unique(model.fit(X).predict(X)).size)


def run_cell(X, y, k, seed, params, bgmm=True):
    """Fits of one data set and seed; returns the cell's record (without
    the ``BayesianGaussianMixture`` counts unless ``bgmm``)."""
    tic = time.perf_counter()
    auto = GMVAEClustering("auto", max_components=MAX_COMPONENTS, random_state=seed, **params)
    auto.fit(X)
    auto_seconds = time.perf_counter() - tic
    tic = time.perf_counter()
    fixed = GMVAEClustering(k, random_state=seed, **params).fit(X)
    fixed_seconds = time.perf_counter() - tic
    cell = {
        "true_k": k,
        "auto_k": int(auto.n_components_),
        "auto_accuracy": float(clustering_accuracy(y, auto.labels_)),
        "auto_seconds": auto_seconds,
        "fixed_accuracy": float(clustering_accuracy(y, fixed.labels_)),
        "fixed_seconds": fixed_seconds,
    }
    if bgmm:
        cell["bgmm_raw_k"] = bayesian_count(raw_rows(X, seed, params), seed)
        cell["bgmm_embedding_k"] = bayesian_count(auto.transform(X), seed)
    return cell


def raw_rows(X, seed, params):
    """The rows the raw-data ``BayesianGaussianMixture`` sees: standardised,
    or for images (``likelihood="bernoulli"``) 50 principal components."""
    if params.get("likelihood") == "bernoulli":
        from sklearn.decomposition import PCA

        return PCA(50, random_state=seed).fit_transform(X)
    return StandardScaler().fit_transform(X)


def table(cells):
    """Markdown table: per data set, the seeds whose count is right for each
    method, the counts found, and the cost of the auto fit."""
    groups = {}
    for key, cell in cells.items():
        groups.setdefault(key.rsplit("/", 1)[0], []).append(cell)
    lines = [
        "| data | true K | seeds | auto: right (K found) | BGMM raw: right (K found) "
        "| BGMM on embedding: right (K found) | accuracy auto / fixed K "
        "| seconds auto / fixed K |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for name in sorted(groups, key=lambda n: (n.split("-")[0], int(n.split("-")[1]))):
        rows = groups[name]
        k = rows[0]["true_k"]

        def right(field):
            found = [r[field] for r in rows if field in r]
            if not found:
                return "—"
            hits = sum(f == k for f in found)
            return f"{hits}/{len(found)} ({', '.join(map(str, sorted(found)))})"

        acc = sec = "— (count only)"
        if all("fixed_accuracy" in r for r in rows):
            acc = " / ".join(
                f"{np.mean([r[f] for r in rows]):.3f}"
                for f in ("auto_accuracy", "fixed_accuracy")
            )
            sec = " / ".join(
                f"{np.mean([r[f] for r in rows]):.1f}"
                for f in ("auto_seconds", "fixed_seconds")
            )
        lines.append(
            f"| {name.split('-')[0]} | {k} | {len(rows)} | {right('auto_k')} "
            f"| {right('bgmm_raw_k')} | {right('bgmm_embedding_k')} "
            f"| {acc} | {sec} |"
        )
    return "\n".join(lines) + "\n"


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seeds", type=int, default=10)
    parser.add_argument("--mnist", action="store_true", help="also MNIST-70k, K = 10")
    parser.add_argument("--mnist-seeds", type=int, default=5)
    parser.add_argument(
        "--mnist-bgmm-seeds",
        type=int,
        default=None,
        help="MNIST: the BayesianGaussianMixture counts for the first this many "
        "seeds only (about 9 minutes a seed on two cores); default: every seed",
    )
    parser.add_argument(
        "--count-only",
        action="store_true",
        help="MNIST: record the number found only (see above)",
    )
    add_run_arguments(parser, overrides=False, out_dir=RESULTS)
    args = parser.parse_args(argv)
    path, cells = saved_cells(args.out_dir, "auto_k", [], args.quick)
    jobs = []
    seeds = range(1 if args.quick else args.seeds)
    for k in (3,) if args.quick else DIGIT_KS:
        jobs += [(f"digits-{k}/{s}", k, s, digits) for s in seeds]
    for k in (3,) if args.quick else BLOB_KS:
        jobs += [(f"blobs-{k}/{s}", k, s, blobs) for s in seeds]
    if args.mnist and not args.quick:
        jobs += [(f"mnist-10/{s}", 10, s, None) for s in range(args.mnist_seeds)]
    params = {"max_iter": 5, "pretrain_epochs": 20} if args.quick else {}
    for key, k, seed, load in jobs:
        if key in cells:
            continue
        if load is None and args.count_only:
            X, y = mnist(args.data_dir)
            model = GMVAEClustering(
                "auto", max_components=MAX_COMPONENTS, random_state=seed,
                likelihood="bernoulli", max_iter=1,
            )
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                model.fit(X)
            cells[key] = {"true_k": k, "auto_k": int(model.n_components_)}
            print(key, json.dumps(cells[key]), flush=True)
            path.write_text(json.dumps({"cells": cells}, indent=1))
            continue
        if load is None:
            X, y = mnist(args.data_dir)
            cell_params = {**params, "likelihood": "bernoulli"}
        else:
            X, y = load(k, seed)
            cell_params = params
        bgmm = load is not None or args.mnist_bgmm_seeds is None
        bgmm = bgmm or seed < args.mnist_bgmm_seeds
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            cells[key] = run_cell(X, y, k, seed, cell_params, bgmm)
        print(key, json.dumps(cells[key]), flush=True)
        path.write_text(json.dumps({"cells": cells}, indent=1))
    markdown = table(cells)
    path.with_suffix(".md").write_text(
        "Seeds whose fit found the true number of clusters, out of those run "
        f"(upper bound {MAX_COMPONENTS}), by `python benchmarks/bench_auto_k.py`:\n\n"
        + markdown
    )
    print(markdown)


if __name__ == "__main__":
    main()
