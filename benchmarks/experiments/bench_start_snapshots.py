"""Does the spectral start move less with the seed when its graph averages
several embeddings of the rows?

On ``load_digits`` and the 3,000-image sets the start partition moves with the
seed (by up to 0.1 on MNIST), and a fit ends where its start put it. Which of
a row's neighbours the autoencoder puts nearest also moves from epoch to
epoch of pretraining and from one autoencoder to another; a graph that
averages several embeddings weighs the neighbours they share more. For each
data set and seed this experiment fits

* ``default``: the default ``GMVAEClustering``;
* ``snapshots``: the same fit, with the spectral start's graph (of all rows,
  and of the densest rows in its core partition) the mean of the graphs of
  the pretrained embedding and of the embeddings after 60% and 80% of the
  pretraining epochs (no extra cost);
* ``autoencoders``: the same fit, with the start's graph the mean of the
  graphs of its pretrained embedding and of the pretrained embeddings of two
  more fits seeded ``seed + 1000`` and ``seed + 2000`` (three pretrainings,
  about twice the time of a fit),

all in the same run (``likelihood="bernoulli"`` on images), and reports
Hungarian accuracy, mean (worst), and the seeds on which each variant gained
or lost more than 0.005 against the default. Usage::

    python benchmarks/experiments/bench_start_snapshots.py [--seeds 12]
        [--datasets digits mnist-3k fashion-mnist-3k]

Writes ``benchmarks/experiments/results/start_snapshots.{json,md}``
(``start_snapshots_quick`` with ``--quick``); each finished data set is saved
at once, and a rerun skips those already there with the same seeds.
"""

import argparse
import contextlib
import sys
import warnings
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # benchmarks/
sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import DATA_DIR, add_seed_table_arguments, mean_worst  # noqa: E402
from _common import patched, seeds_per_dataset  # noqa: E402
from bench_start_choice import Embedding  # noqa: E402
from bench_suite import IMAGES, load  # noqa: E402

DATASETS = ("digits", "mnist-3k", "fashion-mnist-3k", "wine", "breast_cancer")
SHARES = (0.6, 0.8)
KINDS = ("default", "snapshots", "autoencoders")
#: A seed counts as gained or lost beyond this change of accuracy.
MOVED = 0.005


class MeanGraph:
    """Stands in for ``skgmvae._init.self_tuning_graph`` during the start:
    for rows of the pretrained embedding (all of them, or the core's), the
    mean of their graph and of the graphs of the same rows in each
    snapshot; any other rows get the plain graph."""

    def __init__(self, original, embedding, snapshots):
        self.original, self.snapshots = original, snapshots
        self.index = {row.tobytes(): i for i, row in enumerate(embedding)}
        #: How many graphs of known rows it averaged.
        self.averaged = 0

    def __call__(self, rows, n_neighbors, local=None):
        found = [self.index.get(np.ascontiguousarray(row).tobytes()) for row in rows]
        graph = self.original(rows, n_neighbors, local)
        if any(i is None for i in found):
            return graph
        self.averaged += 1
        graphs = [self.original(s[found], n_neighbors, local) for s in self.snapshots]
        return sum(graphs, graph) / (1 + len(graphs))


def snapshot_callback(epochs, others=()):
    """A callback that keeps the embedding after each of ``epochs`` and,
    after the last pretraining epoch, puts a :class:`MeanGraph` of them and
    of ``others`` (embeddings of the same rows) in place of the start's
    graph until pretraining ends."""
    from skgmvae import Callback, _init
    from skgmvae._train import encode_means

    class Snapshots(Callback):
        def __init__(self):
            self.kept, self.stack = list(others), contextlib.ExitStack()

        def on_pretrain_epoch_end(self, trainer, record):
            epoch = record["epoch"]
            if epoch not in epochs and epoch != trainer.params.pretrain_epochs:
                return
            rows = encode_means(trainer.net, trainer.X, trainer.batch_size)
            rows = rows.double().cpu().numpy()
            if epoch in epochs:
                self.kept.append(rows)
            if epoch == trainer.params.pretrain_epochs:  # the start comes next
                self.graph = MeanGraph(_init.self_tuning_graph, rows, self.kept)
                self.stack.enter_context(patched(_init, "self_tuning_graph", self.graph))

        def on_pretrain_end(self, trainer):
            self.stack.close()

    return Snapshots()


