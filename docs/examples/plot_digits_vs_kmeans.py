"""
=======================================
Clustering digits: GMVAE against KMeans
=======================================

Both clusterers go into the same scikit-learn
:class:`~sklearn.pipeline.Pipeline` and are scored against the true digit
classes with the metrics of :mod:`skgmvae.metrics` and :mod:`sklearn.metrics`.

The data are the 1,797 images of 8 x 8 pixels of
:func:`sklearn.datasets.load_digits`. Clusters carry no names, so a cluster
is matched to a digit before an accuracy can be computed:
:func:`~skgmvae.metrics.clustering_accuracy` uses the best one-to-one
matching (the Hungarian algorithm), :func:`~skgmvae.metrics.purity` lets
several clusters share a digit.
"""

# %%
# Two pipelines
# -------------
# The pixels range from 0 to 16; :class:`~sklearn.preprocessing.MinMaxScaler`
# brings every pixel to [0, 1]. Both clusterers keep their default settings,
# apart from the number of clusters and the seed.
import time

import matplotlib.pyplot as plt
import numpy as np
from sklearn.cluster import KMeans
from sklearn.datasets import load_digits
from sklearn.metrics import (
    adjusted_rand_score,
    confusion_matrix,
    normalized_mutual_info_score,
)
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import MinMaxScaler
from scipy.optimize import linear_sum_assignment

from skgmvae import GMVAEClustering
from skgmvae.metrics import clustering_accuracy, purity

X, y = load_digits(return_X_y=True)

pipelines = {
    "KMeans": make_pipeline(MinMaxScaler(), KMeans(n_clusters=10, random_state=0)),
    "GMVAEClustering": make_pipeline(
        MinMaxScaler(),
        GMVAEClustering(n_components=10, random_state=0),
    ),
}

labels = {}
for name, pipe in pipelines.items():
    tic = time.perf_counter()
    labels[name] = pipe.fit_predict(X)
    print(f"{name:16s} fitted in {time.perf_counter() - tic:.1f} s")

# %%
# Scores
# ------
# All four scores are 1 for a clustering that equals the digit classes up to
# renaming the clusters.
print(f"{'':16s} {'accuracy':>9s} {'purity':>7s} {'NMI':>6s} {'ARI':>6s}")
for name, pred in labels.items():
    print(
        f"{name:16s} {clustering_accuracy(y, pred):9.3f} {purity(y, pred):7.3f} "
        f"{normalized_mutual_info_score(y, pred):6.3f} "
        f"{adjusted_rand_score(y, pred):6.3f}"
    )

# %%
# Where the errors are
# --------------------
# Each matrix counts the images of each digit (rows) in each cluster
# (columns), with the clusters reordered by the Hungarian matching, so that a
# perfect clustering is diagonal.


def matched_confusion(y_true, y_pred):
    table = confusion_matrix(y_true, y_pred)
    rows, cols = linear_sum_assignment(table, maximize=True)
    return table[:, cols[np.argsort(rows)]]


fig, axes = plt.subplots(1, 2, figsize=(10, 4.6), layout="constrained")
for ax, (name, pred) in zip(axes, labels.items()):
    table = matched_confusion(y, pred)
    ax.imshow(table, cmap="Blues")
    for (i, j), count in np.ndenumerate(table):
        if count:
            colour = "white" if count > table.max() / 2 else "black"
            ax.text(j, i, count, ha="center", va="center", fontsize=7, color=colour)
    ax.set_title(f"{name}: accuracy {clustering_accuracy(y, pred):.3f}")
    ax.set_xlabel("cluster (matched to a digit)")
    ax.set_ylabel("true digit")
    ax.set_xticks(range(10))
    ax.set_yticks(range(10))
plt.show()

# %%
# The scores come from one seed and vary from seed to seed.
# ``benchmarks/bench_digits.py`` in the repository compares the methods over
# several seeds.
