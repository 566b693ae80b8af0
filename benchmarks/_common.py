"""Helpers shared by the benchmark scripts."""

import argparse
import ast
import contextlib
import json
import os
import warnings
from pathlib import Path

import numpy as np

#: The repository root; the data sets live beside it, never downloaded.
ROOT = Path(__file__).resolve().parents[1]
#: The data directory: ``$SKGMVAE_DATA``, else ``shared/data`` beside the
#: repository (as for the tests).
DATA_DIR = Path(os.environ.get("SKGMVAE_DATA", ROOT.parent / "shared" / "data"))
#: Where the tools write their results (the documentation includes them).
RESULTS = ROOT / "benchmarks" / "results"
#: Where the experiments in ``benchmarks/experiments`` write theirs.
EXPERIMENT_RESULTS = ROOT / "benchmarks" / "experiments" / "results"
#: Folder name of each IDX data set under ``--data-dir`` -> its name in tables.
DATASETS = {"mnist": "MNIST", "fashion-mnist": "Fashion-MNIST"}


def add_dataset_argument(parser):
    """Add ``--dataset`` (a key of :data:`DATASETS`, MNIST by default)."""
    parser.add_argument("--dataset", default="mnist", choices=list(DATASETS))


def add_run_arguments(parser, overrides=True, out_dir=RESULTS):
    """Add the arguments every benchmark script shares to ``parser``:
    ``--quick`` (a small run, for checking the script), ``--data-dir`` (the
    IDX files: the data directory, ``$SKGMVAE_DATA`` when set), ``--out-dir``
    (where results go, ``out_dir`` by default: ``benchmarks/results`` for
    the tools, :data:`EXPERIMENT_RESULTS` for the experiments) and, with
    ``overrides``, any number of ``key=value`` estimator parameters (see
    :func:`parse_override`)."""
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--data-dir", default=str(DATA_DIR))
    parser.add_argument("--out-dir", default=str(out_dir))
    if overrides:
        parser.add_argument("overrides", nargs="*", type=parse_override)


def parse_override(text):
    """``key=value`` on the command line -> (key, Python literal or string)."""
    key, sep, value = text.partition("=")
    if not key or not sep:
        raise argparse.ArgumentTypeError(f"expected key=value, got {text!r}")
    try:
        return key, ast.literal_eval(value)
    except (ValueError, SyntaxError):
        return key, value


def environment():
    """The machine and library versions a fit ran on, as one line: the CPU's
    model name, whether it has bfloat16 matrix instructions, torch's thread
    count and the versions of the libraries a fit's arithmetic depends on.

    The same code and seed can give another model on another CPU or with
    other library versions (their float32 kernels round differently, and a
    start on the embedding can tip either way), so each saved fit records
    where it ran."""
    import platform
    from importlib.metadata import PackageNotFoundError, version

    import torch

    model, flags = platform.machine(), set()
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        for line in cpuinfo.read_text().splitlines():
            key, _, value = line.partition(":")
            if key.strip() == "model name":
                model = value.strip()
            elif key.strip() == "flags":
                flags = set(value.split())
            if flags and model != platform.machine():
                break
    names = ("torch", "numpy", "scipy", "scikit-learn", "umap-learn")
    versions = []
    for name in names:
        try:
            versions.append(f"{name} {version(name)}")
        except PackageNotFoundError:
            versions.append(f"{name} -")
    bf16 = "avx512_bf16" if "avx512_bf16" in flags else "no avx512_bf16"
    return f"{model} ({bf16}), {torch.get_num_threads()} threads; " + ", ".join(versions)


def saved_cells(out_dir, stem, overrides, quick):
    """Results file of a run and the cells it already holds.

    The file is ``<out_dir>/<stem>[_<key>-<value>...][_quick].json``: runs with
    parameter overrides or in quick mode never share a file with the
    defaults. Returns ``(path, cells)``, ``cells`` empty for a new file.
    """
    tag = stem + "".join(f"_{key}-{value}" for key, value in overrides)
    tag += "_quick" if quick else ""
    path = Path(out_dir) / f"{tag}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    cells = json.loads(path.read_text())["cells"] if path.exists() else {}
    return path, cells


