"""The MNIST table of the GMVAE paper, rerun: K x M x seeds, two protocols.

For every number of clusters K (``--n-components``, default 10 16 30) and
every number of Monte Carlo samples M (``--mc``, default 1 10) the default
``GMVAEClustering`` (apart from ``n_components``, ``likelihood="bernoulli"``
and ``n_mc_samples=M``) is fitted with ``--seeds`` random states, next to
``KMeans`` (n_init=10) and a diagonal ``GaussianMixture`` on the same data:

* ``train-test``: fit on the 60,000 training images, score the predictions on
  the 10,000 test images (the paper's protocol);
* ``all``: fit on all 70,000 images and score the fitted labels (the protocol
  of most later papers).

Scores: Hungarian accuracy, purity (many-to-one, the paper's metric for
K > 10), NMI, ARI and fit seconds; the table gives mean ± std over seeds and
the worst seed. Every finished fit is written at once to
``benchmarks/results/<dataset>_table.json``; a rerun skips the fits already
there with the same parameters, so an interrupted run loses at most the fit
in progress and the table can be filled over several sessions. The Markdown
table goes to ``benchmarks/results/<dataset>_table.md``. ``key=value``
arguments override GMVAE parameters; such runs are written to files tagged
with the overrides (``<dataset>_table_<key>-<value>.json``). ``--plain-cut``
starts the mixture from the consensus cut as the tree gives it, without
evening it out (``skgmvae._init.CONSENSUS_BALANCE``; ``..._plain-cut.json``).

Usage::

    python benchmarks/bench_mnist_table.py [--dataset mnist] [--protocol train-test all]
        [--n-components 10 16 30] [--mc 1 10] [--seeds 5] [key=value ...]
    python benchmarks/bench_mnist_table.py --quick   # 3,000 images, 1 seed, few epochs
"""

import argparse
import contextlib
import json
import time
import warnings
from pathlib import Path

import numpy as np
from _common import (
    PUBLISHED,
    add_dataset_argument,
    add_run_arguments,
    mean_std,
    patched,
    saved_cells,
)

PROTOCOLS = ("train-test", "all")
#: GMVAE parameters of every table run, before the ``key=value`` overrides
#: (also what a results file written before ``gmvae_params`` was recorded
#: was run with).
TABLE_PARAMS = {"likelihood": "bernoulli"}
METRICS = ("accuracy", "purity", "nmi", "ari", "fit_seconds")
#: Parameters added after fits were saved, with the value every earlier fit
#: ran with: a fit's record leaves them out while they keep that value, so
#: the saved fits stay current.
ADDED_PARAMS = {
    "learning_rate_decay": 0.0,
    "grow_from": None,
    "init_params": "consensus",
    "callbacks": None,
    "graph_weight": 0.0,
    "n_neighbors": 25,
    "precision": "float32",
}
#: Parameters that the table's saved fits did not read while
#: ``init_params`` and ``graph_weight`` are "auto": every protocol fits
#: 60,000 or 70,000 rows, above ``NEIGHBOUR_MAX_ROWS``, where the start is
#: the consensus partition and the neighbour term was off, so no graph of
#: ``n_neighbors`` neighbours was built (``tests/test_graph.py`` checks it).
#: A fit's record leaves them out. The last epochs of a fit now read
#: ``n_neighbors`` for the trained model's graph (user guide, Training, "The
#: last epochs of a large fit"), with the default the records imply; the
#: fits saved before those epochs existed are of the earlier code.
UNREAD_AT_AUTO = ("n_neighbors",)
#: ``max_iter="auto"``'s rows and epoch bounds that the fits saved before
#: they were recorded ran with.
EARLIER_AUTO_ELBO = (2_300_000, (10, 100))
#: How ``grow_from`` splits the mixture (``_init.split_components``), recorded
#: with the fits that split: change it with the split, so that fits of an
#: earlier split show as stale.
SPLIT_RECIPE = "children copy the parent's w-dependent mean, cluster variances"


def load(data_dir, dataset, protocol, quick):
    """(X_fit, X_score, y_score): what models are fitted on and scored on."""
    from skgmvae.datasets import load_idx_dataset

    folder = Path(data_dir) / dataset
    if protocol == "all":
        X, y = load_idx_dataset(folder, subset="all")
        if quick:
            X, y = X[:3000], y[:3000]
        return X, None, y
    X_train, _ = load_idx_dataset(folder, subset="train")
    X_test, y_test = load_idx_dataset(folder, subset="test")
    if quick:
        X_train, X_test, y_test = X_train[:2000], X_test[:1000], y_test[:1000]
    return X_train, X_test, y_test


def scores(y, labels):
    from skgmvae._demo import _scores
    from skgmvae.metrics import purity

    accuracy, nmi, ari = map(float, _scores(y, labels))
    return {
        "accuracy": accuracy,
        "purity": float(purity(y, labels)),
        "nmi": nmi,
        "ari": ari,
    }


