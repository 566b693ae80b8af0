"""What holding each row at its own cluster of a Gaussian start gives.

Where the spectral start's clusters touch and a full-covariance Gaussian
mixture of the input rows can be estimated, the default fit starts from that
mixture's partition (a ``"gaussian"`` start). Its neighbour term then holds
each row at its own start cluster (``skgmvae._train.OWN_CLUSTER_STARTS``)
rather than at the mean of its neighbours' clusters in the embedding, whose
graph has bent the classes together. For each data set and seed this fits
the default ``GMVAEClustering`` (``own``), the same with the term's weight
of a held spectral start (``own_weak``: ``OWN_HOLD_GRAPH_WEIGHT`` at
``HOLD_GRAPH_WEIGHT``), the same with the neighbours' targets
(``neighbours``: ``OWN_CLUSTER_STARTS = ()``), and, in the same run, a
full-covariance ``GaussianMixture`` of the input, and records:

* ``start``: the start made, and the Hungarian accuracy of its partition;
* ``final``: the Hungarian accuracy of the fitted labels.

The fits differ only after a start of ``OWN_CLUSTER_STARTS`` (a Gaussian
start, or a spectral one refined by the input's mixture); after any other
start the others are not made and repeat ``own``. The latent axes turn
after such a start in all three ways (``skgmvae._train.TURNED_STARTS``).

The data: the small sets of the quality suite (``benchmarks/bench_suite.py``)
and ten the suite does not have: four ``make_classification`` draws (3 to
5 classes, 8 to 12 features), blobs with a random covariance each that
touch, two noisier moons and rings, the first ten principal components
of ``load_digits`` and the first five of the standardised ``load_wine``.
The table gives the mean over seeds (worst seed). Usage::

    python benchmarks/experiments/bench_own_cluster.py [--seeds 3] [--datasets iris classification]

Writes ``benchmarks/experiments/results/own_cluster.{json,md}``
(``own_cluster_quick`` with ``--quick``); each finished data set is saved at
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
from bench_suite import SMALL, load  # noqa: E402

SUITE_SETS = tuple(SMALL)
#: make_classification draws: (rows, features, informative, classes,
#: random_state); classification_four is bench_factor_start's.
CLASSIFICATION = {
    "classification_four": (1200, 10, 6, 4, 1),
    "classification_2_3_8": (1000, 8, 5, 3, 2),
    "classification_3_4_10": (1000, 10, 6, 4, 3),
    "classification_4_5_12": (1000, 12, 8, 5, 4),
}
OTHER = (
    *CLASSIFICATION,
    "touching_blobs_1",
    "touching_blobs_2",
    "moons_noise_0.2",
    "circles_noise_0.15",
    "digits_pca10",
    "wine_pca5",
)
DATASETS = SUITE_SETS + OTHER
WAYS = ("own", "own_weak", "neighbours")


def make(name):
    """Rows and classes of ``name``."""
    from sklearn import datasets
    from sklearn.decomposition import PCA
    from sklearn.preprocessing import StandardScaler

    if name in SUITE_SETS:
        return load(name, DATA_DIR)
    if name in CLASSIFICATION:
        n_rows, features, informative, classes, seed = CLASSIFICATION[name]
        return datasets.make_classification(
            n_rows, n_features=features, n_informative=informative,
            n_classes=classes, n_clusters_per_class=1, random_state=seed,
        )
    if name.startswith("touching_blobs"):
        return own_covariance_blobs(int(name.rsplit("_", 1)[1]), 4, 300, 6, 3.0)
    if name == "moons_noise_0.2":
        return datasets.make_moons(1000, noise=0.2, random_state=0)
    if name == "circles_noise_0.15":
        return datasets.make_circles(1000, noise=0.15, factor=0.5, random_state=0)
    if name == "digits_pca10":
        X, y = datasets.load_digits(return_X_y=True)
        return PCA(10, random_state=0).fit_transform(X), y
    X, y = datasets.load_wine(return_X_y=True)  # wine_pca5
    return PCA(5, random_state=0).fit_transform(StandardScaler().fit_transform(X)), y


def one_seed(X, y, k, seed, quick):
    """Start and final accuracy of both ways, and the input mixture's."""
    from sklearn.mixture import GaussianMixture

    from skgmvae import GMVAEClustering, _train
    from skgmvae.callbacks import Callback
    from skgmvae.metrics import clustering_accuracy

    class AtTheStart(Callback):
        def on_elbo_begin(self, trainer):
            self.method = trainer.start_method
            graph = trainer.state.graph
            self.start = (
                None if graph is None
                else clustering_accuracy(y, graph.memory.argmax(1).cpu().numpy())
            )

    params = {"pretrain_epochs": 2, "max_iter": 3} if quick else {}
    gmm = GaussianMixture(k, covariance_type="full", random_state=seed)
    out = {"gmm": clustering_accuracy(y, gmm.fit_predict(X))}
    saved = _train.OWN_CLUSTER_STARTS, _train.OWN_HOLD_GRAPH_WEIGHT
    try:
        for way in WAYS:
            _train.OWN_CLUSTER_STARTS = () if way == "neighbours" else saved[0]
            _train.OWN_HOLD_GRAPH_WEIGHT = (
                _train.HOLD_GRAPH_WEIGHT if way == "own_weak" else saved[1]
            )
            seen = AtTheStart()
            est = GMVAEClustering(k, random_state=seed, callbacks=[seen], **params).fit(X)
            graph = est._train_state.graph
            out[way] = {
                "method": seen.method,
                "start": seen.start,
                "final": clustering_accuracy(y, est.labels_),
                "own": bool(graph is not None and graph.own),
            }
            if seen.method not in saved[0]:
                out["own_weak"] = out["neighbours"] = out["own"]
                break
    finally:
        _train.OWN_CLUSTER_STARTS, _train.OWN_HOLD_GRAPH_WEIGHT = saved
    return out


