"""The quality suite: GMVAEClustering with its defaults against KMeans,
KMeans on standardised data, a full GaussianMixture and UMAP + a full
GaussianMixture, on data nobody tuned for, in one run.

Data sets: ``iris``, ``wine``, ``breast_cancer`` (raw features), ``digits``
(``load_digits``), ``moons`` (2,000 rows, noise 0.06), ``circles`` (2,000
rows, noise 0.04, factor 0.5), ``aniso`` (three blobs sheared by a linear
map, 1,500 rows), ``varied`` (three blobs of standard deviations 1, 2.5 and
0.5, 1,500 rows), ``moons_small`` and ``circles_small`` (the same moons and
circles with 200 rows), ``moons_noisy`` (1,000 rows, noise 0.12) and
``circles_noisy`` (1,000 rows, noise 0.08, factor 0.5), ``classification``
(``make_classification``: three Gaussian classes in 8 features, 5 of them
informative, 1,000 rows), ``mnist`` and ``fashion-mnist`` (all 70,000 images, pixels
in [0, 1]; the GMVAE uses ``likelihood="bernoulli"`` there, as for any image
data), ``mnist-test`` and ``fashion-mnist-test`` (their 10,000 test images),
``mnist-3k`` and ``fashion-mnist-3k`` (3,000 of their 60,000 training images,
drawn at random with seed 0).

Six more sets (``HELD_OUT``) were added after every default had been set,
as a check on data no default was chosen on: ``blobs_many`` (20 blobs in
10 features, 2,000 rows), ``blobs_imbalanced`` (three blobs of 1,000, 200
and 50 rows), ``moons_noise_features`` (two moons, 1,000 rows, beside 8
features of Gaussian noise), ``quantiles`` (``make_gaussian_quantiles``:
three nested shells of one 2-D Gaussian, 1,000 rows, with no gap between
them), ``classification_50d`` (four ``make_classification`` classes in 50
features, 10 informative and 10 redundant, 1,500 rows) and
``blobs_scaled`` (five blobs in 3 features scaled by 1, 100 and 0.01).
Three curved sets (``CURVED``) joined later still, after the start and the
neighbour graph of the defaults had been settled: ``spirals_3`` and
``spirals_5`` (:func:`skgmvae.datasets.make_spiral`, the paper's toy data:
3 arms on 2,000 rows and 5 arms on 3,000, noise 0.05) and ``rings_3``
(three concentric rings of radius 1, 2 and 3, 600 rows each, noise 0.08).
Three more (``ROTATED``) hold curved groups in more features than the
latent space has dimensions: ``moons_50d``, ``circles_20d`` and
``spirals_30d`` are ``moons``, ``circles`` and ``spirals_3`` with Gaussian
noise of scale 0.05 in 48, 18 and 28 added features, all turned by one
random rotation (seed 0), so that every feature mixes the curve and the
noise. Three sets of few values per feature (``DISCRETE``) joined last:
``binary_30d`` (four groups of 300 rows in 30 binary features, each
feature 1 with a probability drawn for each group from 0.1 to 0.9),
``votes_16d`` (two groups of 270 and 165 rows in 16 binary features, each
1 with probability 0.8 or 0.2, drawn for each group) and ``counts_20d``
(four groups of 250 rows in 20 Poisson counts, each rate drawn for each
group from 0.5 to 4), all drawn with seed 0. Eleven more (``FRESH``) were
drawn as checks after the rules for binary and count features (the start's
last three rules came after most of them had been tried, and one, on the
sparser graph, was found on ``onehot_24d``): ``mixed_15d`` (three groups of 400
rows in 5 Gaussian features, centres drawn from N(0, 2), beside 10 binary
ones, each 1 with a probability drawn for each group from 0.15 to 0.85),
``binary_30d_b`` (``binary_30d`` drawn with seed 1), ``binary_40d_uneven``
(three groups of 600, 150 and 50 rows in 40 binary features, probabilities
from 0.1 to 0.9), ``ordinal_12d`` (four groups of 200 rows in 12 features of
values 1 to 5: a centre drawn from 1 to 5 for each group and feature, plus
noise of scale 0.8, rounded and clipped), ``onehot_24d`` (three groups of
300, 200 and 100 rows in six categorical features of four levels, one-hot
coded; each group's level odds drawn from a Dirichlet of 0.7),
``blobs_outliers`` (four blobs of 1,500 rows in 2 features beside 75 rows
drawn uniformly over their box, each given a random class), ``swiss_roll_halves``
(``make_swiss_roll``, 2,000 rows, noise 0.3, cut into two classes at the
median of its roll coordinate), ``grid_49`` (49 blobs of 40 rows, standard
deviation 0.5, on a 7 × 7 grid of spacing 3), ``aniso_20d`` (five groups of
400 rows in 20 features, each a Gaussian stretched along two random
directions), ``varied_10d`` (four blobs in 10 features of standard deviations
0.5, 1.5, 3 and 1, 1,500 rows) and ``moons_4`` (two pairs of moons, 1,000 and
600 rows, the second moved 4 to the right). K is the number of classes.
Every model gets the same K and seed.

The baselines, as a data scientist writes them:

- ``KMeans``: ``KMeans(K, n_init=10)`` on the raw features;
- ``KMeans-scaled``: the same after ``StandardScaler``;
- ``GMM-full``: ``GaussianMixture(K, covariance_type="full")`` on the raw
  features; on data with more than 100 features (images) a full covariance
  is out of reach, so it runs on the first 50 principal components;
- ``UMAP+GMM``: ``umap.UMAP(n_neighbors=20, min_dist=0,
  n_components=min(K, 10))`` of the standardised features, then
  ``GaussianMixture(K, covariance_type="full")`` (needs ``umap-learn``:
  ``pip install -e ".[bench]"``; left out with a note when it is missing).

Each finished fit is saved at once in
``benchmarks/results/suite[_<overrides>].json`` and a rerun skips it (a
GMVAE fit only while the GMVAE's parameters and the package's code are
those it ran with: a new default or a code change refits it), so a
long run can be stopped and resumed. ``key=value`` arguments override GMVAE
parameters. The Markdown table (``.md`` beside the JSON) gives Hungarian
accuracy as mean ± std over seeds with the worst seed, NMI, and fit seconds,
and for each data set the GMVAE's margin over the best baseline::

    python benchmarks/bench_suite.py --seeds 3 --datasets iris wine digits
    python benchmarks/bench_suite.py --seeds 5 --datasets mnist
"""

