"""The MNIST table script (quick form) and the README table made from it."""

import json

import pytest


@pytest.fixture(scope="module")
def quick_table(data_dir, tmp_path_factory, run_benchmark):
    out = tmp_path_factory.mktemp("table")
    args = ["--quick", "--data-dir", data_dir, "--out-dir", out]
    args += ["--n-components", "10", "12", "--mc", "1", "10"]
    run_benchmark("bench_mnist_table.py", *args)
    return out, args


def test_quick_table_has_every_cell(quick_table):
    out, _ = quick_table
    cells = json.loads((out / "mnist_table_quick.json").read_text())["cells"]
    models = ("GMVAE M=1", "GMVAE M=10", "KMeans", "GaussianMixture")
    expected = {
        f"{p}/K{k}/{m}/seed0"
        for p in ("train-test", "all")
        for k in (10, 12)
        for m in models
    }
    assert set(cells) == expected
    for cell in cells.values():
        s = cell["scores"]
        assert 0 <= s["accuracy"] <= 1 and 0 <= s["nmi"] <= 1 and s["fit_seconds"] > 0
        # many-to-one matching can only do better than one-to-one
        assert s["purity"] >= s["accuracy"] - 1e-12
        if cell["protocol"] == "train-test":
            assert (cell["n_fit"], cell["n_score"]) == (2000, 1000)
        else:
            assert cell["n_fit"] == cell["n_score"] == 3000
    assert cells["all/K12/GMVAE M=10/seed0"]["params"]["n_mc_samples"] == "10"
    gmvae = cells["train-test/K10/GMVAE M=1/seed0"]["scores"]
    assert gmvae["pretrain_epochs"] == 2 and gmvae["elbo_epochs"] == 2
    assert 0 < gmvae["seconds_per_elbo_epoch"] < gmvae["fit_seconds"]
    # KMeans on MNIST pixels is near 0.5 accuracy
    assert 0.3 < cells["all/K10/KMeans/seed0"]["scores"]["accuracy"] < 0.8
    table = (out / "mnist_table_quick.md").read_text()
    assert table.count("\n| train-test |") == 8 and table.count("\n| all |") == 8


def test_rerun_skips_finished_fits(quick_table, run_benchmark, monkeypatch):
    out, args = quick_table
    path = out / "mnist_table_quick.json"
    before = path.read_text()
    import sklearn.cluster

    def refuse(*a, **k):
        raise AssertionError("a finished fit was run again")

    monkeypatch.setattr(sklearn.cluster.KMeans, "fit", refuse)
    run_benchmark("bench_mnist_table.py", *args)
    assert path.read_text() == before


def readme_from_quick_table(quick_table, folder, before="", inside="", after=""):
    """A README in ``folder`` with the table markers around ``inside``, and the
    make_readme_table arguments that render the quick table into it."""
    out, _ = quick_table
    (out / "mnist_table.json").write_text((out / "mnist_table_quick.json").read_text())
    readme = folder / "README.md"
    readme.write_text(
        f"{before}<!-- results-table:start (python benchmarks/make_readme_table.py) -->"
        f"\n{inside}<!-- results-table:end -->\n{after}"
    )
    return readme, ["--readme", readme, "--results", out]


def test_readme_table_renders_and_checks(quick_table, tmp_path, run_benchmark):
    readme, common = readme_from_quick_table(
        quick_table, tmp_path, "intro\n", "old\n", "rest\n"
    )
    with pytest.raises(SystemExit) as exc:
        run_benchmark("make_readme_table.py", "--check", *common)
    assert exc.value.code == 1
    with pytest.raises(SystemExit) as exc:
        run_benchmark("make_readme_table.py", *common)
    assert exc.value.code == 0
    text = readme.read_text()
    assert text.startswith("intro\n") and text.endswith("rest\n") and "old" not in text
    row = next(line for line in text.splitlines() if "| MNIST | all | 12 |" in line)
    assert "| purity |" in row and row.count("n=1") == 4
    with pytest.raises(SystemExit) as exc:
        run_benchmark("make_readme_table.py", "--check", *common)
    assert exc.value.code == 0


