"""Choosing the number of clusters.

The mean ELBO, which :meth:`GMVAEClustering.score` returns, keeps growing
with ``n_components``: more components describe the data at least as well, so
a search that maximises it tends to pick the largest ``K`` of its grid.
:func:`stability_score` scores a clustering instead by how well it is
reproduced by an independent fit on other data; :func:`bic_score` subtracts
from the held-out bound a Bayesian information criterion penalty for the
mixture's parameters. Both can be passed as ``scoring`` to
:class:`~sklearn.model_selection.GridSearchCV`.
"""

import numbers

import numpy as np
from sklearn.base import clone
from sklearn.metrics import adjusted_rand_score
from sklearn.utils.validation import _num_samples, check_is_fitted


def _other_seed(random_state, n_refits):
    """Seeds for the refits: derived from an int ``random_state`` so that a
    search is reproducible, fresh ones otherwise."""
    if isinstance(random_state, numbers.Integral):
        base = int(random_state)
        return [(base + 7919 * (i + 1)) % (2**32) for i in range(n_refits)]
    if random_state is None:
        rng = np.random.default_rng()
        return [int(rng.integers(2**32 - 1)) for _ in range(n_refits)]
    # a RandomState instance: draw from it, as scikit-learn estimators do
    return [int(random_state.randint(2**32 - 1)) for _ in range(n_refits)]


def bic_score(estimator, X, y=None):
    """Held-out bound per row minus a BIC penalty for the mixture.

    ``estimator.score(X) - p log(n) / (2 n)`` with ``n`` the rows of ``X``
    and ``p = 2 * n_components * latent_dim``: the means and variances of
    ``n_components`` diagonal Gaussians in the latent space, the parameters
    that a diagonal :class:`~sklearn.mixture.GaussianMixture` would count
    (the GMVAE's cluster weights are fixed, uniform). This is minus the
    Bayesian information criterion of the latent mixture, divided by
    ``2 n``; higher is better. The networks' weights are not counted: they
    are the same in number for every ``n_components``, so they do not
    change which ``K`` wins, but they do when other parameters change.
    **Compare candidates that differ in** ``n_components`` **only.**

    The mean bound alone keeps growing with ``n_components`` (more
    components always describe a density at least as well); the gain from
    a component that splits a real cluster is small and is outweighed by
    the penalty, while the gain from separating two real clusters is not.

    Parameters
    ----------
    estimator : fitted GMVAEClustering
    X : array-like of shape (n_samples, n_features)
        Rows to score, typically a held-out fold.
    y : ignored
        Present for the scorer signature ``scoring(estimator, X, y)``.

    Returns
    -------
    score : float
        Penalised mean log-likelihood per row.

    Examples
    --------
    >>> from sklearn.model_selection import GridSearchCV
    >>> from skgmvae import GMVAEClustering
    >>> from skgmvae.model_selection import bic_score
    >>> search = GridSearchCV(
    ...     GMVAEClustering(random_state=0),
    ...     {"n_components": range(2, 11)},
    ...     scoring=bic_score,
    ...     cv=2,
    ... )  # doctest: +SKIP
    """
    check_is_fitted(estimator)
    # in a pipeline, the mixture is the last step's
    final = estimator.steps[-1][1] if hasattr(estimator, "steps") else estimator
    params = final.get_params()
    if "latent_dim" not in params or "n_components" not in params:
        raise TypeError(
            "bic_score counts the parameters of a GMVAEClustering's latent "
            f"mixture; {type(estimator).__name__} has no latent_dim or "
            "n_components. Use stability_score for other clusterers."
        )
    n = _num_samples(X)
    if n < 2:
        raise ValueError(f"bic_score needs at least 2 rows; got {n}.")
    p = 2 * params["n_components"] * params["latent_dim"]
    return float(estimator.score(X) - p * np.log(n) / (2 * n))