import argparse
import json
import time
import warnings
from pathlib import Path

import numpy as np
from _common import add_run_arguments, environment, gmvae_fingerprint, saved_cells

SMALL = (
    "iris",
    "wine",
    "breast_cancer",
    "digits",
    "moons",
    "circles",
    "aniso",
    "varied",
    "moons_small",
    "circles_small",
    "moons_noisy",
    "circles_noisy",
    "classification",
)
#: Sets added after the defaults were set (see the module docstring).
HELD_OUT = (
    "blobs_many",
    "blobs_imbalanced",
    "moons_noise_features",
    "quantiles",
    "classification_50d",
    "blobs_scaled",
)
#: Curved sets added after the start and the neighbour graph of the
#: defaults had been settled (see the module docstring).
CURVED = ("spirals_3", "spirals_5", "rings_3")
#: Curved sets turned into more features than the latent space has
#: dimensions (see the module docstring).
ROTATED = ("moons_50d", "circles_20d", "spirals_30d")
#: The set each of ``ROTATED`` turns, and its number of features.
ROTATED_FROM = {"moons_50d": ("moons", 50), "circles_20d": ("circles", 20),
                "spirals_30d": ("spirals_3", 30)}
#: Sets of binary or count features (see the module docstring).
DISCRETE = ("binary_30d", "votes_16d", "counts_20d")
#: Sets drawn as checks after the rules for binary and count features (see
#: the module docstring).
FRESH = (
    "mixed_15d",
    "binary_30d_b",
    "binary_40d_uneven",
    "ordinal_12d",
    "onehot_24d",
    "blobs_outliers",
    "swiss_roll_halves",
    "grid_49",
    "aniso_20d",
    "varied_10d",
    "moons_4",
)
#: All 70,000 images of each set, its 10,000 test images ("-test") and
#: 3,000 of its training images drawn at random ("-3k"); the default builds
#: the neighbour graph on the last two (up to 20,000 rows).
IMAGES = (
    "mnist",
    "fashion-mnist",
    "mnist-test",
    "fashion-mnist-test",
    "mnist-3k",
    "fashion-mnist-3k",
)
#: The part of the IDX files each suffix of an image set's name reads.
IMAGE_PARTS = {"": "all", "-test": "test", "-3k": "train"}
#: Rows of a "-3k" set, drawn without replacement with this seed.
SUBSET_ROWS = 3000
SUBSET_SEED = 0
#: Every set, in the order of the tables.
ALL = SMALL + HELD_OUT + CURVED + ROTATED + DISCRETE + FRESH + IMAGES
MODELS = ("GMVAE", "KMeans", "KMeans-scaled", "GMM-full", "UMAP+GMM")


