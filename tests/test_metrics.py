import numpy as np
import pytest
from scipy.optimize import linear_sum_assignment  # noqa: F401  (dependency check)

from skgmvae.metrics import clustering_accuracy, purity


def test_accuracy_is_invariant_to_renaming():
    rng = np.random.default_rng(0)
    y = rng.integers(0, 4, size=200)
    perm = np.array([2, 0, 3, 1])
    assert clustering_accuracy(y, perm[y]) == 1.0
    assert purity(y, perm[y]) == 1.0


def test_accuracy_brute_force_small_case():
    y = np.array([0, 0, 0, 1, 1, 2, 2, 2, 2])
    c = np.array([1, 1, 0, 0, 0, 2, 2, 1, 2])
    # best mapping by hand: 1->0 (2 right), 0->1 (2 right), 2->2 (3 right)
    assert clustering_accuracy(y, c) == pytest.approx(7 / 9)
    # purity maps each cluster to its majority class: 0->1 (2), 1->0 (2), 2->2 (3)
    assert purity(y, c) == pytest.approx(7 / 9)


def test_more_clusters_than_classes():
    y = np.array([0, 0, 1, 1])
    c = np.array([0, 1, 2, 3])
    assert clustering_accuracy(y, c) == 0.5  # only two clusters can be matched
    assert purity(y, c) == 1.0


def test_bad_lengths_and_empty():
    with pytest.raises(ValueError):
        clustering_accuracy([0, 1], [0])
    with pytest.raises(ValueError):
        purity([], [])