def stability_score(estimator, X, y=None, *, n_refits=1):
    """Agreement between a fitted clustering and a refit on held-out rows.

    A clone of ``estimator`` with the same parameters but another random
    seed is fitted on ``X``, and the adjusted Rand index between its labels
    and ``estimator.predict(X)`` is returned. Inside
    :class:`~sklearn.model_selection.GridSearchCV`, ``estimator`` was fitted
    on the training folds and ``X`` is the held-out fold, so the score asks:
    do two models trained on different rows, from different seeds, split the
    same rows the same way? More clusters than the data support split
    groups at places that change from fit to fit, while the supported number
    is reproduced (stability-based validation, Ben-Hur, Elisseeff and Guyon
    2002; Lange, Roth, Braun and Buhmann 2004; prediction strength,
    Tibshirani and Walther 2005). Fewer clusters can be reproduced as well,
    when groups merge the same way in every fit: :func:`largest_within`
    then picks the largest of the equally stable values. The adjusted Rand
    index is 0 for chance agreement whatever the number of clusters. For
    :class:`~skgmvae.GMVAEClustering`, whose fits vary from seed to seed,
    the user guide (Choosing the number of clusters) compares this score
    with :func:`bic_score`.

    The score costs one extra fit per call (``n_refits`` fits) on the rows
    of ``X``, which should therefore hold enough rows to fit the model:
    use few folds (``cv=2`` or ``3``).

    Parameters
    ----------
    estimator : fitted clustering estimator
        Any estimator with ``fit``, ``predict`` and a ``random_state``
        parameter (also as a step of a pipeline), such as
        :class:`~sklearn.cluster.KMeans` or
        :class:`~skgmvae.GMVAEClustering`.
    X : array-like of shape (n_samples, n_features)
        Held-out rows.
    y : ignored
        Present for the scorer signature ``scoring(estimator, X, y)``.
    n_refits : int, default=1
        Independent refits to average over.

    Returns
    -------
    score : float
        Mean adjusted Rand index, at most 1; higher is more stable.

    Examples
    --------
    >>> from sklearn.model_selection import GridSearchCV
    >>> from skgmvae import GMVAEClustering
    >>> from skgmvae.model_selection import stability_score
    >>> search = GridSearchCV(
    ...     GMVAEClustering(random_state=0),
    ...     {"n_components": range(2, 11)},
    ...     scoring=stability_score,
    ...     cv=3,
    ... )  # doctest: +SKIP
    """
    check_is_fitted(estimator)
    if not isinstance(n_refits, numbers.Integral) or n_refits < 1:
        raise ValueError(f"n_refits must be an int >= 1; got {n_refits!r}.")
    params = estimator.get_params()

    def named(name):
        # the estimator's own parameter, or that of any pipeline step
        return [k for k in params if k == name or k.endswith("__" + name)]

    seeds = named("random_state")
    if not seeds:
        raise TypeError(
            f"{type(estimator).__name__} has no random_state parameter, so it "
            "cannot be refitted from another seed; stability_score needs one."
        )
    labels = estimator.predict(X)
    scores = []
    for seed in _other_seed(params[seeds[-1]], n_refits):
        other = clone(estimator).set_params(**dict.fromkeys(seeds, seed))
        other.set_params(**dict.fromkeys(named("warm_start"), False))
        # quiet, keeping the type (a Pipeline's verbose is a bool)
        other.set_params(
            **{k: False if isinstance(params[k], bool) else 0 for k in named("verbose")}
        )
        scores.append(adjusted_rand_score(labels, other.fit(X).predict(X)))
    return float(np.mean(scores))


def largest_within(tolerance=0.05, param="n_components"):
    """Selection rule for ``GridSearchCV(refit=...)``: the largest number of
    clusters whose mean score is within ``tolerance`` of the best.

    With :func:`stability_score`, fewer clusters than the data holds can be as
    reproducible as the right number (two well-separated groups merged the
    same way in every fit), while more clusters than it holds are not. The
    supported number of clusters is therefore the largest one that is
    (nearly) as stable as the most stable one, not the most stable one
    itself, which ties would resolve towards the smallest value of the grid
    (the same reading as prediction strength: the largest ``K`` above a
    threshold). Pass the returned callable as ``refit``; the search then
    refits the chosen setting on all rows and ``best_index_`` and
    ``best_params_`` point to it.

    Parameters
    ----------
    tolerance : float, default=0.05
        How far below the best mean test score a setting may be and still be
        chosen. Between 0 (the best score only, largest ``K`` among ties) and
        the spread of the scores.
    param : str, default="n_components"
        Name of the searched parameter that counts clusters (without a
        pipeline step prefix: ``"n_components"`` also matches
        ``"gmvae__n_components"``).

    Returns
    -------
    rule : callable
        ``rule(cv_results) -> int``, the index of the chosen candidate.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.cluster import KMeans
    >>> from sklearn.datasets import make_blobs
    >>> from sklearn.model_selection import GridSearchCV
    >>> from skgmvae.model_selection import largest_within, stability_score
    >>> X, _ = make_blobs(300, centers=4, cluster_std=0.5, random_state=0)
    >>> search = GridSearchCV(
    ...     KMeans(n_init=1, random_state=0),
    ...     {"n_clusters": [2, 3, 4, 5, 6]},
    ...     scoring=stability_score,
    ...     refit=largest_within(0.05, "n_clusters"),
    ...     cv=2,
    ... ).fit(X)
    >>> search.best_params_
    {'n_clusters': 4}
    """
    if not isinstance(tolerance, numbers.Real) or not tolerance >= 0:
        raise ValueError(f"tolerance must be a number >= 0; got {tolerance!r}.")

    def rule(cv_results):
        if "mean_test_score" not in cv_results:
            raise ValueError(
                "largest_within works with one scoring function; with several, "
                "pass refit=<the name of the one to select on> instead."
            )
        scores = np.asarray(cv_results["mean_test_score"], dtype=float)
        keys = [k for k in cv_results["params"][0] if k.split("__")[-1] == param]
        if not keys:
            raise ValueError(
                f"the search has no parameter named {param!r}; pass "
                "largest_within(param=<the name of the parameter that counts "
                "clusters>)."
            )
        counts = np.array([p[keys[0]] for p in cv_results["params"]], dtype=float)
        ok = np.isfinite(scores)
        if not ok.any():
            raise ValueError("every candidate's score is NaN: all fits failed.")
        near = ok & (scores >= np.nanmax(scores) - tolerance)
        return int(np.flatnonzero(near)[np.argmax(counts[near])])

    rule.__name__ = f"largest_within({tolerance!r}, {param!r})"
    return rule
