"""
====================================
Drawing new digits from each cluster
====================================

The GMVAE is a generative model: after fitting, ``sample`` runs its
generative story (draw ``w``, pick a cluster, draw the latent ``x`` from that
cluster's Gaussian, decode) and returns new rows together with the cluster
each came from. Drawing many rows and sorting them by cluster shows what each
cluster has learned.
"""

# %%
# Fit on the digits
# -----------------
# Training is shortened to 30 pretraining and 30 ELBO epochs, without early
# stopping (``n_iter_no_change=None``), so that the example runs in seconds.
import matplotlib.pyplot as plt
import numpy as np
from sklearn.datasets import load_digits

from skgmvae import GMVAEClustering

X, y = load_digits(return_X_y=True)
model = GMVAEClustering(
    n_components=10,
    pretrain_epochs=30,
    max_iter=30,
    n_iter_no_change=None,
    random_state=0,
).fit(X)

# %%
# Draw rows and group them by cluster
# -----------------------------------
# Clusters are drawn uniformly, so 400 rows give about 40 per cluster; we show
# the first 8 of each. Each row of the grid is labelled with the digit most
# common among the training images assigned to that cluster.
new_X, new_labels = model.sample(400)
print("rows drawn per cluster:", np.bincount(new_labels, minlength=10))

n_show = 8
fig, axes = plt.subplots(10, n_show + 1, figsize=(7, 8.2))
for k in range(10):
    members = y[model.labels_ == k]
    digit = np.bincount(members).argmax() if len(members) else -1
    axes[k, 0].text(
        0.5, 0.5, f"cluster {k}\n(digit {digit})", ha="center", va="center",
        fontsize=9,
    )
    rows = new_X[new_labels == k][:n_show]
    for j in range(n_show):
        ax = axes[k, j + 1]
        if j < len(rows):
            # Gaussian draws can leave the pixel range [0, 16]: clip for display
            ax.imshow(rows[j].reshape(8, 8).clip(0, 16), cmap="gray_r", vmin=0, vmax=16)
for ax in axes.ravel():
    ax.set_axis_off()
fig.suptitle("Rows drawn by GMVAEClustering.sample, one cluster per line")
plt.show()

# %%
# The draws include the pixel noise of the Gaussian observation model (one
# variance per pixel), which is why they look grainier than the training
# images.