def test_repository_readme_table_is_up_to_date(run_benchmark):
    with pytest.raises(SystemExit) as exc:
        run_benchmark("make_readme_table.py", "--check")
    assert exc.value.code == 0, "run python benchmarks/make_readme_table.py"


def test_new_default_refits_gmvae_only(
    quick_table, tmp_path, run_benchmark, monkeypatch
):
    import shutil

    from skgmvae import _fitting

    src, args = quick_table
    out = tmp_path / "copy"
    shutil.copytree(src, out)
    args = [str(out) if a == src else a for a in args]
    before = json.loads((out / "mnist_table_quick.json").read_text())["cells"]

    monkeypatch.setattr(_fitting, "AUTO_PRETRAIN_ROWS", 1234)
    run_benchmark("bench_mnist_table.py", *args)
    after = json.loads((out / "mnist_table_quick.json").read_text())["cells"]
    assert set(after) == set(before)
    for key, cell in after.items():
        if cell["model"].startswith("GMVAE"):
            assert cell["params"]["auto_pretrain_rows"] == "1234"
            assert cell["scores"]["fit_seconds"] != before[key]["scores"]["fit_seconds"]
        else:  # baselines kept as they were, timings included
            assert cell == before[key]


@pytest.mark.parametrize("mc", ["0", "-1", "ten"])
def test_monte_carlo_samples_must_be_positive(mc, tmp_path, run_benchmark, capsys):
    with pytest.raises(SystemExit) as exc:
        run_benchmark("bench_mnist_table.py", "--out-dir", tmp_path, "--mc", mc)
    assert exc.value.code == 2
    assert "expected an integer >= 1" in capsys.readouterr().err
    assert not list(tmp_path.iterdir())  # nothing fitted, nothing written


def test_fits_with_earlier_defaults_are_flagged_not_mixed(
    quick_table, tmp_path, run_benchmark, monkeypatch
):
    from skgmvae import _fitting

    readme, common = readme_from_quick_table(quick_table, tmp_path)

    def gmvae_and_baselines(text):
        row = next(line for line in text.splitlines() if "| MNIST | all | 10 |" in line)
        return row.split(" | ")[4:6], row.split(" | ")[6:8]

    with pytest.raises(SystemExit):
        run_benchmark("make_readme_table.py", *common)
    gmvae, baselines = gmvae_and_baselines(readme.read_text())
    assert not any("†" in c for c in gmvae + baselines)
    assert "earlier version" not in readme.read_text()

    # a new default: the saved GMVAE fits no longer match what the script
    # would run, so they are shown flagged; the baselines are unaffected
    monkeypatch.setattr(_fitting, "AUTO_PRETRAIN_ROWS", 1234)
    with pytest.raises(SystemExit):
        run_benchmark("make_readme_table.py", *common)
    text = readme.read_text()
    gmvae, baselines = gmvae_and_baselines(text)
    assert all(c.endswith("†") for c in gmvae)
    assert not any("†" in c for c in baselines)
    assert "† fitted with the defaults of an earlier version" in text