def load(name, data_dir, quick=False):
    """``(X, y)`` of a data set of the suite, float64 (float32 for images)."""
    from sklearn import datasets

    if name in IMAGES:
        from skgmvae.datasets import load_idx_dataset

        folder = name.removesuffix("-test").removesuffix("-3k")
        X, y = load_idx_dataset(
            Path(data_dir) / folder, subset=IMAGE_PARTS[name[len(folder) :]]
        )
        if name.endswith("-3k"):
            rng = np.random.default_rng(SUBSET_SEED)
            rows = rng.choice(len(X), SUBSET_ROWS, replace=False)
            X, y = X[rows], y[rows]
        if quick:
            X, y = X[:1500], y[:1500]
        return X, y
    if name == "moons":
        return datasets.make_moons(2000, noise=0.06, random_state=0)
    if name == "circles":
        return datasets.make_circles(2000, noise=0.04, factor=0.5, random_state=0)
    if name == "aniso":
        X, y = datasets.make_blobs(1500, centers=3, random_state=170)
        return X @ np.array([[0.6, -0.6], [-0.4, 0.8]]), y
    if name == "varied":
        return datasets.make_blobs(1500, cluster_std=[1.0, 2.5, 0.5], random_state=170)
    if name == "moons_small":
        return datasets.make_moons(200, noise=0.06, random_state=0)
    if name == "circles_small":
        return datasets.make_circles(200, noise=0.04, factor=0.5, random_state=0)
    if name == "moons_noisy":
        return datasets.make_moons(1000, noise=0.12, random_state=0)
    if name == "circles_noisy":
        return datasets.make_circles(1000, noise=0.08, factor=0.5, random_state=0)
    if name == "classification":
        return datasets.make_classification(
            1000, n_features=8, n_informative=5, n_classes=3,
            n_clusters_per_class=1, random_state=0,
        )
    if name in HELD_OUT:
        return held_out(name)
    if name in CURVED:
        return curved(name)
    if name in ROTATED:
        source, n_features = ROTATED_FROM[name]
        return rotated(*load(source, data_dir), n_features)
    if name in DISCRETE:
        return discrete(name)
    if name in FRESH:
        return fresh(name)
    loader = getattr(datasets, f"load_{name}")
    return loader(return_X_y=True)


def curved(name):
    """``(X, y)`` of a set of ``CURVED``."""
    from skgmvae.datasets import make_spiral

    if name == "spirals_3":
        return make_spiral(2000, n_arms=3, random_state=0)
    if name == "spirals_5":
        return make_spiral(3000, n_arms=5, random_state=0)
    rng = np.random.default_rng(0)
    angles = rng.uniform(0, 2 * np.pi, (3, 600))
    radii = np.array([1.0, 2.0, 3.0])[:, None]
    X = np.stack([radii * np.cos(angles), radii * np.sin(angles)], axis=-1).reshape(-1, 2)
    return X + rng.normal(0, 0.08, X.shape), np.repeat(np.arange(3), 600)


