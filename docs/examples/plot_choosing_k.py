"""
===========================================
Choosing the number of clusters
===========================================

How many clusters are in the data? ``GMVAEClustering(n_components="auto")``
answers in one fit: after pretraining, it counts the groups of the
embedding's neighbour graph (the eigengap of its Laplacian) and trains that
many components. The second way is a search: ``n_components`` in
:class:`~sklearn.model_selection.GridSearchCV` with
:func:`skgmvae.model_selection.bic_score`, which subtracts from the held-out
bound the Bayesian information criterion's penalty for the latent mixture
(the default score, the mean held-out bound, tends to pick the largest value
of the grid: a model with more components describes the density at least as
well).

The data are the images of the digits 0, 1 and 2 from
:func:`sklearn.datasets.load_digits`: three classes, which neither way is
told about.
"""

# %%
# One fit: ``n_components="auto"``
# --------------------------------
# ``max_components`` bounds the count (20 by default); ``n_components_`` is
# the number found.
import warnings

import matplotlib.pyplot as plt
import numpy as np
from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import GridSearchCV, KFold

from skgmvae import GMVAEClustering
from skgmvae.metrics import clustering_accuracy
from skgmvae.model_selection import bic_score

X, y = load_digits(return_X_y=True)
X, y = X[y < 3], y[y < 3]

auto = GMVAEClustering(n_components="auto", random_state=1).fit(X)
print(f"K found by n_components='auto': {auto.n_components_}")
print(f"accuracy against the digits:    {clustering_accuracy(y, auto.labels_):.3f}")

# %%
# A search: one fit per candidate and fold
# ----------------------------------------
# ``scoring`` can hold several scorers; ``refit="bic"`` refits the candidate
# with the best BIC score on all rows. The fits are shortened
# (``max_iter=40``, ``pretrain_epochs=40``) to keep the example quick; the
# warnings that they stopped before converging are silenced.
grid = [2, 3, 4, 5, 6]


def mean_bound(estimator, X, y=None):
    return estimator.score(X)


search = GridSearchCV(
    GMVAEClustering(random_state=1, max_iter=40, pretrain_epochs=40),
    {"n_components": grid},
    scoring={"bic": bic_score, "bound": mean_bound},
    refit="bic",
    cv=KFold(2, shuffle=True, random_state=1),
)
with warnings.catch_warnings():
    warnings.simplefilter("ignore", ConvergenceWarning)
    search.fit(X)

bound = search.cv_results_["mean_test_bound"]
bic = search.cv_results_["mean_test_bic"]
print(f"K chosen by the BIC score:   {search.best_params_['n_components']}")
print(f"K chosen by the mean bound:  {grid[int(np.argmax(bound))]}")
accuracy = clustering_accuracy(y, search.best_estimator_.predict(X))
print(f"accuracy of the chosen model against the digits: {accuracy:.3f}")

# %%
# The two curves
# --------------
# The bound rises steeply from 2 to 3 clusters, then slowly: further
# components split digits into styles. The penalty grows linearly with K, so
# the penalised curve peaks where the steep part ends.
fig, ax = plt.subplots(figsize=(6, 3.5))
ax.plot(grid, bound - bound[0], "o-", label="mean held-out bound")
ax.plot(grid, bic - bic[0], "s-", label="bic_score")
ax.axvline(search.best_params_["n_components"], color="0.6", ls="--")
ax.set_xlabel("n_components")
ax.set_ylabel("change from K = 2 (nats per row)")
ax.legend()
fig.tight_layout()
plt.show()

# %%
# How often it works
# ------------------
# ``benchmarks/bench_auto_k.py`` counts how often ``n_components="auto"``
# finds the true number over 10 seeds for 3, 5 and 7 digit classes and for
# blobs; ``benchmarks/bench_select_k.py`` does the same for the searches. The
# user guide's page on choosing K gives their figures.
