"""The ``skgmvae`` command line: the default demo, ``fit`` on files, the
progress display and the error messages."""

import io
import os
import pickle
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from sklearn.datasets import make_blobs

import skgmvae
from skgmvae import _cli, _demo
from skgmvae.__main__ import main

ROOT = Path(__file__).resolve().parents[1]
SMALL = dict(
    latent_dim=2,
    noise_dim=2,
    hidden_layer_sizes=(16,),
    prior_hidden=8,
    pretrain_epochs=3,
    kl_warmup=1,
    batch_size=64,
    n_score_samples=2,
)


@pytest.fixture
def small_model(monkeypatch):
    """Make the command build a tiny, fast GMVAEClustering."""
    original = skgmvae.GMVAEClustering
    made = []

    def small(n_components, **kw):
        made.append(original(n_components, **{**SMALL, **kw}))
        return made[-1]

    monkeypatch.setattr(skgmvae, "GMVAEClustering", small)
    return made


@pytest.fixture
def no_fit(monkeypatch):
    """Fail the test if the command starts training."""

    def refuse(*args, **kwargs):
        raise AssertionError("the command should have stopped before fitting")

    monkeypatch.setattr(skgmvae, "GMVAEClustering", refuse)


def _blobs(n=60):
    X, _ = make_blobs(n, n_features=3, centers=3, cluster_std=0.5, random_state=0)
    return X


def _csv(path, X, header="a,b,c", delimiter=","):
    lines = [header] if header else []
    lines += [delimiter.join(f"{v:.6f}" for v in row) for row in X]
    path.write_text("\n".join(lines) + "\n")
    return path


# ----------------------------------------------------------------------
# command structure
# ----------------------------------------------------------------------
@pytest.mark.parametrize(
    "argv, seeds, verbose",
    [
        ([], 3, 0),
        (["demo"], 3, 0),
        (["demo", "--seeds", "2", "-v"], 2, 1),
        (["--seeds", "1"], 1, 0),
    ],
)
def test_no_command_and_demo_run_the_demo(monkeypatch, argv, seeds, verbose):
    calls = []
    monkeypatch.setattr(_cli, "run_demo", lambda **kw: calls.append(kw))
    assert main(argv) == 0
    assert calls == [{"seeds": seeds, "verbose": verbose}]


def test_help_explains_commands_and_options(capsys):
    assert main(["--help"]) == 0
    out = capsys.readouterr().out
    for text in ("demo", "fit", "load_digits", "COMMAND --help"):
        assert text in out
    assert main(["fit", "--help"]) == 0
    out = capsys.readouterr().out
    for option in (
        "--n-components",
        "--out",
        "--max-iter",
        "--random-state",
        "--likelihood",
        "--device",
        "--header",
        "--no-header",
        "--save-model",
        "--verbose",
    ):
        assert option in out
    assert main(["demo", "--help"]) == 0
    assert "--seeds" in capsys.readouterr().out
    assert main(["--version"]) == 0
    assert skgmvae.__version__ in capsys.readouterr().out


def test_usage_errors_exit_2(capsys, no_fit, tmp_path):
    path = _csv(tmp_path / "d.csv", _blobs())
    assert main(["fit", str(path)]) == 2  # no --n-components
    assert "--n-components" in capsys.readouterr().err
    assert main(["fit", str(path), "-k", "0"]) == 2
    assert "integer >= 1 or 'auto'" in capsys.readouterr().err
    assert main(["fit", str(path), "-k", "many"]) == 2
    assert "integer >= 1 or 'auto'" in capsys.readouterr().err
    assert main(["demo", "--seeds", "0"]) == 2
    assert main(["cluster"]) == 2


