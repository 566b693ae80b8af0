"""How often a grid search over ``n_components`` finds the true number of
clusters, with the stability score and with the default score (mean ELBO).

Data: the classes ``0 .. k-1`` of scikit-learn's ``load_digits`` for each true
``k`` (8×8 digit images, whose classes KMeans-style blobs describe poorly).
Each seed draws its own subsample and runs one
``GridSearchCV(GMVAEClustering(random_state=seed, **params),
{"n_components": grid}, cv=cv)`` that records the stability score, the held-out
ELBO and the held-out BIC score of every candidate; the criteria below then choose from
the same fits.

Usage::

    python benchmarks/bench_select_k.py [--true-k 3 5 7] [--seeds 10] [--quick] [key=value ...]
    python benchmarks/bench_select_k.py --merge part1.json part2.json ...

Prints the selected K per seed and the hit rate, and writes
``benchmarks/results/select_k.json`` and a Markdown table ``select_k.md``
beside it. ``--merge`` joins the results of runs made separately (one true K
per process, say) into those two files. ``key=value`` arguments override
GMVAE parameters of the shortened fits (recorded in the JSON's ``params``).
"""

import argparse
import json
import time
import warnings
from pathlib import Path

import numpy as np
from _common import parse_override
from sklearn.datasets import load_digits
from sklearn.model_selection import GridSearchCV, KFold

from skgmvae import GMVAEClustering
from skgmvae.model_selection import bic_score, largest_within, stability_score

#: Settings of the searched estimator: a shorter fit than the defaults, so
#: that a search over 7 values of K with 2 folds takes minutes on 2 cores.
FAST = {"max_iter": 40, "pretrain_epochs": 40}


def subsample(k, seed, per_class):
    X, y = load_digits(return_X_y=True)
    rng = np.random.default_rng(seed)
    rows = np.concatenate(
        [rng.choice(np.flatnonzero(y == c), per_class, replace=False) for c in range(k)]
    )
    return X[rows], y[rows]


def elbo_score(estimator, X, y=None):
    """The estimator's default score, the mean held-out bound."""
    return estimator.score(X)


#: Criterion name -> (scorer, rule turning cv_results_ into a chosen index).
CRITERIA = {
    "held-out BIC, argmax": ("bic", None),
    "stability, largest within 0.05": ("stability", largest_within(0.05)),
    "stability, argmax": ("stability", None),
    "held-out ELBO, argmax": ("elbo", None),
}


def search(X, seed, grid, cv, params):
    """One search scoring every candidate with both scorers; returns the
    chosen K per criterion and the mean test scores."""
    gs = GridSearchCV(
        GMVAEClustering(random_state=seed, **params),
        {"n_components": list(grid)},
        scoring={"stability": stability_score, "elbo": elbo_score, "bic": bic_score},
        cv=KFold(cv, shuffle=True, random_state=seed),
        refit=False,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        gs.fit(X)
    res = gs.cv_results_
    chosen = {}
    for name, (metric, rule) in CRITERIA.items():
        scores = res[f"mean_test_{metric}"]
        if rule is None:
            idx = int(np.argmax(scores))
        else:
            idx = rule({"mean_test_score": scores, "params": res["params"]})
        chosen[name] = int(grid[idx])
    scores = {m: res[f"mean_test_{m}"].tolist() for m in ("stability", "elbo", "bic")}
    return chosen, scores


def finish(results, out):
    """Print the hit rates, and write the JSON and the Markdown table."""
    true_ks = sorted({r["true_k"] for r in results["runs"]})
    summary = {}
    lines = [
        "| criterion | " + " | ".join(f"true K = {k}" for k in true_ks) + " |",
        "|---|" + "---|" * len(true_ks),
    ]
    print()
    for name in CRITERIA:
        cells = []
        for k in true_ks:
            runs = [r for r in results["runs"] if r["true_k"] == k]
            hits = sum(r["chosen"][name] == k for r in runs)
            summary[f"K={k}, {name}"] = [hits, len(runs)]
            cells.append(f"{hits}/{len(runs)}")
            print(f"true K {k}, {name:<31}: {hits}/{len(runs)} seeds select K={k}")
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    results["hits"] = summary
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=1))
    table = "\n".join(lines) + "\n"
    out.with_suffix(".md").write_text(
        "Seeds (out of the number run) whose search selected the true number "
        "of digit classes, by criterion:\n\n" + table
    )
    print(f"wrote {out} and {out.with_suffix('.md')}")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--true-k", type=int, nargs="+", default=[3, 5, 7])
    parser.add_argument("--seeds", type=int, default=10)
    parser.add_argument("--cv", type=int, default=2)
    parser.add_argument("--per-class", type=int, default=100)
    parser.add_argument("--max-k", type=int, default=8)
    parser.add_argument(
        "--quick", action="store_true", help="1 seed, true K 3, K in 2..5, tiny fits"
    )
    parser.add_argument(
        "--out", default=str(Path(__file__).parent / "results" / "select_k.json")
    )
    parser.add_argument(
        "--merge", nargs="+", metavar="JSON", help="join earlier results"
    )
    parser.add_argument("overrides", nargs="*", type=parse_override)
    args = parser.parse_args(argv)
    if args.merge:
        parts = [json.loads(Path(p).read_text()) for p in args.merge]
        merged = {k: v for k, v in parts[0].items() if k not in ("runs", "hits")}
        merged["runs"] = [run for part in parts for run in part["runs"]]
        finish(merged, args.out)
        return merged
    params = dict(FAST)
    if args.quick:
        args.true_k, args.seeds, args.max_k, args.per_class = [3], 1, 4, 60
        params = {"max_iter": 3, "pretrain_epochs": 3, "hidden_layer_sizes": (32,)}
    params.update(args.overrides)
    results = {"params": params, "cv": args.cv, "per_class": args.per_class, "runs": []}
    for k in args.true_k:
        grid = list(range(2, max(args.max_k, k + 2) + 1))
        for seed in range(args.seeds):
            X, _ = subsample(k, seed, args.per_class)
            tic = time.perf_counter()
            chosen, scores = search(X, seed, grid, args.cv, params)
            run = {
                "true_k": k,
                "seed": seed,
                "chosen": chosen,
                "grid": grid,
                "scores": scores,
                "seconds": time.perf_counter() - tic,
            }
            results["runs"].append(run)
            picks = ", ".join(f"{n}: {c}" for n, c in chosen.items())
            print(
                f"true K {k} seed {seed}: {picks} ({run['seconds']:.0f} s)", flush=True
            )
    finish(results, args.out)
    return results


if __name__ == "__main__":
    main()
