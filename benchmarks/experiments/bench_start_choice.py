"""Which start of the mixture, chosen how: several starts per fit, one kept by a criterion.

For every data set of the small quality suite (``benchmarks/bench_suite.py``,
same loading, raw features: the estimator standardises them itself) and
every seed, the default ``GMVAEClustering`` is fitted once per start:

* ``spectral``: today's default (``init_params="auto"``, neighbour term on);
* ``umap``: ``init_params="umap"`` with the neighbour term;
* ``umap-nograph``: ``init_params="umap"``, ``graph_weight=0``;
* ``rawgmm``: a full ``GaussianMixture`` on the standardised input (only
  with at most ``RAW_MAX_FEATURES`` features), its clusters' moments in the
  embedding as the start (an ``init_params`` callable), neighbour term on.

All starts of one seed share the pretrained autoencoder (same seed, same
batches), so they differ by the start alone. For each fit the script
records the Hungarian accuracy, NMI, ``lower_bound_`` and the candidate
criteria a rule could read without the labels:

* ``agree_emb`` / ``agree_x``: the share of the ``n_neighbors``-NN edges of
  the pretrained embedding / of the standardised input whose two ends get
  one label;
* ``sil_emb`` / ``sil_z``: the silhouette of the labels in the pretrained
  embedding / in the fitted model's ``transform``;

and the labels themselves, so other criteria can be computed afterwards
(the pretrained embedding of each data set and seed goes to an ``.npz``
beside the results). Every fit is appended at once to
``benchmarks/experiments/results/start_choice.jsonl``; a rerun skips fits
already there. The Markdown summary (``benchmarks/results/start_choice.md``)
gives, per data set, each start's accuracy and each selection rule's (mean,
worst seed)::

    python benchmarks/experiments/bench_start_choice.py [--seeds 0 1 2]
        [--datasets iris wine ...] [--starts spectral umap ...]
"""

import argparse
import json
import sys
import time
import warnings
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # benchmarks/
from _common import EXPERIMENT_RESULTS, RESULTS  # noqa: E402
from bench_suite import SMALL, load  # noqa: E402

STARTS = ("spectral", "umap", "umap-nograph", "rawgmm")
#: Data sets outside the suite, for checking a rule on data it was not
#: chosen on: the blobs of unequal spread of scikit-learn's clustering
#: comparison, and blobs of unequal sizes.
EXTRA = ("varied", "unequal")


def load_any(name):
    from sklearn import datasets

    if name == "varied":
        return datasets.make_blobs(1500, cluster_std=[1.0, 2.5, 0.5], random_state=170)
    if name == "unequal":
        X, y = datasets.make_blobs(
            [600, 200, 60], n_features=5, cluster_std=1.5, random_state=7
        )
        return X, y
    return load(name, None)
#: rawgmm only for data with at most this many features.
RAW_MAX_FEATURES = 50
#: Rows of the silhouette sample.
SILHOUETTE_ROWS = 2000


class Embedding:
    """Callback keeping the pretrained embedding of a run."""

    def __new__(cls):
        from skgmvae import Callback

        class _Keep(Callback):
            value = None

            def on_pretrain_end(self, trainer):
                from skgmvae._train import encode_means

                self.value = (
                    encode_means(trainer.net, trainer.X, trainer.batch_size)
                    .double()
                    .cpu()
                    .numpy()
                )

        return _Keep()


def raw_gmm_start(X):
    """``init_params`` callable: a full GaussianMixture on the standardised
    ``X``, its clusters' moments in the embedding."""
    from sklearn.mixture import GaussianMixture
    from sklearn.preprocessing import StandardScaler

    from skgmvae._init import partition_moments

    Z = StandardScaler().fit_transform(X)

    def start(embedding, n_components, seed):
        labels = GaussianMixture(
            n_components, covariance_type="full", n_init=3, random_state=seed % 2**32
        ).fit_predict(Z)
        return partition_moments(embedding, labels, n_components)

    return start


def params_of(start, X):
    if start == "spectral":
        return {}
    if start == "umap":
        return {"init_params": "umap"}
    if start == "umap-nograph":
        return {"init_params": "umap", "graph_weight": 0.0}
    if start == "rawgmm":
        return {"init_params": raw_gmm_start(X)}
    raise ValueError(start)


def edge_agreement(points, labels, n_neighbors=25):
    from skgmvae._init import neighbor_indices

    near = neighbor_indices(points, n_neighbors)
    return float((labels[near] == labels[:, None]).mean())


def silhouette(points, labels, seed=0):
    from sklearn.metrics import silhouette_score

    if len(np.unique(labels)) < 2:
        return -1.0
    n = min(len(points), SILHOUETTE_ROWS)
    return float(silhouette_score(points, labels, sample_size=n, random_state=seed))


def fit_one(data, X, y, k, seed, start, emb_dir):
    from sklearn.metrics import normalized_mutual_info_score
    from sklearn.preprocessing import StandardScaler

    from skgmvae import GMVAEClustering
    from skgmvae.metrics import clustering_accuracy

    keep = Embedding()
    est = GMVAEClustering(k, random_state=seed, callbacks=[keep], **params_of(start, X))
    tic = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        labels = est.fit_predict(X)
    seconds = time.perf_counter() - tic
    emb = keep.value
    npz = emb_dir / f"start_choice_emb_{data}_{seed}.npz"
    if not npz.exists():
        np.savez_compressed(npz, embedding=emb.astype(np.float32))
    Z = StandardScaler().fit_transform(X)
    return {
        "data": data,
        "seed": seed,
        "start": start,
        "accuracy": float(clustering_accuracy(y, labels)),
        "nmi": float(normalized_mutual_info_score(y, labels)),
        "bound": float(est.lower_bound_),
        "n_iter": int(est.n_iter_),
        "agree_emb": edge_agreement(emb, labels),
        "agree_x": edge_agreement(Z, labels),
        "sil_emb": silhouette(emb, labels),
        "sil_z": silhouette(est.transform(X), labels),
        "fit_seconds": seconds,
        "labels": labels.tolist(),
    }