def test_parameters_added_later_keep_saved_fits_current(monkeypatch, benchmark_module):
    """A parameter added after fits were saved is left out of a fit's record
    at the value those fits ran with, and recorded at any other value."""
    from skgmvae import GMVAEClustering

    table = benchmark_module("bench_mnist_table.py")
    ADDED_PARAMS, UNREAD_AT_AUTO = table.ADDED_PARAMS, table.UNREAD_AT_AUTO
    model_params = table.model_params

    # a default fit leaves out each added parameter at the value the saved
    # fits ran with, and records those whose default has changed since
    defaults = GMVAEClustering().get_params()
    assert {"learning_rate_decay", "grow_from", "init_params"} <= set(ADDED_PARAMS)
    changed = {k for k, v in ADDED_PARAMS.items() if defaults[k] != v}
    assert {"init_params", "graph_weight"} <= changed
    default = model_params("GMVAE", 30, 1, {"likelihood": "bernoulli"})
    assert set(ADDED_PARAMS) & set(default) == changed - set(UNREAD_AT_AUTO)
    # a parameter the table's fits leave unread at "auto" is recorded where
    # a start or a weight set by hand reads it
    assert "n_neighbors" in UNREAD_AT_AUTO and "n_neighbors" not in default
    spectral = model_params(
        "GMVAE", 30, 1, {"likelihood": "bernoulli", "init_params": "spectral"}
    )
    assert spectral["n_neighbors"] == repr(defaults["n_neighbors"])
    weighted = model_params(
        "GMVAE", 30, 1, {"likelihood": "bernoulli", "graph_weight": 1.0}
    )
    assert weighted["n_neighbors"] == repr(defaults["n_neighbors"])
    assert "learning_rate" in default
    decayed = model_params(
        "GMVAE", 30, 1, {"likelihood": "bernoulli", "learning_rate_decay": 0.5}
    )
    assert decayed["learning_rate_decay"] == "0.5"
    assert {k: v for k, v in decayed.items() if k != "learning_rate_decay"} == default
    grown = model_params("GMVAE", 30, 1, {"likelihood": "bernoulli", "grow_from": 10})
    assert grown["grow_from"] == "10"
    # a fit that splits records the split, so that a new split makes it stale
    from skgmvae import _init

    assert f"'kmeans_init': {_init.SPLIT_KMEANS_INIT}" in grown["split"]
    monkeypatch.setattr(table, "SPLIT_RECIPE", "another split")
    regrown = model_params("GMVAE", 30, 1, {"likelihood": "bernoulli", "grow_from": 10})
    assert regrown["split"] != grown["split"]
    assert {k: v for k, v in regrown.items() if k != "split"} == {
        k: v for k, v in grown.items() if k != "split"
    }
    assert "split" not in default
    same = model_params("GMVAE", 10, 1, {"likelihood": "bernoulli", "grow_from": 10})
    assert "split" not in same


def test_plain_cut_run_has_its_own_file_and_restores_the_default(
    data_dir, tmp_path, run_benchmark
):
    from skgmvae import _init

    args = ["--quick", "--data-dir", data_dir, "--out-dir", tmp_path, "--plain-cut"]
    args += ["--protocol", "all", "--n-components", "10", "--mc", "1", "--baselines"]
    run_benchmark("bench_mnist_table.py", *args)
    assert _init.CONSENSUS_BALANCE is True
    assert not (tmp_path / "mnist_table_quick.json").exists()
    cells = json.loads((tmp_path / "mnist_table_plain-cut_quick.json").read_text())["cells"]
    assert set(cells) == {"all/K10/GMVAE M=1/seed0"}
    assert "'consensus_balance': False" in cells["all/K10/GMVAE M=1/seed0"]["params"]["mixture_init"]