def rotated(X, y, n_features, noise=0.05, seed=0):
    """``(X, y)`` with ``n_features - X.shape[1]`` features of Gaussian noise
    of scale ``noise`` added and every row turned by one random rotation of
    ``n_features`` dimensions (drawn with ``seed``)."""
    rng = np.random.default_rng(seed)
    turn, _ = np.linalg.qr(rng.standard_normal((n_features, n_features)))
    extra = rng.normal(0, noise, (len(X), n_features - X.shape[1]))
    return np.hstack([X, extra]) @ turn, y


def discrete(name, seed=0):
    """``(X, y)`` of a set of ``DISCRETE``, float64."""
    rng = np.random.default_rng(seed)
    if name == "binary_30d":
        y = np.repeat(np.arange(4), 300)
        odds = rng.uniform(0.1, 0.9, (4, 30))
        return (rng.uniform(size=(len(y), 30)) < odds[y]).astype(float), y
    if name == "votes_16d":
        y = np.repeat(np.arange(2), [270, 165])
        odds = np.where(rng.uniform(size=(2, 16)) < 0.5, 0.8, 0.2)
        return (rng.uniform(size=(len(y), 16)) < odds[y]).astype(float), y
    y = np.repeat(np.arange(4), 250)
    rates = rng.uniform(0.5, 4.0, (4, 20))
    return rng.poisson(rates[y]).astype(float), y


def fresh(name):
    """``(X, y)`` of a set of ``FRESH``, float64."""
    from sklearn import datasets

    rng = np.random.default_rng(0)
    if name == "binary_30d_b":
        return discrete("binary_30d", seed=1)
    if name == "mixed_15d":
        y = np.repeat(np.arange(3), 400)
        centres, odds = rng.normal(0, 2, (3, 5)), rng.uniform(0.15, 0.85, (3, 10))
        gaussian = centres[y] + rng.normal(size=(len(y), 5))
        return np.hstack([gaussian, rng.uniform(size=(len(y), 10)) < odds[y]]).astype(float), y
    if name == "binary_40d_uneven":
        y = np.repeat(np.arange(3), [600, 150, 50])
        odds = rng.uniform(0.1, 0.9, (3, 40))
        return (rng.uniform(size=(len(y), 40)) < odds[y]).astype(float), y
    if name == "ordinal_12d":
        y = np.repeat(np.arange(4), 200)
        centres = rng.uniform(1, 5, (4, 12))
        return np.clip(np.round(centres[y] + rng.normal(0, 0.8, (len(y), 12))), 1, 5), y
    if name == "onehot_24d":
        y = np.repeat(np.arange(3), [300, 200, 100])
        columns = []
        for _ in range(6):
            odds = rng.dirichlet(np.full(4, 0.7), size=3)
            levels = np.array([rng.choice(4, p=odds[group]) for group in y])
            columns.append(np.eye(4)[levels])
        return np.hstack(columns), y
    if name == "blobs_outliers":
        X, y = datasets.make_blobs(1500, centers=4, cluster_std=1.0, random_state=0)
        noise = rng.uniform(X.min(0), X.max(0), (75, 2))
        return np.vstack([X, noise]), np.r_[y, rng.integers(0, 4, 75)]
    if name == "swiss_roll_halves":
        X, t = datasets.make_swiss_roll(2000, noise=0.3, random_state=0)
        return X, (t > np.median(t)).astype(int)
    if name == "grid_49":
        centres = 3.0 * np.array([[i, j] for i in range(7) for j in range(7)])
        y = np.repeat(np.arange(49), 40)
        return centres[y] + rng.normal(0, 0.5, (len(y), 2)), y
    if name == "aniso_20d":
        parts = []
        for _ in range(5):
            stretch = rng.normal(size=(20, 20)) * np.r_[3.0, 1.5, np.full(18, 0.3)][:, None]
            centre = rng.normal(0, 4, 20)
            parts.append(centre + rng.normal(size=(400, 20)) @ stretch)
        return np.vstack(parts), np.repeat(np.arange(5), 400)
    if name == "varied_10d":
        return datasets.make_blobs(
            1500, centers=4, n_features=10, cluster_std=[0.5, 1.5, 3.0, 1.0], random_state=0
        )
    X1, y1 = datasets.make_moons(1000, noise=0.06, random_state=0)
    X2, y2 = datasets.make_moons(600, noise=0.06, random_state=1)
    return np.vstack([X1, X2 + [4.0, 0.0]]), np.r_[y1, y2 + 2]