# ----------------------------------------------------------------------
# fit
# ----------------------------------------------------------------------
def test_fit_csv_writes_labels_summary_and_model(tmp_path, capsys, small_model):
    X = _blobs()
    data = _csv(tmp_path / "data.csv", X)
    model_path = tmp_path / "model.pkl"
    argv = [
        "fit",
        str(data),
        "-k",
        "3",
        "--max-iter",
        "3",
        "--save-model",
        str(model_path),
    ]
    assert main(argv) == 0
    out = capsys.readouterr().out
    labels = np.loadtxt(tmp_path / "data_labels.csv", dtype=int)
    assert labels.shape == (60,) and set(labels) <= {0, 1, 2}
    model = pickle.loads(model_path.read_bytes())
    np.testing.assert_array_equal(model.predict(X), labels)
    assert model.max_iter == 3 and model.random_state == 0
    assert "60 rows x 3 features (header line skipped)" in out
    assert f"{model.lower_bound_:.4f}" in out
    sizes = np.bincount(labels, minlength=3)
    for cluster, size in enumerate(sizes):
        assert f"  {cluster:>7d} {size:>8d} " in out
    assert "Done in" in out and "3 epochs" in out
    assert "data_labels.csv" in out and "model.pkl" in out
    assert "note: training stopped at --max-iter 3" in out


def test_fit_is_reproducible_and_follows_options(tmp_path, small_model):
    data = tmp_path / "data.npy"
    np.save(data, _blobs())
    for name in ("a.npy", "b.npy"):
        assert (
            main(
                [
                    "fit",
                    str(data),
                    "-k",
                    "3",
                    "--max-iter",
                    "2",
                    "-o",
                    str(tmp_path / name),
                    "--random-state",
                    "5",
                ]
            )
            == 0
        )
    np.testing.assert_array_equal(
        np.load(tmp_path / "a.npy"), np.load(tmp_path / "b.npy")
    )
    model = small_model[-1]
    assert (model.n_components, model.max_iter, model.random_state) == (3, 2, 5)
    assert (
        main(
            [
                "fit",
                str(data),
                "-k",
                "2",
                "--max-iter",
                "1",
                "--n-init",
                "2",
                "--likelihood",
                "gaussian",
                "--device",
                "cpu",
                "-o",
                str(tmp_path / "c.txt"),
            ]
        )
        == 0
    )
    assert small_model[-1].n_init == 2 and small_model[-1].device == "cpu"
    assert np.loadtxt(tmp_path / "c.txt").shape == (60,)


def test_fit_labels_to_stdout_and_summary_to_stderr(tmp_path, capsys, small_model):
    data = _csv(tmp_path / "d.csv", _blobs(), header=None)
    assert main(["fit", str(data), "-k", "3", "--max-iter", "1", "--out", "-"]) == 0
    captured = capsys.readouterr()
    labels = np.loadtxt(io.StringIO(captured.out), dtype=int)
    assert labels.shape == (60,)
    assert "Cluster sizes" in captured.err and "stdout" in captured.err


@pytest.mark.parametrize(
    "header, option, rows",
    [
        ("a,b,c", [], 60),
        (None, [], 60),
        (None, ["--header"], 59),
        ('"x","y","z"', [], 60),
    ],
)
def test_header_is_detected_or_set(tmp_path, small_model, header, option, rows):
    data = _csv(tmp_path / "d.csv", _blobs(), header=header)
    out = tmp_path / "l.npy"
    assert (
        main(["fit", str(data), "-k", "2", "--max-iter", "1", "-o", str(out), *option])
        == 0
    )
    assert np.load(out).shape == (rows,)


@pytest.mark.parametrize(
    "suffix, delimiter", [(".csv", ";"), (".tsv", "\t"), (".txt", " "), (".csv", "\t")]
)
def test_delimiters_are_detected(tmp_path, small_model, suffix, delimiter):
    data = _csv(tmp_path / f"d{suffix}", _blobs(), header=None, delimiter=delimiter)
    out = tmp_path / "l.npy"
    assert main(["fit", str(data), "-k", "2", "--max-iter", "1", "-o", str(out)]) == 0
    assert np.load(out).shape == (60,)
    assert small_model[-1].n_features_in_ == 3


