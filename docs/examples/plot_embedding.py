"""
==========================
The learned latent space
==========================

``transform`` returns the posterior mean of the latent variable ``x`` for each
row: the embedding in which the GMVAE's mixture lives. Here it is shown in
two dimensions, once coloured by the cluster the model assigns and once by
the true digit.
"""

# %%
# Fit and embed
# -------------
# ``latent_dim=10`` (the default) gives 10 columns. Training is shortened to
# 30 pretraining and 30 ELBO epochs, without early stopping
# (``n_iter_no_change=None``), so that the example runs in seconds.
import matplotlib.pyplot as plt
import numpy as np
from sklearn.datasets import load_digits
from sklearn.manifold import TSNE

from skgmvae import GMVAEClustering
from skgmvae.metrics import clustering_accuracy

X, y = load_digits(return_X_y=True)
model = GMVAEClustering(
    n_components=10,
    pretrain_epochs=30,
    max_iter=30,
    n_iter_no_change=None,
    random_state=0,
)
embedding = model.fit_transform(X)
print("embedding shape:", embedding.shape)
print(f"Hungarian accuracy of the clusters: {clustering_accuracy(y, model.labels_):.3f}")

# %%
# Two dimensions for the eye
# --------------------------
# The 10 latent dimensions are projected to 2 with t-SNE, which keeps
# neighbourhoods; distances between far-apart groups in the picture mean
# little.
xy = TSNE(n_components=2, init="pca", random_state=0).fit_transform(embedding)

fig, axes = plt.subplots(1, 2, figsize=(11, 5), layout="constrained")
for ax, colours, title in [
    (axes[0], model.labels_, "coloured by GMVAE cluster"),
    (axes[1], y, "coloured by true digit"),
]:
    ax.scatter(xy[:, 0], xy[:, 1], c=colours, cmap="tab10", s=6)
    for value in np.unique(colours):
        cx, cy = np.median(xy[colours == value], axis=0)
        ax.annotate(
            str(value), (cx, cy), ha="center", va="center", fontsize=11,
            weight="bold", bbox=dict(boxstyle="round", fc="white", alpha=0.7),
        )
    ax.set_title(f"t-SNE of transform(X), {title}")
    ax.set_xticks([])
    ax.set_yticks([])
plt.show()

# %%
# Cluster numbers are arbitrary, so the same group of points carries different
# numbers in the two panels. Where one digit splits over two clusters, or two
# digits share one, the panels disagree about the grouping itself.