def write_table(table, path):
    lines = [
        "Hungarian accuracy, mean over seeds (worst seed), of the default fit, whose "
        "neighbour term holds each row at its own cluster of a Gaussian start (own), "
        "the same with the weight of a held spectral start (own, weak), "
        "and the same fit with its neighbours' clusters as the targets "
        "(neighbours), with a full-covariance GaussianMixture of the input (GMM-full) "
        "in the same run. Start: the starts the fits made and the accuracy of their "
        "partition; own: the seeds whose start was held at each row's own cluster. "
        "After a start other than a Gaussian one the two fits are the same fit.",
        "",
        "| data | seeds | start made | own | start | final: own | final: own, weak "
        "| final: neighbours | GMM-full |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for name, rows in table.items():
        starts = ", ".join(sorted({r["own"]["method"] for r in rows}))
        own = sum(r["own"]["own"] for r in rows)
        lines.append(
            f"| {name} | {len(rows)} | {starts} | {own}/{len(rows)} | "
            f"{mean_worst([r['own']['start'] for r in rows])} | "
            f"{mean_worst([r['own']['final'] for r in rows])} | "
            f"{mean_worst([r['own_weak']['final'] for r in rows])} | "
            f"{mean_worst([r['neighbours']['final'] for r in rows])} | "
            f"{mean_worst([r['gmm'] for r in rows])} |"
        )
    path.write_text("\n".join(lines) + "\n")


def summary(name, rows):
    """The line printed when ``name`` is done."""
    return (
        f"{name}: final own {mean_worst([r['own']['final'] for r in rows])}, weak "
        f"{mean_worst([r['own_weak']['final'] for r in rows])}, neighbours "
        f"{mean_worst([r['neighbours']['final'] for r in rows])}, GMM-full "
        f"{mean_worst([r['gmm'] for r in rows])}"
    )


def main(argv=None):
    seed_table_main(
        argv, __doc__, "own_cluster", 3, DATASETS, make, one_seed, summary, write_table,
        random_rows,
    )


if __name__ == "__main__":
    main()