def held_out(name):
    """``(X, y)`` of a set of ``HELD_OUT``."""
    from sklearn import datasets

    if name == "blobs_many":
        return datasets.make_blobs(2000, centers=20, n_features=10, random_state=0)
    if name == "blobs_imbalanced":
        centers = [[0, 0], [4, 0], [0, 4]]
        return datasets.make_blobs([1000, 200, 50], centers=centers, random_state=0)
    if name == "moons_noise_features":
        X, y = datasets.make_moons(1000, noise=0.06, random_state=0)
        noise = 0.5 * np.random.default_rng(0).standard_normal((len(X), 8))
        return np.hstack([X, noise]), y
    if name == "quantiles":
        return datasets.make_gaussian_quantiles(
            n_samples=1000, n_features=2, n_classes=3, random_state=0
        )
    if name == "classification_50d":
        return datasets.make_classification(
            1500, n_features=50, n_informative=10, n_redundant=10, n_classes=4,
            n_clusters_per_class=1, class_sep=2.0, random_state=0,
        )
    X, y = datasets.make_blobs(1000, centers=5, n_features=3, random_state=1)
    return X * np.array([1.0, 100.0, 0.01]), y


def make_model(name, k, seed, images, params):
    """The estimator (or pipeline) ``name`` for ``k`` clusters."""
    from sklearn.cluster import KMeans
    from sklearn.decomposition import PCA
    from sklearn.mixture import GaussianMixture
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    from skgmvae import GMVAEClustering

    if name == "GMVAE":
        extra = {"likelihood": "bernoulli"} if images else {}
        return GMVAEClustering(k, random_state=seed, **{**extra, **params})
    if name == "KMeans":
        return KMeans(k, n_init=10, random_state=seed)
    if name == "KMeans-scaled":
        return make_pipeline(StandardScaler(), KMeans(k, n_init=10, random_state=seed))
    gmm = GaussianMixture(k, covariance_type="full", random_state=seed)
    if name == "GMM-full":
        return make_pipeline(PCA(50, random_state=seed), gmm) if images else gmm
    import umap

    embed = umap.UMAP(
        n_neighbors=20, min_dist=0.0, n_components=min(k, 10), random_state=seed
    )
    return make_pipeline(StandardScaler(), embed, gmm)


def fit_and_score(model, X, y):
    """Hungarian accuracy, NMI, ARI and fit seconds of one fit."""
    from sklearn.metrics import adjusted_rand_score, normalized_mutual_info_score

    from skgmvae.metrics import clustering_accuracy

    tic = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        labels = model.fit_predict(X)
    seconds = time.perf_counter() - tic
    return {
        "accuracy": float(clustering_accuracy(y, labels)),
        "nmi": float(normalized_mutual_info_score(y, labels)),
        "ari": float(adjusted_rand_score(y, labels)),
        "fit_seconds": seconds,
    }


def summary(values):
    values = np.asarray(values, dtype=float)
    # rounded so that equal seeds show a mean equal to the worst seed
    return round(float(values.mean()), 12), values.std(), values.min()