def pretrained(X, k, seed, params):
    """The pretrained embedding of a fit seeded ``seed`` (float64)."""
    from skgmvae import GMVAEClustering

    keep = Embedding()
    GMVAEClustering(k, random_state=seed, callbacks=[keep], **{**params, "max_iter": 1}).fit(X)
    return keep.value


def one_seed(X, y, k, seed, quick, images, shares=SHARES):
    """The accuracy of each kind of fit (``KINDS``) for one seed."""
    from skgmvae import GMVAEClustering, _fitting
    from skgmvae.metrics import clustering_accuracy

    params = {"pretrain_epochs": 5, "max_iter": 3} if quick else {}
    if images:
        params["likelihood"] = "bernoulli"
    n_epochs = _fitting.pretrain_epochs(GMVAEClustering(k, **params), len(X))
    epochs = {round(share * n_epochs) for share in shares} - {0, n_epochs}
    others = [pretrained(X, k, seed + 1000 * m, params) for m in (1, 2)]
    kinds = {
        "default": [],
        "snapshots": [snapshot_callback(epochs)],
        "autoencoders": [snapshot_callback(set(), others)],
    }
    out = {}
    for kind, callbacks in kinds.items():
        model = GMVAEClustering(k, random_state=seed, callbacks=callbacks, **params)
        out[kind] = float(clustering_accuracy(y, model.fit_predict(X)))
    return out


def row_cells(rows):
    """``mean (worst)`` of each kind, and of each variant the seeds it
    gained and lost against the default."""
    default = [r["default"] for r in rows]
    cells = [mean_worst(default)]
    for kind in KINDS[1:]:
        moved = np.subtract([r[kind] for r in rows], default)
        cells.append(
            f"{mean_worst([r[kind] for r in rows])}; "
            f"{int((moved > MOVED).sum())} up, {int((moved < -MOVED).sum())} down"
        )
    return cells


def write_table(table, path):
    lines = [
        "Hungarian accuracy, mean (worst), of the default fit and of the same fit "
        "whose spectral start averages the graphs of the embedding after 60%, 80% "
        "and all of pretraining (snapshots), or of three pretrained autoencoders "
        "(autoencoders), in the same run; the seeds on which a variant gained or "
        f"lost more than {MOVED} against the default.",
        "",
        "| data | seeds | " + " | ".join(KINDS) + " |",
        "|---|---|" + "---|" * len(KINDS),
    ]
    for name, rows in table.items():
        lines.append(f"| {name} | {len(rows)} | " + " | ".join(row_cells(rows)) + " |")
    path.write_text("\n".join(lines) + "\n")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    add_seed_table_arguments(parser, 12, DATASETS + tuple(IMAGES))
    parser.set_defaults(datasets=list(DATASETS))
    args = parser.parse_args(argv)
    warnings.simplefilter("ignore")

    current = [None]  # the data set being fitted: images get the Bernoulli likelihood

    def loaded(name):
        current[0] = name
        return load(name, DATA_DIR)

    def seed_fits(X, y, k, seed, quick):
        return one_seed(X, y, k, seed, quick, images=current[0] in IMAGES)

    def report(name, rows):
        print(f"{name}: " + ", ".join(
            f"{kind} {cell}" for kind, cell in zip(KINDS, row_cells(rows))), flush=True)

    table, path = seeds_per_dataset(
        args, "start_snapshots", args.datasets, loaded, seed_fits, report
    )
    write_table(table, path.with_suffix(".md"))
    print(f"wrote {path.with_suffix('.md')}")


if __name__ == "__main__":
    main()