def write_table(out_dir, stem, table, caption, columns, cell):
    """Write ``table`` (``{data set: {column: values}}``) to
    ``<out_dir>/<stem>.json`` and, one row per data set with ``cell(values)``
    in each of ``columns``, as a Markdown table under ``caption`` to
    ``<stem>.md``; print where."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    (out / f"{stem}.json").write_text(json.dumps(table, indent=1))
    lines = [
        caption,
        "",
        "| data | " + " | ".join(columns) + " |",
        "|---|" + "---|" * len(columns),
    ]
    for name, row in table.items():
        lines.append(f"| {name} | " + " | ".join(cell(row[c]) for c in columns) + " |")
    (out / f"{stem}.md").write_text("\n".join(lines) + "\n")
    print(f"wrote {out / (stem + '.md')}")


def report(results, path, **meta):
    """Print each model's worst seed and write ``meta`` plus the per-seed
    results of :func:`skgmvae.__main__.compare_models` to ``path`` as JSON."""
    for name, rows in results.items():
        print(f"{name:<16} worst seed accuracy {rows[:, 0].min():.3f}")
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    payload = {
        **meta,
        "columns": ["accuracy", "nmi", "ari", "fit_seconds"],
        "results": {k: v.tolist() for k, v in results.items()},
    }
    path.write_text(json.dumps(payload, indent=2, default=str))
    print(f"wrote {path}")


def mean_std(values):
    """``"mean ± std"`` of a list of scores (population std), 3 decimals."""
    values = np.asarray(values, dtype=float)
    return f"{values.mean():.3f} ± {values.std():.3f}"


#: Published MNIST figures: the GMVAE paper
#: (Dilokthanakul et al., 2016, Table 1) and the adversarial autoencoder it
#: compares with score the test images; DEC (Xie et al., 2016) and VaDE
#: (Jiang et al., 2017) fit and score all 70,000 images.
PUBLISHED = {
    ("mnist", "train-test", 10): "GMVAE paper 0.778 ± 0.058",
    ("mnist", "train-test", 16): "GMVAE paper 0.878 ± 0.053; AAE 0.905",
    ("mnist", "train-test", 30): "GMVAE paper 0.928 ± 0.016; AAE 0.959",
    ("mnist", "all", 10): "VaDE 0.945; DEC 0.843",
}


@contextlib.contextmanager
def patched(module, name, value):
    """``module.name`` set to ``value`` while the block runs, restored
    afterwards (a package constant, or a function an experiment stands in
    for)."""
    saved = getattr(module, name)
    setattr(module, name, value)
    try:
        yield
    finally:
        setattr(module, name, saved)


def gmvae_fingerprint(estimator):
    """The parameters of the GMVAE ``estimator`` but its seed, the package's
    upper-case constants (its rules behind "auto" values) and a hash of its
    code, as a string: a saved GMVAE fit is reused only while these are
    unchanged, so a new default or any change to the code refits it, and a
    change to its docstrings or comments alone does not."""
    params = estimator.get_params()
    params.pop("random_state")
    return repr((sorted(params.items()), _package_fingerprint()))


def _package_fingerprint():
    """The package's upper-case constants and the hash of its code."""
    import hashlib

    import skgmvae
    from skgmvae import _data, _fitting, _init, _train, _utils

    constants = [
        getattr(module, name)
        for module in (_data, _fitting, _init, _train, _utils)
        for name in sorted(vars(module))
        if name.isupper() and isinstance(getattr(module, name), (int, float, tuple))
    ]
    source = hashlib.sha256()
    for path in sorted(Path(skgmvae.__file__).parent.glob("*.py")):
        source.update(path.name.encode() + b"\0" + code_digest(path.read_text()))
    return constants, source.hexdigest()


#: The syntax nodes that may open with a docstring.
DOCUMENTED = (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)


def code_digest(text):
    """SHA-256 of the Python source ``text`` as the interpreter reads it:
    its syntax tree without docstrings (comments and layout are not in the
    tree), so editing prose leaves the digest as it was."""
    import hashlib

    tree = ast.parse(text)
    for node in ast.walk(tree):
        if isinstance(node, DOCUMENTED) and ast.get_docstring(node, clean=False) is not None:
            node.body = node.body[1:] or [ast.Pass()]
    return hashlib.sha256(ast.dump(tree).encode()).digest()