def read(path):
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


# --- selection rules -------------------------------------------------------


def pick(runs, key, sign=1):
    return max(runs, key=lambda r: sign * r[key])


RULES = {
    "bound": lambda runs: pick(runs, "bound"),
    "agree_emb": lambda runs: pick(runs, "agree_emb"),
    "agree_x": lambda runs: pick(runs, "agree_x"),
    "sil_emb": lambda runs: pick(runs, "sil_emb"),
    "sil_z": lambda runs: pick(runs, "sil_z"),
}


def markdown(rows, datasets, seeds, starts, rule_sets):
    by = {(r["data"], r["seed"], r["start"]): r for r in rows}
    suite = json.loads((RESULTS / "suite.json").read_text())["cells"]
    baselines = ("KMeans", "KMeans-scaled", "GMM-full", "UMAP+GMM")

    def cell(values):
        if not values:
            return ""
        return f"{np.mean(values):.3f} ({np.min(values):.3f})"

    lines = [
        "Hungarian accuracy, mean over seeds (worst seed). Starts: one fit each. "
        "Rules `a|b: crit`: fit from starts a and b, keep the one with the "
        "larger criterion. Baselines from benchmarks/results/suite.json.",
        "",
    ]
    cols = list(starts) + [name for name, _, _ in rule_sets] + ["best baseline"]
    lines += ["| data | " + " | ".join(cols) + " |", "|---|" + "---|" * len(cols)]
    for data in datasets:
        row = [data]
        for start in starts:
            vals = [by[(data, s, start)]["accuracy"] for s in seeds if (data, s, start) in by]
            row.append(cell(vals))
        for _, group, rule in rule_sets:
            vals = []
            for s in seeds:
                runs = [by[(data, s, g)] for g in group if (data, s, g) in by]
                if len(runs) == len(group):
                    vals.append(RULES[rule](runs)["accuracy"])
            row.append(cell(vals))
        best = None
        for model in baselines:
            vals = [suite[f"{data}/{model}/{s}"]["accuracy"] for s in range(3)
                    if f"{data}/{model}/{s}" in suite]
            if vals and (best is None or np.mean(vals) > best[1]):
                best = (model, np.mean(vals), np.min(vals))
        row.append(f"{best[1]:.3f} ({best[2]:.3f}) {best[0]}" if best else "")
        lines.append("| " + " | ".join(row) + " |")
    lines += ["", "Per fit: start, accuracy, criteria.", "",
              "| data | seed | start | acc | bound | agree_emb | agree_x | sil_emb | sil_z | s |",
              "|---|---|---|---|---|---|---|---|---|---|"]
    for data in datasets:
        for s in seeds:
            for start in starts:
                r = by.get((data, s, start))
                if r:
                    lines.append(
                        f"| {data} | {s} | {start} | {r['accuracy']:.3f} | {r['bound']:.4g} | "
                        f"{r['agree_emb']:.3f} | {r['agree_x']:.3f} | {r['sil_emb']:.3f} | "
                        f"{r['sil_z']:.3f} | {r['fit_seconds']:.1f} |"
                    )
    return "\n".join(lines) + "\n"


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--datasets", nargs="+", default=list(SMALL), choices=SMALL + EXTRA)
    parser.add_argument("--starts", nargs="+", default=list(STARTS), choices=STARTS)
    parser.add_argument("--table-only", action="store_true")
    args = parser.parse_args(argv)
    EXPERIMENT_RESULTS.mkdir(parents=True, exist_ok=True)
    path = EXPERIMENT_RESULTS / "start_choice.jsonl"
    done = {(r["data"], r["seed"], r["start"]) for r in read(path)}
    if not args.table_only:
        for data in args.datasets:
            X, y = load_any(data)
            k = len(np.unique(y))
            for seed in args.seeds:
                for start in args.starts:
                    if (data, seed, start) in done:
                        continue
                    if start == "rawgmm" and X.shape[1] > RAW_MAX_FEATURES:
                        continue
                    row = fit_one(data, X, y, k, seed, start, EXPERIMENT_RESULTS)
                    with path.open("a") as f:
                        f.write(json.dumps(row) + "\n")
                    print(
                        f"{data}/{seed}/{start}: acc {row['accuracy']:.3f} bound "
                        f"{row['bound']:.4g} agree_emb {row['agree_emb']:.3f} "
                        f"sil_emb {row['sil_emb']:.3f} ({row['fit_seconds']:.1f}s)",
                        flush=True,
                    )
    rows = read(path)
    rule_sets = [
        (f"{'|'.join(g)}: {rule}", g, rule)
        for g in (("spectral", "umap"), ("spectral", "umap-nograph"))
        for rule in RULES
    ]
    table = markdown(rows, args.datasets, args.seeds, args.starts, rule_sets)
    (RESULTS / "start_choice.md").write_text(table)
    print(table)


if __name__ == "__main__":
    main()