def test_verbose_prints_epochs(tmp_path, capsys, small_model):
    data = _csv(tmp_path / "d.csv", _blobs())
    assert main(["fit", str(data), "-k", "3", "--max-iter", "2", "-v"]) == 0
    out = capsys.readouterr().out
    assert "[elbo] epoch 1/2" in out and "[elbo] epoch 2/2" in out


def test_progress_is_shown_in_place_on_a_terminal(
    tmp_path, capsys, small_model, monkeypatch
):
    monkeypatch.setattr(_cli, "is_terminal", lambda stream: True)
    data = _csv(tmp_path / "d.csv", _blobs())
    assert main(["fit", str(data), "-k", "3", "--max-iter", "2"]) == 0
    out = capsys.readouterr().out
    assert "\r  epoch 2/2 | ELBO " in out and "left" in out
    assert "[elbo]" not in out  # full lines only with --verbose
    assert out.splitlines()[-1].startswith("Labels written") or "note:" in out


# ----------------------------------------------------------------------
# errors: exit status 2, no traceback, what to do next
# ----------------------------------------------------------------------
def _write(tmp_path, name, content):
    path = tmp_path / name
    if isinstance(content, np.ndarray):
        np.save(path, content, allow_pickle=True)
    elif content is not None:
        path.write_text(content)
    return path


@pytest.mark.parametrize(
    "name, content, extra, expected",
    [
        ("nope.csv", None, [], "no such file. Check the path"),
        ("d.csv", "a,b\n1,2\n3,x\n5,6\n", [], "line 3, column 2: 'x' is not a number"),
        ("d.csv", "1,2\n3,\n5,6\n", [], "line 2, column 2 is empty"),
        ("d.csv", "1,b\n1,2\n3,4\n", [], "mixes numbers and text.*pass --header"),
        ("d.csv", "1,2\n1,2,3\n3,4\n", [], "line 2 has 3 columns.*--delimiter"),
        ("d.csv", "1,2\nnan,4\n3,4\n", [], "data row 2.*missing or infinite"),
        ("d.csv", "", [], "empty"),
        ("d.csv", "a,b\n", [], "no rows of data"),
        ("d.csv", "a,b\n1,2\n3,4\n", ["--no-header"], "'a' is not a number"),
        ("d.xlsx", "x", [], "unsupported file type '.xlsx'.*export it as CSV"),
        ("d.npy", np.arange(5.0), [], r"1-D array.*reshape\(-1, 1\)"),
        ("d.npy", np.zeros((2, 2, 2)), [], r"3-D array.*reshape\(len\(X\), -1\)"),
        ("d.npy", np.array([1, "a"], dtype=object), [], "Python objects"),
        ("d.npy", np.array(["a", "b"]), [], "not numbers"),
        ("d.csv", "1,2\n3,4\n", ["-o", "l.json"], "unsupported file type '.json'"),
        ("d.csv", "1,2\n3,4\n", ["-o", "nodir/l.csv"], "does not exist. Create it"),
        (
            "d.csv",
            "1,2\n3,4\n",
            ["--save-model", "nodir/m.pkl"],
            "model.*does not exist",
        ),
        ("d.csv", "1,2\n3,4\n", ["-o", "d.csv"], "is the input file"),
        ("d.csv", "1,2\n3,4\n", ["--device", "cuda"], "not available.*--device cpu"),
        ("d.csv", "1,2\n3,4\n", ["--device", "tpu-please"], "not a valid torch device"),
    ],
)
def test_input_errors_say_what_to_do(
    tmp_path, capsys, monkeypatch, no_fit, name, content, extra, expected
):
    import re

    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.chdir(tmp_path)
    path = _write(tmp_path, name, content)
    k = [] if "-k" in extra else ["-k", "2"]
    assert main(["fit", str(path), *k, *extra]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err
    assert re.search(f"fit: error: .*{expected}", err, re.DOTALL), err


@pytest.mark.parametrize(
    "content, extra, expected",
    [
        (
            "1,2\n3,4\n5,6\n",
            ["-k", "4"],
            "--n-components 4 must be <= n_samples=3.*--n-components 3 or fewer",
        ),
        ("1,2\n", ["-k", "1"], "1 sample.*a minimum of 2.*Pass more rows"),
        (
            "1,2\n3,4\n",
            ["-k", "2", "--likelihood", "bernoulli"],
            r"--likelihood bernoulli needs .*\[0, 1\].*--likelihood gaussian",
        ),
    ],
)
def test_data_the_model_rejects_is_a_clean_error(
    tmp_path, capsys, small_model, content, extra, expected
):
    import re

    path = _write(tmp_path, "d.csv", content)
    assert main(["fit", str(path), *extra]) == 2
    captured = capsys.readouterr()
    assert captured.err.count("\n") == 1 and "Traceback" not in captured.err
    assert re.search(f"fit: error: .*{expected}", captured.err), captured.err
    assert "n_components=" not in captured.err and "likelihood=" not in captured.err
    assert not (tmp_path / "d_labels.csv").exists()


def test_estimator_errors_become_clean_errors(tmp_path, capsys, monkeypatch):
    class Failing:
        def __init__(self, *args, **kwargs):
            pass

        def fit(self, X):
            raise ValueError("something about X. Do this.")

    monkeypatch.setattr(skgmvae, "GMVAEClustering", Failing)
    data = _csv(tmp_path / "d.csv", _blobs())
    assert main(["fit", str(data), "-k", "2"]) == 2
    assert capsys.readouterr().err.endswith("error: something about X. Do this.\n")


def test_divergence_exits_1_without_traceback(tmp_path, capsys, monkeypatch):
    class Diverging:
        def __init__(self, *args, **kwargs):
            pass

        def fit(self, X):
            raise FloatingPointError("the ELBO became non-finite")

    monkeypatch.setattr(skgmvae, "GMVAEClustering", Diverging)
    data = _csv(tmp_path / "d.csv", _blobs())
    assert main(["fit", str(data), "-k", "2"]) == 1
    err = capsys.readouterr().err
    assert (
        "training failed: the ELBO became non-finite" in err and "Traceback" not in err
    )


def test_python_m_skgmvae_error_has_exit_status_2(tmp_path):
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "skgmvae",
            "fit",
            str(tmp_path / "missing.csv"),
            "-k",
            "2",
        ],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env={
            **os.environ,
            "PYTHONPATH": os.pathsep.join(
                filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])
            ),
        },
        timeout=120,
        check=False,
    )
    assert result.returncode == 2
    assert result.stderr.startswith("python -m skgmvae fit: error: ")
    assert "no such file" in result.stderr and "Traceback" not in result.stderr