def test_suite_block_gives_each_set_its_margin_and_verdict(
    tmp_path, run_benchmark, benchmark_module
):
    """The README's suite block: per data set the GMVAE's mean and worst
    seed, the best baseline, the margin and whether that is ahead, level or
    behind; fits of another package version are marked; the twelve-seed
    columns come from their own file and only for sets with twelve seeds."""
    common = benchmark_module("_common.py")
    suite = benchmark_module("bench_suite.py")
    current = common.gmvae_fingerprint(suite.make_model("GMVAE", 2, 0, False, {}))
    runs = {
        ("iris", "GMVAE"): [0.95, 0.97, 0.96],
        ("iris", "KMeans"): [0.90, 0.90, 0.90],
        ("iris", "GMM-full"): [0.99, 0.99, 0.99],
        ("wine", "GMVAE"): [0.97, 0.97, 0.97],
        ("wine", "KMeans-scaled"): [0.966, 0.966, 0.966],
        ("moons", "GMVAE"): [1.0, 1.0, 1.0],
        ("moons", "KMeans"): [0.8, 0.8, 0.8],
        ("circles", "GMVAE"): [774 / 800] * 3,  # a mean of 0.96749999...
        ("circles", "KMeans"): [0.5] * 3,
    }

    def cells(runs, stale=()):
        out = {}
        for (data, model), accuracies in runs.items():
            for seed, accuracy in enumerate(accuracies):
                out[f"{data}/{model}/{seed}"] = {"accuracy": accuracy}
                if model == "GMVAE":
                    out[f"{data}/{model}/{seed}"]["gmvae"] = "old" if data in stale else current
        return {"params": {}, "cells": out}

    (tmp_path / "suite.json").write_text(json.dumps(cells(runs, stale=("moons",))))
    twelve = {("iris", "GMVAE"): [0.96] * 11 + [0.94], ("iris", "GMM-full"): [0.95] * 12,
              ("wine", "GMVAE"): [0.9] * 3, ("wine", "KMeans"): [0.8] * 3}
    (tmp_path / "twelve.json").write_text(json.dumps(cells(twelve)))
    readme = tmp_path / "README.md"
    readme.write_text(
        "<!-- results-table:start (python benchmarks/make_readme_table.py) -->\n"
        "<!-- results-table:end -->\n"
        "<!-- suite-table:start (python benchmarks/make_readme_table.py) -->\nold\n"
        "<!-- suite-table:end -->\n"
    )
    args = ["--readme", readme, "--results", tmp_path, "--suite-12", tmp_path / "twelve.json"]
    with pytest.raises(SystemExit) as exc:
        run_benchmark("make_readme_table.py", *args)
    assert exc.value.code == 0
    rows = {line.split(" | ")[0]: line.split(" | ") for line in readme.read_text().splitlines()}
    assert "old" not in rows
    iris, wine, moons = rows["| iris"], rows["| wine"], rows["| moons"]
    assert iris[1:4] == ["0.960 (0.950), n=3", "GMM-full 0.990", "-0.030 behind"]
    assert iris[4:] == ["0.958 (0.940), n=12", "+0.008 ahead |"]
    assert wine[1:4] == ["0.970 (0.970), n=3", "KMeans-scaled 0.966", "+0.004 level"]
    assert wine[4:] == ["–", "– |"]  # three seeds in the twelve-seed file: no columns
    assert moons[1].endswith("†") and moons[3] == "+0.200 ahead"
    assert rows["| circles"][1] == "0.968 (0.968), n=3"  # equal seeds: the mean is the worst
    assert "earlier version of the package" in readme.read_text()


def test_patched_restores_the_attribute_even_when_the_block_fails(benchmark_module):
    import types

    from skgmvae import _init

    patched = benchmark_module("_common.py").patched
    module = types.SimpleNamespace(VALUE=1)
    with patched(module, "VALUE", 2):
        assert module.VALUE == 2
    assert module.VALUE == 1
    with pytest.raises(RuntimeError), patched(module, "VALUE", 3):
        raise RuntimeError
    assert module.VALUE == 1
    # the table script's switch of the consensus cut is one such patch
    default = _init.CONSENSUS_BALANCE
    with benchmark_module("bench_mnist_table.py").consensus_cut(not default):
        assert _init.CONSENSUS_BALANCE is (not default)
    assert _init.CONSENSUS_BALANCE is default


def test_code_digest_ignores_prose_and_follows_code(benchmark_module):
    """Saved fits stay current when only docstrings, comments or layout
    change, and go stale when the code does."""
    digest = benchmark_module("_common.py").code_digest
    base = '"""Module."""\nA = 1\n\n\nclass C:\n    """C."""\n\n    def f(self, x):\n        """Twice."""\n        return 2 * x\n'
    prose = (
        '"""Another module text."""\n# a comment\nA = 1\n\n\nclass C:\n'
        '    """Other words."""\n\n    def f(self, x):  # note\n'
        '        """Two times ``x``,\n        over two lines."""\n        return 2 * (x)\n'
    )
    assert digest(prose) == digest(base)
    assert digest(base.replace("return 2 * x", "return 3 * x")) != digest(base)
    assert digest(base.replace("A = 1", "A = 2")) != digest(base)
    # a string that is not the first statement is code, not a docstring
    assert digest(base.replace("A = 1", "A = 1\n'x'")) != digest(base)
    # a docstring-only body stays a valid, distinct function
    assert digest('def g():\n    """Doc."""\n') == digest("def g():\n    pass\n")
    assert digest('def g():\n    """Doc."""\n') != digest("def g():\n    return 1\n")
