"""Pictures of one GMVAEClustering fit on the MNIST test images.

Fits ``GMVAEClustering(n_components=10, likelihood="bernoulli",
random_state=0)`` (default parameters otherwise) on the 10,000 MNIST test
images read from the original IDX files (``--data-dir``, by default the data
directory, ``$SKGMVAE_DATA``), then writes to ``--out-dir``
(default ``benchmarks/results``):

- ``mnist_samples.png``: draws of ``sample()`` grouped by the component they
  come from, one row per component. The Bernoulli likelihood makes them
  binary pixel draws (the decoder's pixel means are not part of the public
  API). Each row is labelled with the number of images assigned to its
  component, the share of their commonest true digit, and the digit that the
  Hungarian assignment of clusters to classes matches it to.
- ``mnist_embedding.png``: the embedding (``transform``, the posterior mean of
  the latent) reduced to 2-D by t-SNE on a random subset of at most 3,000
  images (or PCA, ``--embedding pca``), coloured by cluster (in the colour of
  its matched digit) and, beside it, by the true digit.
- ``mnist_history.png``: the ELBO and its terms per epoch
  (``skgmvae.plot_history``).
- ``mnist_pictures.json``: Hungarian accuracy, NMI, ARI, fit seconds and the
  names of the three pictures.

Usage::

    python benchmarks/plot_mnist_pictures.py [--n-images 10000] [--embedding tsne]
    python benchmarks/plot_mnist_pictures.py --quick --out-dir /tmp/pictures
        # 500 images, a small network and a few epochs, well under a minute
"""

import argparse
import json
import math
import time
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
from _common import add_run_arguments
from scipy.optimize import linear_sum_assignment
from sklearn.decomposition import PCA
from sklearn.manifold import TSNE
from sklearn.metrics import adjusted_rand_score, normalized_mutual_info_score
from sklearn.metrics.cluster import contingency_matrix

from skgmvae import GMVAEClustering, plot_history
from skgmvae.datasets import load_idx_dataset
from skgmvae.metrics import clustering_accuracy

SIDE = 28  # MNIST images are 28 x 28
COLORS = plt.get_cmap("tab10").colors


def matched_digits(y, labels, n_components):
    """Digit matched to each cluster by the Hungarian assignment (-1 for a
    cluster left without a digit, or without images)."""
    classes = np.unique(y)
    counts = np.zeros((n_components, classes.size), dtype=np.int64)
    table = contingency_matrix(labels, y)  # rows: clusters present, cols: classes
    counts[np.unique(labels)] = table
    rows, cols = linear_sum_assignment(counts, maximize=True)
    match = np.full(n_components, -1)
    match[rows] = classes[cols]
    match[counts.sum(axis=1) == 0] = -1  # an empty cluster matches nothing
    return match


def samples_per_component(model, per_row):
    """``per_row`` draws of ``sample()`` for every component, grouped by the
    label that ``sample`` returns with them."""
    k = model.n_components
    n = per_row * k * 4
    while True:
        X, labels = model.sample(n)
        counts = np.bincount(labels, minlength=k)
        if counts.min() >= per_row:
            break
        n *= 2  # labels are uniform; a larger draw fills every row
    return np.stack([X[labels == c][:per_row] for c in range(k)]), counts


def commonest_digits(y, labels, n_components):
    """Commonest true digit of each cluster and its share (-1, 0 if empty)."""
    top, share = np.full(n_components, -1), np.zeros(n_components)
    for c in range(n_components):
        digits = y[labels == c]
        if digits.size:
            counts = np.bincount(digits)
            top[c], share[c] = counts.argmax(), counts.max() / digits.size
    return top, share


def plot_samples(groups, match, sizes, top, share, path):
    k, per_row = groups.shape[:2]
    pad = 2
    grid = np.ones((k * (SIDE + pad) - pad, per_row * (SIDE + pad) - pad))
    for r in range(k):
        for c in range(per_row):
            img = groups[r, c].reshape(SIDE, SIDE)
            y0, x0 = r * (SIDE + pad), c * (SIDE + pad)
            grid[y0 : y0 + SIDE, x0 : x0 + SIDE] = 1.0 - img  # dark ink
    fig, ax = plt.subplots(figsize=(0.62 * per_row, 0.62 * k))
    ax.imshow(grid, cmap="gray", vmin=0, vmax=1, interpolation="nearest")
    ax.set_xticks([])
    ax.set_yticks([r * (SIDE + pad) + SIDE / 2 for r in range(k)])
    names = []
    for r in range(k):
        name = f"comp. {r}: {sizes[r]} imgs"
        if sizes[r]:
            name += f", {share[r]:.0%} {top[r]}s"
        names.append(name + (f" → {match[r]}" if match[r] >= 0 else ""))
    ax.set_yticklabels(names, fontsize=9)
    ax.tick_params(length=0)
    for side in ax.spines.values():
        side.set_visible(False)
    ax.set_title(
        "sample(): binary Bernoulli draws, one row per mixture component\n"
        "(images assigned to the component, share of its commonest true digit\n"
        "→ digit matched to it by the Hungarian assignment)",
        fontsize=10,
    )
    fig.savefig(path, dpi=110, bbox_inches="tight", pad_inches=0.15)
    plt.close(fig)