def make_model(name, k, mc, seed, params):
    from sklearn.cluster import KMeans
    from sklearn.mixture import GaussianMixture

    from skgmvae import GMVAEClustering

    if name == "KMeans":
        return KMeans(k, n_init=10, random_state=seed)
    if name == "GaussianMixture":
        return GaussianMixture(k, covariance_type="diag", random_state=seed)
    return GMVAEClustering(k, n_mc_samples=mc, random_state=seed, **params)


def model_params(name, k, mc, params):
    """Every parameter of the model but the seed, and for the GMVAE the
    pretraining length that ``pretrain_epochs="auto"`` stands for, the
    settings of the initial mixture's consensus partition and, for a fit that
    grows its mixture, those of the split: a cell is reused only when these
    are unchanged, so a new default invalidates the saved GMVAE fits.
    ``UNREAD_AT_AUTO`` is left out while the start and the neighbour term's
    weight are "auto", and ``ADDED_PARAMS`` at the values of the saved fits."""
    from skgmvae import _fitting, _init

    est = make_model(name, k, mc, 0, params).get_params()
    out = {
        key: repr(value)
        for key, value in est.items()
        if key not in ("random_state", "verbose")
        and not (key in ADDED_PARAMS and value == ADDED_PARAMS[key])
    }
    if name == "GMVAE":
        if est["init_params"] == "auto" and est["graph_weight"] == "auto":
            for key in UNREAD_AT_AUTO:
                out.pop(key, None)
        out["auto_pretrain_rows"] = repr(_fitting.AUTO_PRETRAIN_ROWS)
        out["auto_pretrain_epochs"] = repr(_fitting.AUTO_PRETRAIN_EPOCHS)
        out["auto_batch"] = repr((_fitting.AUTO_BATCH_STEPS, _fitting.AUTO_BATCH_SIZES))
        out["auto_learning_rate"] = repr(_fitting.AUTO_LEARNING_RATE)
        elbo = (_fitting.AUTO_ELBO_ROWS, _fitting.AUTO_ELBO_EPOCHS)
        if elbo != EARLIER_AUTO_ELBO:  # recorded since the ELBO length changed
            out["auto_elbo"] = repr(elbo)
        mixture_init = {
            "consensus_rows": _init.CONSENSUS_ROWS,
            "consensus_runs": _init.CONSENSUS_RUNS,
            "consensus_overcluster": _init.CONSENSUS_OVERCLUSTER,
            "consensus_min_cluster_rows": _init.CONSENSUS_MIN_CLUSTER_ROWS,
            "consensus_min_share": _init.CONSENSUS_MIN_SHARE,
            "consensus_balance": _init.CONSENSUS_BALANCE,
        }
        if _init.CONSENSUS_DRAWS != 1:  # recorded since draws were added
            mixture_init["consensus_draws"] = _init.CONSENSUS_DRAWS
        out["mixture_init"] = repr(mixture_init)
        if est["grow_from"] is not None and est["grow_from"] < k:
            out["split"] = repr(
                {"kmeans_init": _init.SPLIT_KMEANS_INIT, "recipe": SPLIT_RECIPE}
            )
    return out


def fit_and_score(model, X_fit, X_score, y_score):
    tic = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # ConvergenceWarning at max_iter
        model.fit(X_fit)
    seconds = time.perf_counter() - tic
    labels = model.predict(X_fit if X_score is None else X_score)
    result = {**scores(y_score, labels), "fit_seconds": seconds}
    for phase in ("pretrain", "elbo"):  # GMVAE: epochs and seconds per epoch
        times = [
            r["time"] for r in getattr(model, "history_", []) if r["phase"] == phase
        ]
        if times:
            result[f"{phase}_epochs"] = len(times)
            result[f"seconds_per_{phase}_epoch"] = float(np.mean(times))
    return result


def group_cells(cells, params):
    """Finished fits grouped by (protocol, K, model), each group with a flag
    that says whether it is stale.

    A fit is current when its recorded parameters are those the script would
    use now with the GMVAE parameters ``params``; a group keeps only its
    current fits, or, when it has none (the defaults changed after it was
    run), its earlier fits, flagged stale.
    """
    groups = {}
    for cell in cells.values():
        key = (cell["protocol"], cell["k"], cell["model"])
        groups.setdefault(key, []).append(cell)
    out = {}
    for key, rows in groups.items():
        model = key[2]
        mc = int(model.split("=")[1]) if model.startswith("GMVAE") else None
        expected = model_params("GMVAE" if mc else model, key[1], mc, params)
        current = [r for r in rows if r["params"] == expected]
        out[key] = (current, False) if current else (rows, True)
    return out


#: Footnote of the groups whose fits were all made with earlier defaults.
STALE_NOTE = (
    "† fitted with the defaults of an earlier version (see the benchmarks "
    "page); rerunning the command refits them."
)


def fmt(values, worst=False):
    return mean_std(values) + (f" ({min(values):.3f})" if worst else "")


