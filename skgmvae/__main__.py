"""``python -m skgmvae``: cluster scikit-learn's digits with GMVAEClustering,
KMeans and GaussianMixture in one run and compare them to the true digits."""

import argparse
import sys
import time

import numpy as np


def _scores(y, labels):
    from sklearn.metrics import adjusted_rand_score, normalized_mutual_info_score

    from .metrics import clustering_accuracy

    return (
        clustering_accuracy(y, labels),
        normalized_mutual_info_score(y, labels),
        adjusted_rand_score(y, labels),
    )


def compare_models(
    X, y, n_clusters, seeds=3, *, params=None, verbose=0, out=sys.stdout
):
    """Fit GMVAEClustering, KMeans and GaussianMixture on ``X`` for ``seeds``
    seeds each, score them against ``y`` and print a table (mean ± std over
    seeds).

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_features)
    y : ndarray of shape (n_samples,)
        True classes, used only for scoring.
    n_clusters : int
        Number of clusters given to every model.
    seeds : int, default=3
    params : dict, default=None
        Extra keyword arguments of :class:`GMVAEClustering`.
    verbose : int, default=0
        GMVAE progress output.
    out : file-like, default=sys.stdout

    Returns
    -------
    results : dict
        Model name -> array of shape (seeds, 4): Hungarian accuracy, NMI,
        ARI, fit seconds.
    """
    import warnings

    from sklearn.cluster import KMeans
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.mixture import GaussianMixture

    from . import GMVAEClustering

    makers = {
        "GMVAEClustering": lambda s: GMVAEClustering(
            n_clusters, random_state=s, verbose=verbose, **(params or {})
        ),
        "KMeans": lambda s: KMeans(n_clusters, n_init=10, random_state=s),
        "GaussianMixture": lambda s: GaussianMixture(
            n_clusters, covariance_type="diag", random_state=s
        ),
    }
    results = {}
    for name, make in makers.items():
        rows = []
        for seed in range(seeds):
            tic = time.perf_counter()
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", ConvergenceWarning)
                labels = make(seed).fit_predict(X)
            rows.append(_scores(y, labels) + (time.perf_counter() - tic,))
            print(
                f"  {name:<16} seed {seed}: accuracy {rows[-1][0]:.3f}",
                file=out,
                flush=True,
            )
        results[name] = np.array(rows)
    print(file=out)
    print(
        f"{'model':<16} {'accuracy':>15} {'NMI':>15} {'ARI':>15} {'fit s':>7}", file=out
    )
    for name, rows in results.items():
        mean, std = rows.mean(0), rows.std(0)
        cells = " ".join(f"{m:>8.3f} ± {s:.3f}" for m, s in zip(mean[:3], std[:3]))
        print(f"{name:<16} {cells} {mean[3]:>7.2f}", file=out)
    return results


def run_demo(seeds=3, verbose=0, out=sys.stdout, params=None):
    """:func:`compare_models` on scikit-learn's ``load_digits`` (10 digits)."""
    from sklearn.datasets import load_digits

    X, y = load_digits(return_X_y=True)
    k = len(np.unique(y))
    print(
        f"load_digits: {X.shape[0]} images of {X.shape[1]} pixels, {k} digits; "
        f"{seeds} seed(s) per model",
        file=out,
    )
    return compare_models(X, y, k, seeds, params=params, verbose=verbose, out=out)


def main(argv=None):
    parser = argparse.ArgumentParser(
        prog="python -m skgmvae",
        description=(
            "Cluster scikit-learn's handwritten digits (load_digits) with "
            "GMVAEClustering, KMeans and GaussianMixture and report Hungarian "
            "accuracy, NMI and ARI against the true digits."
        ),
    )
    parser.add_argument(
        "--seeds", type=int, default=3, help="seeds per model (default 3)"
    )
    parser.add_argument(
        "--verbose",
        type=int,
        default=0,
        help="GMVAE progress: 1 prints a line per epoch",
    )
    args = parser.parse_args(argv)
    if args.seeds < 1:
        parser.error("--seeds must be at least 1")
    run_demo(seeds=args.seeds, verbose=args.verbose)
    return 0


if __name__ == "__main__":
    sys.exit(main())