def embed_2d(Z, method, random_state):
    if method == "pca":
        return PCA(n_components=2, random_state=random_state).fit_transform(Z)
    perplexity = min(30.0, max(5.0, (Z.shape[0] - 1) / 4))
    return TSNE(
        n_components=2, perplexity=perplexity, init="pca", random_state=random_state
    ).fit_transform(Z)


def plot_embedding(points, labels, y, match, method, accuracy, path):
    fig, axes = plt.subplots(1, 2, figsize=(13, 6.2), sharex=True, sharey=True)
    cluster_colour = [COLORS[d % 10] if d >= 0 else "0.5" for d in match]
    for c in np.unique(labels):
        sel = labels == c
        name = f"cluster {c}" + (f" → {match[c]}" if match[c] >= 0 else "")
        axes[0].scatter(*points[sel].T, s=4, color=cluster_colour[c], label=name)
    for d in np.unique(y):
        sel = y == d
        axes[1].scatter(*points[sel].T, s=4, color=COLORS[d % 10], label=str(d))
    axes[0].set_title(
        f"coloured by cluster, in its matched digit's colour (accuracy {accuracy:.3f})",
        fontsize=10,
    )
    axes[1].set_title("coloured by true digit", fontsize=10)
    for ax in axes:
        ax.legend(markerscale=3, fontsize=8, loc="best", framealpha=0.8)
        ax.set_xticks([])
        ax.set_yticks([])
    what = "t-SNE" if method == "tsne" else "PCA"
    fig.suptitle(
        f"GMVAE embedding (transform, {points.shape[0]} images) reduced to 2-D by {what}"
    )
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    add_run_arguments(parser, overrides=False)
    parser.add_argument("--n-images", type=int, default=None)
    parser.add_argument("--embedding", choices=["tsne", "pca"], default=None)
    parser.add_argument("--max-points", type=int, default=3000)
    parser.add_argument("--per-row", type=int, default=10)
    args = parser.parse_args(argv)

    params = {"n_components": 10, "likelihood": "bernoulli", "random_state": 0}
    n_images, method = 10000, "tsne"
    if args.quick:
        n_images, method = 500, "pca"
        params.update(
            hidden_layer_sizes=(64,), prior_hidden=16, pretrain_epochs=10, max_iter=8
        )
    n_images = args.n_images if args.n_images is not None else n_images
    method = args.embedding or method

    X, y = load_idx_dataset(Path(args.data_dir) / "mnist", subset="test")
    X, y = X[:n_images], y[:n_images]
    print(f"mnist test: {X.shape[0]} images; {params}")

    model = GMVAEClustering(**params)
    start = time.perf_counter()
    model.fit(X)
    fit_seconds = time.perf_counter() - start
    labels = model.labels_
    k = model.n_components
    accuracy = float(clustering_accuracy(y, labels))
    nmi = float(normalized_mutual_info_score(y, labels))
    ari = float(adjusted_rand_score(y, labels))
    match = matched_digits(y, labels, k)
    sizes = np.bincount(labels, minlength=k)
    top, share = commonest_digits(y, labels, k)
    print(
        f"accuracy {accuracy:.3f}  NMI {nmi:.3f}  ARI {ari:.3f}  "
        f"fit {fit_seconds:.1f} s ({model.n_iter_} ELBO epochs)"
    )

    out = Path(args.out_dir)
    out.mkdir(parents=True, exist_ok=True)
    files = {
        "samples": "mnist_samples.png",
        "embedding": "mnist_embedding.png",
        "history": "mnist_history.png",
    }

    groups, _ = samples_per_component(model, args.per_row)
    plot_samples(groups, match, sizes, top, share, out / files["samples"])

    rng = np.random.default_rng(0)
    keep = np.sort(rng.permutation(X.shape[0])[: args.max_points])
    start = time.perf_counter()
    points = embed_2d(model.transform(X[keep]), method, 0)
    embed_seconds = time.perf_counter() - start
    plot_embedding(
        points, labels[keep], y[keep], match, method, accuracy, out / files["embedding"]
    )

    ax = plot_history(model)
    ax.figure.savefig(out / files["history"], dpi=110)
    plt.close(ax.figure)

    payload = {
        "dataset": "mnist",
        "subset": "test",
        "n_images": int(X.shape[0]),
        "params": {
            k_: list(v) if isinstance(v, tuple) else v for k_, v in params.items()
        },
        "quick": bool(args.quick),
        "accuracy": accuracy,
        "nmi": nmi,
        "ari": ari,
        "fit_seconds": fit_seconds,
        "n_iter": int(model.n_iter_),
        "lower_bound": float(model.lower_bound_),
        "cluster_sizes": sizes.tolist(),
        "matched_digit": match.tolist(),
        "commonest_digit": top.tolist(),
        "commonest_digit_share": share.tolist(),
        "embedding": {
            "method": method,
            "n_points": int(keep.size),
            "seconds": embed_seconds,
        },
        "files": files,
    }
    path = out / "mnist_pictures.json"
    path.write_text(json.dumps(payload, indent=2))
    for name in files.values():
        print(f"wrote {out / name}")
    print(f"wrote {path}")
    if not all(math.isfinite(v) for v in (accuracy, nmi, ari, fit_seconds)):
        raise SystemExit("a reported number is not finite")
    return payload


if __name__ == "__main__":
    main()