def markdown(cells, dataset, params):
    """The Markdown table of every (protocol, K, model) with finished fits
    (see :func:`group_cells` for ``params``)."""
    groups = group_cells(cells, params)
    order = {p: i for i, p in enumerate(PROTOCOLS)}
    lines = [
        "| protocol | K | model | seeds | accuracy (worst) | purity (worst) | NMI | ARI | fit s |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for protocol, k, model in sorted(groups, key=lambda g: (order[g[0]], g[1], g[2])):
        rows, stale = groups[protocol, k, model]
        col = {m: [r["scores"][m] for r in rows] for m in METRICS}
        lines.append(
            f"| {protocol} | {k} | {model}{' †' if stale else ''} | {len(rows)} "
            f"| {fmt(col['accuracy'], True)} | {fmt(col['purity'], True)} "
            f"| {fmt(col['nmi'])} | {fmt(col['ari'])} "
            f"| {np.mean(col['fit_seconds']):.0f} |"
        )
    if any(stale for _, stale in groups.values()):
        lines += ["", STALE_NOTE]
    notes = sorted(
        (key[1:], text) for key, text in PUBLISHED.items() if key[0] == dataset
    )
    if notes:
        lines.append("")
        lines.append(
            "Published (accuracy for K = 10, purity for K > 10): "
            + "; ".join(f"{protocol}, K={k}: {text}" for (protocol, k), text in notes)
            + "."
        )
    return "\n".join(lines) + "\n"


def main(argv=None):
    from skgmvae._cli import _positive_int

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    add_dataset_argument(parser)
    parser.add_argument(
        "--protocol", nargs="+", default=list(PROTOCOLS), choices=PROTOCOLS
    )
    parser.add_argument("--n-components", nargs="+", type=int, default=[10, 16, 30])
    parser.add_argument("--mc", nargs="*", type=_positive_int, default=[1, 10])
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument(
        "--baselines",
        nargs="*",
        default=["KMeans", "GaussianMixture"],
        choices=["KMeans", "GaussianMixture"],
    )
    parser.add_argument(
        "--plain-cut",
        action="store_true",
        help="do not even out the consensus cut (for comparison with the default)",
    )
    add_run_arguments(parser)
    args = parser.parse_args(argv)
    with consensus_cut(balance=not args.plain_cut):
        return run_table(args)


@contextlib.contextmanager
def consensus_cut(balance):
    """The consensus cut is evened out (``balance``) or not while the block
    runs (``skgmvae._init.CONSENSUS_BALANCE``); restored afterwards."""
    from skgmvae import _init

    with patched(_init, "CONSENSUS_BALANCE", balance):
        yield


def run_table(args):
    """Fit every cell the arguments ask for that is not saved yet; write the
    JSON after each fit and the Markdown table."""
    params = {**TABLE_PARAMS, **dict(args.overrides)}
    seeds = args.seeds
    if args.quick:
        seeds = 1
        params.setdefault("max_iter", 2)
        params.setdefault("pretrain_epochs", 2)
    # runs with overrides go to their own file, never mixed with the defaults
    out_json, cells = saved_cells(
        args.out_dir,
        args.dataset + "_table" + ("_plain-cut" if args.plain_cut else ""),
        args.overrides,
        args.quick,
    )

    def save():
        payload = {
            "dataset": args.dataset,
            "metrics": list(METRICS),
            "gmvae_params": params,
            "cells": cells,
        }
        out_json.write_text(json.dumps(payload, indent=1))
        table = markdown(cells, args.dataset, params)
        out_json.with_suffix(".md").write_text(table)

    for protocol in args.protocol:
        X_fit, X_score, y_score = load(
            args.data_dir, args.dataset, protocol, args.quick
        )
        print(
            f"{args.dataset}, {protocol}: fit on {X_fit.shape[0]} images, "
            f"score on {len(y_score)}",
            flush=True,
        )
        for k in args.n_components:
            models = [(f"GMVAE M={mc}", mc) for mc in args.mc]
            models += [(name, None) for name in args.baselines]
            for name, mc in models:
                base = "GMVAE" if mc else name
                expected = model_params(base, k, mc, params)
                for seed in range(seeds):
                    key = f"{protocol}/K{k}/{name}/seed{seed}"
                    if key in cells and cells[key]["params"] == expected:
                        continue
                    model = make_model(base, k, mc, seed, params)
                    result = fit_and_score(model, X_fit, X_score, y_score)
                    cells[key] = {
                        "protocol": protocol,
                        "k": k,
                        "model": name,
                        "seed": seed,
                        "n_fit": int(X_fit.shape[0]),
                        "n_score": len(y_score),
                        "params": expected,
                        "scores": result,
                    }
                    save()
                    print(
                        f"  K={k:<3} {name:<16} seed {seed}: accuracy "
                        f"{result['accuracy']:.3f} purity {result['purity']:.3f} "
                        f"({result['fit_seconds']:.0f}s)",
                        flush=True,
                    )
    save()
    print(markdown(cells, args.dataset, params))
    print(f"wrote {out_json}")
    return cells


if __name__ == "__main__":
    main()