def markdown(cells, datasets, models, seeds, current=None):
    """Per data set: each model's accuracy (worst seed), NMI and seconds,
    and the GMVAE's margin over the best baseline's mean accuracy. GMVAE
    cells fitted with another fingerprint than ``current`` (another
    version of the package or other parameters) are marked †."""
    lines = [
        "Hungarian accuracy: mean ± std over seeds (worst seed); NMI mean; fit "
        "seconds mean. Margin: GMVAE mean minus the best baseline mean. "
        "†: GMVAE fits of an earlier version of the package, not yet refitted.",
        "",
        "| data | " + " | ".join(models) + " | margin |",
        "|---|" + "---|" * (len(models) + 1),
    ]
    for data in datasets:
        row, means = [data], {}
        for model in models:
            runs = [cells.get(f"{data}/{model}/{s}") for s in range(seeds)]
            runs = [r for r in runs if r is not None]
            if not runs:
                row.append("")
                continue
            mean, std, worst = summary([r["accuracy"] for r in runs])
            nmi = np.mean([r["nmi"] for r in runs])
            secs = np.mean([r["fit_seconds"] for r in runs])
            means[model] = mean
            stale = current is not None and any(
                r.get("gmvae", current) != current for r in runs
            )
            row.append(
                f"{mean:.3f} ± {std:.3f} ({worst:.3f}); NMI {nmi:.3f}; "
                f"{secs:.1f}s; n={len(runs)}" + (" †" if stale else "")
            )
        baselines = [v for m, v in means.items() if m != "GMVAE"]
        margin = ""
        if "GMVAE" in means and baselines:
            margin = f"{means['GMVAE'] - max(baselines):+.3f}"
        lines.append("| " + " | ".join(row + [margin]) + " |")
    shown = [f"{d}/GMVAE/{s}" for d in datasets for s in range(seeds)]
    lines += ["", environments(cells[k] for k in shown if k in cells)]
    return "\n".join(lines) + "\n"


def environments(runs):
    """One line naming the machines and library versions that the GMVAE
    ``runs`` ran on (:func:`_common.environment`), with how many ran on
    each: the same seed can give another fit elsewhere."""
    counts = {}
    for run in runs:
        where = run.get("environment", "not recorded")
        counts[where] = counts.get(where, 0) + 1
    ordered = sorted(counts.items(), key=lambda item: -item[1])
    return "GMVAE fits ran on: " + "; ".join(f"{env} ({n} fits)" for env, n in ordered) + "."


def available_models(models):
    """``models`` less UMAP+GMM when umap-learn is missing (with a note)."""
    if "UMAP+GMM" not in models:
        return list(models)
    try:
        import umap  # noqa: F401
    except ImportError:
        print("note: umap-learn is not installed; UMAP+GMM left out")
        return [m for m in models if m != "UMAP+GMM"]
    return list(models)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument(
        "--datasets", nargs="+", default=list(ALL), choices=ALL,
    )
    parser.add_argument("--models", nargs="+", default=list(MODELS), choices=MODELS)
    add_run_arguments(parser)
    args = parser.parse_args(argv)
    params = dict(args.overrides)
    if args.quick:
        params = {"max_iter": 2, "pretrain_epochs": 2, **params}
    models = available_models(args.models)
    path, cells = saved_cells(args.out_dir, "suite", args.overrides, args.quick)
    current = gmvae_fingerprint(make_model("GMVAE", 2, 0, False, params))
    here = environment()
    for data in args.datasets:
        X, y = load(data, args.data_dir, args.quick)
        k = len(np.unique(y))
        for model in models:
            for seed in range(args.seeds):
                key = f"{data}/{model}/{seed}"
                if key in cells and (
                    model != "GMVAE" or cells[key].get("gmvae") == current
                ):
                    continue
                est = make_model(model, k, seed, data in IMAGES, params)
                cells[key] = fit_and_score(est, X, y)
                if model == "GMVAE":
                    cells[key]["gmvae"] = current
                cells[key]["environment"] = here
                done = cells[key]
                print(
                    f"{key}: accuracy {done['accuracy']:.3f} "
                    f"({done['fit_seconds']:.1f}s)",
                    flush=True,
                )
                payload = {"params": params, "cells": cells}
                path.write_text(json.dumps(payload, indent=2))
    present = {key.split("/")[0] for key in cells} | set(args.datasets)
    shown = [d for d in ALL if d in present]
    models = [m for m in MODELS if m in models or any(f"/{m}/" in c for c in cells)]
    table = markdown(cells, shown, models, args.seeds, current)
    path.with_suffix(".md").write_text(table)
    print(table)
    return cells


if __name__ == "__main__":
    main()