# ----------------------------------------------------------------------
# the demo's progress and summary
# ----------------------------------------------------------------------
def _results(acc, nmi, ari, seconds=(5.0, 0.1, 0.1), spread=0.0):
    names = ("GMVAEClustering", "KMeans", "GaussianMixture")
    return {
        name: np.array([[a + d, n + d, r + d, s] for d in (-spread, spread)])
        for name, a, n, r, s in zip(names, acc, nmi, ari, seconds)
    }


def test_summary_names_the_winner_and_the_margin():
    lines = _demo.summarize(
        _results((0.82, 0.79, 0.66), (0.80, 0.74, 0.62), (0.73, 0.67, 0.51))
    )
    assert lines[0] == (
        "Winner: GMVAEClustering on all three measures (mean of 2 seeds), ahead "
        "of KMeans by 0.030 accuracy, 0.060 NMI and 0.060 ARI."
    )
    assert lines[-1].startswith("Fit time per seed: GMVAEClustering 5.00s")
    assert len(lines) == 2


def test_summary_per_measure_and_seed_spread():
    lines = _demo.summarize(
        _results(
            (0.82, 0.79, 0.66), (0.70, 0.74, 0.62), (0.73, 0.67, 0.51), spread=0.02
        )
    )
    assert lines[0].startswith("Best model per measure")
    assert "accuracy GMVAEClustering, by 0.030 over KMeans" in lines[1]
    assert "NMI      KMeans, by 0.040 over GMVAEClustering" in lines[2]
    assert "within twice the seed-to-seed standard deviation" in lines[4]
    assert "accuracy" in lines[4] and "NMI" in lines[4]


