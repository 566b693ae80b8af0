"""Which neighbour graph the start should cut where the input has more
features than the latent space has dimensions.

The ``"auto"`` start cuts the spectral partition of a neighbour graph and
keeps it where its clusters barely touch (a leak under
``_init.TOUCHING_LEAK``), else starts from a full Gaussian mixture of the
input rows (or, where that mixture is refused, from ``KMeans`` of the input
rows started at the spectral clusters). Where the input rows can carry such a mixture and have more
features than the embedding has dimensions, ``_init.graph_space`` cuts
both the embedding's graph and the standardised input rows' graph and keeps
the partition that leaks less (each graph's partition, or where it touches
that of the graph of half as many neighbours, ``_init.sparse_partition``),
the embedding's only where it is clean (a leak under ``TOUCHING_LEAK``).
For each data set and seed this experiment
records, from one default fit, the
spectral partition of either graph: its Hungarian accuracy and its leak
(``_init.partition_leak``); the graph the start took; the accuracy of the
default fit; and that of the same fit with the embedding's graph only
(``embedding only``: the rule before the comparison, where such input rows
never reach the graph, nor does the sparser graph). Usage::

    python benchmarks/experiments/bench_graph_space.py [--seeds 3]
        [--datasets moons_50d circles_20d spirals_30d wine breast_cancer classification_50d]

Writes ``benchmarks/experiments/results/graph_space.{json,md}``
(``graph_space_quick`` with ``--quick``); each finished data set is saved at
once, and a rerun skips those already there with the same seeds.
"""

import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # benchmarks/
from _common import DATA_DIR, mean_worst, patched, seed_table_main  # noqa: E402
from bench_suite import ROTATED, load  # noqa: E402

DATASETS = ROTATED + ("wine", "breast_cancer", "classification_50d")


def one_seed(X, y, k, seed, quick):
    """Both graphs' partitions, the graph taken, and both fits' accuracy."""
    from skgmvae import GMVAEClustering, _init
    from skgmvae.metrics import clustering_accuracy

    params = dict(pretrain_epochs=2, max_iter=3) if quick else {}
    seen = {}
    choose = _init.graph_space

    def recording(embedding, inputs, n_components, seed, n_neighbors=None, weights=None):
        seen.update(embedding=embedding, inputs=inputs, n_components=n_components,
                    n_neighbors=n_neighbors, weights=weights)
        seen["taken"] = choose(embedding, inputs, n_components, seed, n_neighbors, weights)
        return seen["taken"]

    with patched(_init, "graph_space", recording):
        default = GMVAEClustering(k, random_state=seed, **params).fit(X)
    row = {"default": clustering_accuracy(y, default.labels_), "taken": "none"}
    if seen.get("inputs") is not None:
        embedding, n_neighbors = seen["embedding"], seen["n_neighbors"]
        spaces = {
            "embedding": embedding,
            "inputs": _init.standardised(seen["inputs"], seen["weights"]),
        }
        for name, rows in spaces.items():
            labels = _init.spectral_labels(rows, seen["n_components"], seed, n_neighbors)
            row[f"{name}_accuracy"] = clustering_accuracy(y, labels)
            row[f"{name}_leak"] = _init.partition_leak(rows, labels, n_neighbors)
        row["taken"] = "embedding" if seen["taken"][0] is embedding else "inputs"
        row["sparser"] = seen["taken"][3] < (n_neighbors or _init.SPECTRAL_NEIGHBORS)

    def embedding_only(embedding, inputs, n_components, seed, n_neighbors=None, weights=None):
        # without input rows the embedding's graph is cut alone, and no sparser one
        wide = inputs is not None and inputs.shape[1] > embedding.shape[1]
        inputs = None if wide else inputs
        return choose(embedding, inputs, n_components, seed, n_neighbors, weights)

    with patched(_init, "graph_space", embedding_only):
        before = GMVAEClustering(k, random_state=seed, **params).fit(X)
    row["embedding_only"] = clustering_accuracy(y, before.labels_)
    return row


def leak_range(rows, key):
    values = [r[key] for r in rows if key in r]
    return f"{min(values):.4f}-{max(values):.4f}" if values else "-"


def accuracy(rows, key):
    values = [r[key] for r in rows if key in r]
    return mean_worst(values) if values else "-"


def write_table(table, path):
    lines = [
        "Per data set, over seeds: the spectral partition of the embedding's graph and of "
        "the standardised input rows' graph (Hungarian accuracy, mean (worst); leak min-max), "
        "how many starts took the input rows' graph, how many took the sparser graph of "
        "half as many neighbours (of either rows, ``_init.sparse_partition``), and the default "
        "fit against the same fit cutting the embedding's graph only.",
        "",
        "| data | seeds | embedding's graph | its leak | input rows' graph | its leak | "
        "input taken | sparser graph | default | embedding only |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for name, rows in table.items():
        taken = sum(r["taken"] == "inputs" for r in rows)
        sparser = sum(r.get("sparser", False) for r in rows)
        lines.append(
            f"| {name} | {len(rows)} | {accuracy(rows, 'embedding_accuracy')} | "
            f"{leak_range(rows, 'embedding_leak')} | {accuracy(rows, 'inputs_accuracy')} | "
            f"{leak_range(rows, 'inputs_leak')} | {taken}/{len(rows)} | {sparser}/{len(rows)} | "
            f"{accuracy(rows, 'default')} | {accuracy(rows, 'embedding_only')} |"
        )
    path.write_text("\n".join(lines) + "\n")


def summary(name, rows):
    """The line printed when ``name`` is done."""
    return (
        f"{name}: input graph taken {sum(r['taken'] == 'inputs' for r in rows)}/{len(rows)}, "
        f"default {accuracy(rows, 'default')}, embedding only {accuracy(rows, 'embedding_only')}"
    )


def main(argv=None):
    seed_table_main(
        argv, __doc__, "graph_space", 3, DATASETS, lambda name: load(name, DATA_DIR),
        one_seed, summary, write_table,
    )


if __name__ == "__main__":
    main()
