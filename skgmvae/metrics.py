"""Clustering quality against known labels: one-to-one (Hungarian) accuracy
and many-to-one purity. NMI and ARI come from :mod:`sklearn.metrics`."""

import numpy as np
from scipy.optimize import linear_sum_assignment
from sklearn.metrics.cluster import contingency_matrix
from sklearn.utils.validation import check_consistent_length, column_or_1d


def _contingency(labels_true, labels_pred):
    labels_true = column_or_1d(labels_true)
    labels_pred = column_or_1d(labels_pred)
    check_consistent_length(labels_true, labels_pred)
    if labels_true.shape[0] == 0:
        raise ValueError("labels_true and labels_pred must not be empty.")
    return contingency_matrix(labels_true, labels_pred)


def clustering_accuracy(labels_true, labels_pred):
    """Accuracy under the best one-to-one mapping of clusters to classes.

    The mapping maximises the number of matched rows (Hungarian algorithm);
    clusters left without a class count as errors, so more clusters than
    classes cannot raise the score.

    Parameters
    ----------
    labels_true : array-like of shape (n_samples,)
        Ground-truth classes.
    labels_pred : array-like of shape (n_samples,)
        Cluster labels.

    Returns
    -------
    accuracy : float
        In [0, 1]; 1 when the clustering equals the classes up to renaming.

    Examples
    --------
    >>> from skgmvae.metrics import clustering_accuracy
    >>> clustering_accuracy([0, 0, 1, 1], [1, 1, 0, 0])
    1.0
    """
    table = _contingency(labels_true, labels_pred)
    rows, cols = linear_sum_assignment(table, maximize=True)
    return float(table[rows, cols].sum() / table.sum())


def purity(labels_true, labels_pred):
    """Fraction of rows whose cluster's majority class is their own class.

    Many-to-one: each cluster is mapped to its most frequent class, so it
    rises with the number of clusters (the paper's metric for K > classes).

    Parameters
    ----------
    labels_true : array-like of shape (n_samples,)
        Ground-truth classes.
    labels_pred : array-like of shape (n_samples,)
        Cluster labels.

    Returns
    -------
    purity : float
        In [0, 1].

    Examples
    --------
    >>> from skgmvae.metrics import purity
    >>> purity([0, 0, 1, 1], [0, 1, 2, 2])
    1.0
    """
    table = _contingency(labels_true, labels_pred)
    return float(np.max(table, axis=0).sum() / table.sum())