def write_result(out_dir, stem, result, lines):
    """Write ``result`` to ``<out_dir>/<stem>.json`` and the markdown
    ``lines`` to ``<stem>.md`` beside it, print them, and return ``result``."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    (out / f"{stem}.json").write_text(json.dumps(result, indent=1))
    text = "\n".join(lines) + "\n"
    (out / f"{stem}.md").write_text(text)
    print(text)
    return result


def elbo_step_parts(n_rows, n_features):
    """What the ELBO steps of a default ``likelihood="bernoulli"`` fit on
    ``n_rows`` rows of ``n_features`` use: the estimator, its network (seed
    0), the minibatch size and the dtype of the products that "auto" gives
    on this machine, a fused Adam at the "auto" step size, and 4,096 random
    binary rows with the generator that draws the minibatches (the time of
    a step does not depend on the rows)."""
    import types

    import torch

    from skgmvae import GMVAEClustering, _fitting
    from skgmvae._model import build_net
    from skgmvae._train import make_optimizer
    from skgmvae._utils import training_dtype

    est = GMVAEClustering(10, likelihood="bernoulli")
    net = build_net(_fitting.net_config(est, n_features, n_rows), 0)
    batch = _fitting.batch_size(est, n_rows)
    gen = torch.Generator().manual_seed(0)
    return types.SimpleNamespace(
        estimator=est,
        net=net,
        batch_size=batch,
        dtype=training_dtype(_fitting.precision(est, n_rows), "cpu"),
        optimizer=make_optimizer(net, _fitting.learning_rate(est, batch)),
        generator=gen,
        rows=(torch.rand(4096, n_features, generator=gen) > 0.5).float(),
    )


def step_runner(parts, loss_of):
    """``run(n)``: ``n`` training steps of ``parts`` (from
    :func:`elbo_step_parts`), each on a random minibatch and one Monte
    Carlo draw, minimising ``loss_of(y, noise)``; returns their seconds."""
    import time

    import torch

    net, rows, gen, batch = parts.net, parts.rows, parts.generator, parts.batch_size
    dims = net.latent_dim + net.noise_dim

    def run(n):
        net.train()
        tic = time.perf_counter()
        for _ in range(n):
            idx = torch.randint(0, len(rows), (batch,), generator=gen)
            noise = torch.randn(1, batch, dims, generator=gen)
            loss = loss_of(rows[idx], noise)
            parts.optimizer.zero_grad(set_to_none=True)
            loss.backward()
            parts.optimizer.step()
        return time.perf_counter() - tic

    return run


def add_seed_table_arguments(parser, seeds, names):
    """Add the arguments of :func:`seeds_per_dataset`'s experiments:
    ``--seeds`` (default ``seeds``), ``--datasets`` (among ``names``, all by
    default), ``--quick`` and ``--out-dir`` (the experiments' results)."""
    parser.add_argument("--seeds", type=int, default=seeds)
    parser.add_argument("--datasets", nargs="+", default=list(names), choices=names)
    parser.add_argument("--quick", action="store_true", help="300 rows, short fits")
    parser.add_argument("--out-dir", default=str(EXPERIMENT_RESULTS))


def mean_worst(values):
    """``"mean (worst)"`` of accuracies to three decimals; "-" where one is
    missing (None)."""
    if any(v is None for v in values):
        return "-"
    return f"{np.mean(values):.3f} ({min(values):.3f})"


def own_covariance_blobs(seed, n_blobs, n_rows, n_features, spread):
    """``n_blobs`` Gaussian blobs of ``n_rows`` rows, each with its own
    random covariance (standard normal rows times a standard normal
    ``n_features`` square matrix) and a centre drawn with standard deviation
    ``spread``, from ``numpy.random.default_rng(seed)``; rows and blob
    labels."""
    rng = np.random.default_rng(seed)
    parts = [
        rng.normal(size=(n_rows, n_features)) @ rng.normal(size=(n_features, n_features))
        + rng.normal(scale=spread, size=n_features)
        for _ in range(n_blobs)
    ]
    return np.vstack(parts), np.repeat(np.arange(n_blobs), n_rows)


def random_rows(X, y, n_rows=300):
    """A seeded random ``n_rows`` of ``(X, y)``: the ``--quick`` subset of
    data sets that are sorted by class."""
    keep = np.random.default_rng(0).permutation(len(y))[:n_rows]
    return X[keep], y[keep]


def seeds_per_dataset(args, stem, names, load, one_seed, report, quick_rows=None):
    """Fill ``<args.out_dir>/<stem>[_quick].json`` with ``one_seed(X, y, k,
    seed, args.quick)`` for ``args.seeds`` seeds of each data set in
    ``names``, resuming: a data set already there with as many seeds is
    skipped, and each finished one is saved at once and passed to
    ``report(name, rows)``. ``load(name)`` gives ``(X, y)``; with
    ``--quick``, ``quick_rows(X, y)`` (default: the first 300 rows) gives the
    subset. Returns the table of ``names`` and the path of the file."""
    out = Path(args.out_dir)
    out.mkdir(parents=True, exist_ok=True)
    path = out / f"{stem}{'_quick' if args.quick else ''}.json"
    table = json.loads(path.read_text()) if path.exists() else {}
    for name in names:
        if len(table.get(name, [])) == args.seeds:
            continue
        X, y = load(name)
        if args.quick:
            X, y = quick_rows(X, y) if quick_rows else (X[:300], y[:300])
        k = len(np.unique(y))
        table[name] = [one_seed(X, y, k, seed, args.quick) for seed in range(args.seeds)]
        path.write_text(json.dumps(table, indent=1))
        report(name, table[name])
    return {name: table[name] for name in names}, path


def seed_table_main(argv, doc, stem, seeds, names, load, one_seed, summary, write_table,
                    quick_rows=None):
    """The command line of a seed-table experiment: parse ``argv``
    (:func:`add_seed_table_arguments`, ``seeds`` by default, data sets among
    ``names``), fill ``<stem>.json`` (:func:`seeds_per_dataset`) with
    warnings silenced, print ``summary(name, rows)`` as each data set
    finishes, and write the markdown table with ``write_table(table, path)``
    beside it. ``doc``: the experiment's docstring, whose first paragraph
    describes it in ``--help``."""
    parser = argparse.ArgumentParser(description=doc.split("\n\n")[0])
    add_seed_table_arguments(parser, seeds, names)
    args = parser.parse_args(argv)
    warnings.simplefilter("ignore")

    def report(name, rows):
        print(summary(name, rows), flush=True)

    table, path = seeds_per_dataset(
        args, stem, args.datasets, load, one_seed, report, quick_rows
    )
    write_table(table, path.with_suffix(".md"))
    print(f"wrote {path.with_suffix('.md')}")