def test_compare_models_prints_progress_table_and_verdict(small_model):
    X, y = make_blobs(90, n_features=3, centers=3, cluster_std=0.5, random_state=1)
    out = io.StringIO()
    results = _demo.compare_models(X, y, 3, seeds=1, params={"max_iter": 2}, out=out)
    text = out.getvalue()
    assert "[1/3] GMVAEClustering  seed 0: accuracy" in text
    assert "[3/3] GaussianMixture  seed 0: accuracy" in text
    assert "Fit time per seed" in text
    assert set(results) == {"GMVAEClustering", "KMeans", "GaussianMixture"}
    assert "\r" not in text  # no in-place display when not on a terminal


def test_live_status_shows_the_epochs_records_in_place():
    from types import SimpleNamespace

    term = io.StringIO()
    status = _demo.StatusLine(term, prefix="> ")
    live = _demo.LiveStatus(status)
    trainer = SimpleNamespace(
        params=SimpleNamespace(pretrain_epochs=4), first_epoch=0, last_epoch=9
    )
    live.on_pretrain_begin(trainer)
    live.on_pretrain_epoch_end(
        trainer, {"phase": "pretrain", "epoch": 1, "reconstruction": -1.5, "time": 1.0}
    )
    live.on_pretrain_epoch_end(
        trainer, {"phase": "pretrain", "epoch": 2, "reconstruction": -1.2, "time": 1.0}
    )
    live.on_elbo_begin(trainer)
    live.on_epoch_end(trainer, {"phase": "elbo", "epoch": 1, "elbo": -3.5, "time": 1.0})
    status.clear()
    shown = [part.rstrip() for part in term.getvalue().split("\r") if part.strip()]
    assert shown == [
        "> pretraining epoch 1/4 | reconstruction -1.5 | ~3.0s left",
        "> pretraining epoch 2/4 | reconstruction -1.2 | ~2.0s left",
        "> epoch 1/9 | ELBO -3.5 | ~8.0s left",
    ]
    assert term.getvalue().endswith("\r")


def test_live_status_leaves_the_models_callbacks_as_they_were(small_model):
    from skgmvae import GMVAEClustering

    X, _ = make_blobs(60, n_features=3, centers=3, random_state=0)
    term = io.StringIO()
    model = GMVAEClustering(3, max_iter=2, pretrain_epochs=1, random_state=0)
    with _demo.live_status(model, term, "", True):
        model.fit(X)
    assert model.callbacks is None
    assert "\repoch 2/2 | ELBO " in term.getvalue()


def test_fit_with_auto_reports_the_clusters_found(tmp_path, capsys, small_model):
    from sklearn.datasets import make_blobs

    X, _ = make_blobs(150, n_features=3, centers=3, cluster_std=0.3, random_state=0)
    data = _csv(tmp_path / "data.csv", X)
    out = tmp_path / "labels.csv"
    argv = ["fit", str(data), "-k", "auto", "-o", str(out), "--random-state", "0"]
    assert main(argv) == 0
    (model,) = small_model
    assert model.n_components == "auto"
    report = capsys.readouterr().out
    assert f"Clusters found (--n-components auto): {model.n_components_}." in report
    labels = np.loadtxt(out, dtype=int)
    assert labels.max() < model.n_components_


def test_max_iter_defaults_to_auto_and_takes_auto(tmp_path, small_model, capsys):
    data = tmp_path / "data.npy"
    np.save(data, _blobs())
    for extra in ([], ["--max-iter", "auto"], ["--max-iter", "AUTO"]):
        argv = ["fit", str(data), "-k", "3", "-o", str(tmp_path / "l.npy"), *extra]
        assert main(argv) == 0
        assert small_model[-1].max_iter == "auto"
    capsys.readouterr()
    assert main(["fit", str(data), "-k", "3", "--max-iter", "many"]) == 2
    assert "expected an integer >= 1 or 'auto'" in capsys.readouterr().err
