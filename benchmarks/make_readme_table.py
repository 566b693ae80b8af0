"""Write the results table of README.md from ``benchmarks/results``.

Reads ``<dataset>_table.json`` (written by ``bench_mnist_table.py``) for MNIST
and Fashion-MNIST and replaces the block between the ``results-table`` markers
of README.md with one row per data set, protocol and K: the paper's metric
(Hungarian accuracy for K = 10, purity for K > 10) as mean ± std over seeds
with the worst seed in brackets, for the GMVAE with M = 1 and M = 10 Monte
Carlo samples, KMeans and GaussianMixture, next to the published figures.
GMVAE fits made with the defaults of an earlier version are shown marked †
until the table script fits them again (see ``group_cells`` there).

It also replaces the block between the ``suite-table`` markers with the
quality suite of ``bench_suite.py`` (``suite.json`` in the same folder): per
data set the GMVAE's accuracy over its seeds with the worst seed, the best
baseline's mean, the margin between them and its verdict (ahead by more than
0.005, level within 0.005, behind), and the same from the twelve-seed runs
(``--suite-12``) where they have that data set.

Usage::

    python benchmarks/make_readme_table.py           # rewrite README.md
    python benchmarks/make_readme_table.py --check   # exit 1 if README.md is stale
"""

import argparse
import json
import sys
from pathlib import Path

import numpy as np
from _common import DATASETS, EXPERIMENT_RESULTS, PUBLISHED, ROOT, gmvae_fingerprint, mean_std
from bench_mnist_table import STALE_NOTE, TABLE_PARAMS, group_cells

START = "<!-- results-table:start (python benchmarks/make_readme_table.py) -->"
END = "<!-- results-table:end -->"
SUITE_START = "<!-- suite-table:start (python benchmarks/make_readme_table.py) -->"
SUITE_END = "<!-- suite-table:end -->"
MODELS = ("GMVAE M=1", "GMVAE M=10", "KMeans", "GaussianMixture")
#: A margin within this of the best baseline counts as level.
LEVEL = 0.005
SUITE_STALE_NOTE = (
    "† GMVAE fits of an earlier version of the package among them; "
    "``python benchmarks/bench_suite.py`` refits them."
)


def cell(values):
    if not values:
        return "–"
    return f"{mean_std(values)} ({min(values):.3f}, n={len(values)})"


def table(results_dir):
    header = "| data | protocol | K | metric | " + " | ".join(MODELS) + " | published |"
    lines = [header, "|" + "---|" * (len(MODELS) + 5)]
    found = stale = False
    for dataset, title in DATASETS.items():
        path = Path(results_dir) / f"{dataset}_table.json"
        if not path.exists():
            continue
        payload = json.loads(path.read_text())
        params = payload.get("gmvae_params", TABLE_PARAMS)
        groups = group_cells(payload["cells"], params)
        for protocol, k in sorted(
            {key[:2] for key in groups}, key=lambda g: (g[0] != "train-test", g[1])
        ):
            metric = "accuracy" if k <= 10 else "purity"
            row = []
            for model in MODELS:
                rows, old = groups.get((protocol, k, model), ([], False))
                stale = stale or old
                text = cell([c["scores"][metric] for c in rows])
                row.append(text + (" †" if old else ""))
            published = PUBLISHED.get((dataset, protocol, k), "–")
            lines.append(
                f"| {title} | {protocol} | {k} | {metric} | "
                + " | ".join(row)
                + f" | {published} |"
            )
            found = True
    if not found:
        lines.append("| (no results yet) |" + " |" * (len(MODELS) + 4))
    if stale:
        lines += ["", STALE_NOTE]
    return "\n".join(lines)


