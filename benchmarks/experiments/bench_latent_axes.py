"""What turning the latent axes after a "gaussian" start gives.

After the ``"gaussian"`` start (a full-covariance ``GaussianMixture`` of the
input, which ``init_params="auto"`` takes where the spectral clusters touch)
the latent axes turn to the eigenvectors of the clusters' pooled covariance
(``skgmvae._train.TURN_GAUSSIAN_AXES``), so that the diagonal components lie
along the clusters' shared shape. For each data set and seed this fits:

* ``turned``: the default ``GMVAEClustering``;
* ``unturned``: the same with ``TURN_GAUSSIAN_AXES`` off for the fit;
* ``GMM-full``: ``GaussianMixture(K, covariance_type="full")`` on the input,
  the baseline that wins on Gaussian classes.

The data: ``iris`` and ``classification`` of the quality suite
(``benchmarks/bench_suite.py``), whose default start is ``"gaussian"``, and
five synthetic sets of Gaussian classes that the suite does not have
(touching blobs, three ``make_classification`` sets, and blobs each with its
own random covariance). The table gives the Hungarian accuracy, mean over
seeds (worst seed), and the starts made. Usage::

    python benchmarks/experiments/bench_latent_axes.py [--seeds 3] [--datasets iris blobs_touching]

Writes ``benchmarks/experiments/results/latent_axes.{json,md}``
(``latent_axes_quick`` with ``--quick``); each finished data set is saved at
once, and a rerun skips those already there with the same seeds.
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # benchmarks/
from _common import (  # noqa: E402
    DATA_DIR,
    mean_worst,
    own_covariance_blobs,
    random_rows,
    seed_table_main,
)
from bench_suite import load  # noqa: E402

SUITE_SETS = ("iris", "classification")
SYNTHETIC = (
    "blobs_touching",
    "classification_6",
    "classification_10",
    "classification_12",
    "blobs_own_covariance",
)
DATASETS = SUITE_SETS + SYNTHETIC


def make(name):
    """Rows and classes of ``name``."""
    from sklearn import datasets

    if name in SUITE_SETS:
        return load(name, DATA_DIR)
    if name == "blobs_touching":
        return datasets.make_blobs(
            1200, n_features=5, centers=4, cluster_std=2.5, random_state=2
        )
    if name == "blobs_own_covariance":
        return own_covariance_blobs(7, 4, 300, 6, 3.0)
    n_rows, n_features, informative, redundant, classes, sep, state = {
        "classification_6": (1000, 6, 4, 0, 3, 1.2, 11),
        "classification_10": (1500, 10, 4, 2, 4, 1.5, 5),
        "classification_12": (2000, 12, 5, 3, 5, 2.0, 3),
    }[name]
    return datasets.make_classification(
        n_rows,
        n_features=n_features,
        n_informative=informative,
        n_redundant=redundant,
        n_classes=classes,
        n_clusters_per_class=1,
        class_sep=sep,
        random_state=state,
    )


def one_seed(X, y, k, seed, quick):
    """Accuracy of the turned, unturned and GaussianMixture fits, and the start."""
    from sklearn.mixture import GaussianMixture

    from skgmvae import GMVAEClustering, _train
    from skgmvae.callbacks import Callback
    from skgmvae.metrics import clustering_accuracy

    class StartMade(Callback):
        def on_pretrain_end(self, trainer):
            self.method = trainer.start_method

    params = {"pretrain_epochs": 2, "max_iter": 3} if quick else {}
    start = StartMade()
    turned = GMVAEClustering(k, random_state=seed, callbacks=[start], **params).fit(X)
    saved, _train.TURN_GAUSSIAN_AXES = _train.TURN_GAUSSIAN_AXES, False
    try:
        unturned = GMVAEClustering(k, random_state=seed, **params).fit(X)
    finally:
        _train.TURN_GAUSSIAN_AXES = saved
    gmm = GaussianMixture(k, covariance_type="full", random_state=seed).fit(X)
    return {
        "start": start.method,
        "turned": clustering_accuracy(y, turned.labels_),
        "unturned": clustering_accuracy(y, unturned.labels_),
        "gmm_full": clustering_accuracy(y, gmm.predict(X)),
    }


def write_table(table, path):
    lines = [
        "Hungarian accuracy, mean over seeds (worst seed): the default fit "
        "(turned: the latent axes turn to the clusters' pooled covariance after "
        "a 'gaussian' start), the same fit without turning (unturned), and a "
        "full-covariance GaussianMixture of the input. Start: the starts the "
        "default fits made.",
        "",
        "| data | seeds | start | turned | unturned | GMM-full |",
        "|---|---|---|---|---|---|",
    ]
    for name, rows in table.items():
        starts = ", ".join(sorted({r["start"] for r in rows}))
        lines.append(
            f"| {name} | {len(rows)} | {starts} | {mean_worst([r['turned'] for r in rows])} | "
            f"{mean_worst([r['unturned'] for r in rows])} | "
            f"{mean_worst([r['gmm_full'] for r in rows])} |"
        )
    path.write_text("\n".join(lines) + "\n")


def summary(name, rows):
    """The line printed when ``name`` is done."""
    return (
        f"{name}: turned {mean_worst([r['turned'] for r in rows])}, unturned "
        f"{mean_worst([r['unturned'] for r in rows])}, GMM-full "
        f"{mean_worst([r['gmm_full'] for r in rows])}"
    )


def main(argv=None):
    seed_table_main(
        argv, __doc__, "latent_axes", 3, DATASETS, make, one_seed, summary, write_table,
        random_rows,
    )


if __name__ == "__main__":
    main()