def suite_summary(path):
    """``{data: (gmvae accuracies, best baseline name, its mean, stale)}``
    of the suite file ``path`` (empty where it does not exist)."""
    from bench_suite import make_model, summary

    if not Path(path).exists():
        return {}
    cells = json.loads(Path(path).read_text())["cells"]
    current = gmvae_fingerprint(make_model("GMVAE", 2, 0, False, {}))
    runs = {}
    for key, cell in cells.items():
        data, model, _ = key.split("/")
        runs.setdefault(data, {}).setdefault(model, []).append(cell)
    out = {}
    for data, models in runs.items():
        baselines = {
            m: summary([c["accuracy"] for c in r])[0] for m, r in models.items() if m != "GMVAE"
        }
        if "GMVAE" not in models or not baselines:
            continue
        best = max(baselines, key=baselines.get)
        stale = any(c.get("gmvae", current) != current for c in models["GMVAE"])
        accuracies = [c["accuracy"] for c in models["GMVAE"]]
        out[data] = (accuracies, best, baselines[best], stale)
    return out


def verdict(margin):
    if margin > LEVEL:
        return "ahead"
    return "level" if margin >= -LEVEL else "behind"


def suite_cell(summary):
    """``GMVAE mean (worst), n | margin verdict`` of one data set."""
    from bench_suite import summary as mean_std_worst

    accuracies, _, best_mean, stale = summary
    mean, _, worst = mean_std_worst(accuracies)
    margin = mean - best_mean
    mark = " †" if stale else ""
    shown = 0.0 if abs(margin) < 0.0005 else margin  # no "-0.000"
    return (
        f"{mean:.3f} ({worst:.3f}), n={len(accuracies)}{mark}",
        f"{shown:+.3f} {verdict(margin)}",
    )


def suite_table(results_dir, twelve_path):
    """The suite block: one row per data set of ``suite.json``."""
    from bench_suite import ALL

    main = suite_summary(Path(results_dir) / "suite.json")
    twelve = suite_summary(twelve_path)
    lines = [
        "| data | GMVAE (worst), seeds | best baseline | margin | "
        "GMVAE over 12 seeds (worst) | margin over 12 seeds |",
        "|---|---|---|---|---|---|",
    ]
    stale = False
    for data in [d for d in ALL if d in main]:
        gmvae, margin = suite_cell(main[data])
        best = f"{main[data][1]} {main[data][2]:.3f}"
        more, stale = ("–", "–"), stale or main[data][3]
        if data in twelve and len(twelve[data][0]) >= 12:
            more, stale = suite_cell(twelve[data]), stale or twelve[data][3]
        lines.append(f"| {data} | {gmvae} | {best} | {margin} | {more[0]} | {more[1]} |")
    if len(lines) == 2:
        lines.append("| (no results yet) |" + " |" * 5)
    if stale:
        lines += ["", SUITE_STALE_NOTE]
    return "\n".join(lines)


def replace_block(text, start, end, body):
    head, rest = text.split(start, 1)
    _, tail = rest.split(end, 1)
    return f"{head}{start}\n{body}\n{end}{tail}"


def render(readme_text, results_dir, twelve_path=None):
    """``readme_text`` with its results table, and its suite table where it
    has the suite markers, rendered from ``results_dir``."""
    if START not in readme_text or END not in readme_text:
        raise SystemExit(f"README.md lacks the markers {START!r} ... {END!r}")
    text = replace_block(readme_text, START, END, table(results_dir))
    if SUITE_START in text and SUITE_END in text:
        text = replace_block(
            text, SUITE_START, SUITE_END, suite_table(results_dir, twelve_path)
        )
    return text


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true")
    parser.add_argument("--readme", default=str(ROOT / "README.md"))
    parser.add_argument("--results", default=str(ROOT / "benchmarks" / "results"))
    parser.add_argument(
        "--suite-12", default=str(EXPERIMENT_RESULTS / "suite_12_seeds" / "suite.json"),
        help="the twelve-seed suite file",
    )
    args = parser.parse_args(argv)
    readme = Path(args.readme)
    old = readme.read_text()
    new = render(old, args.results, args.suite_12)
    if args.check:
        if new != old:
            print(f"{readme} is stale: run python benchmarks/make_readme_table.py")
            return 1
        print(f"{readme} is up to date")
        return 0
    readme.write_text(new)
    print(f"wrote the results table of {readme}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
