"""skgmvae.plot_history: one call draws the training history."""

import sys

import numpy as np
import pytest
from sklearn.datasets import make_blobs
from sklearn.exceptions import NotFittedError

import skgmvae
from skgmvae import GMVAEClustering, plot_history


@pytest.fixture(scope="module")
def history():
    X, _ = make_blobs(90, n_features=3, centers=3, random_state=0)
    model = GMVAEClustering(
        3,
        latent_dim=2,
        noise_dim=2,
        hidden_layer_sizes=(16,),
        prior_hidden=8,
        pretrain_epochs=2,
        kl_warmup=2,
        max_iter=4,
        n_iter_no_change=None,
        n_score_samples=2,
        random_state=0,
    ).fit(X)
    return model


@pytest.fixture
def plt():
    pytest.importorskip("matplotlib")
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    yield plt
    plt.close("all")


def _lines(ax):
    return {line.get_label(): line for line in ax.get_lines()}


def test_plot_history_draws_the_elbo_and_its_terms(history, plt):
    ax = plot_history(history)
    elbo = [r for r in history.history_ if r["phase"] == "elbo"]
    lines = _lines(ax)
    np.testing.assert_array_equal(lines["ELBO"].get_xdata(), [1, 2, 3, 4])
    np.testing.assert_allclose(lines["ELBO"].get_ydata(), [r["elbo"] for r in elbo])
    np.testing.assert_allclose(
        lines["reconstruction E[log p(y|x)]"].get_ydata(),
        [r["reconstruction"] for r in elbo],
    )
    twins = [a for a in ax.figure.axes if a is not ax]
    assert len(twins) == 1
    kl = _lines(twins[0])
    for key, label in (
        ("conditional_prior", "conditional prior KL"),
        ("w_prior", "w-prior KL"),
        ("z_prior", "z-prior KL"),
    ):
        np.testing.assert_allclose(kl[label].get_ydata(), [r[key] for r in elbo])
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert "KL warm-up" in legend and "z-prior KL" in legend
    assert "2 pretraining epochs" in ax.get_title()


def test_rollbacks_are_marked_and_axes_can_be_given(history, plt):
    records = list(history.history_)
    records.insert(-1, {"phase": "rollback", "epoch": 4, "learning_rate": 1e-4})
    _, given = plt.subplots()
    ax = plot_history(records, ax=given)
    assert ax is given
    marks = [
        line
        for line in ax.get_lines()
        if line.get_label() == "epoch undone (non-finite loss)"
    ]
    assert len(marks) == 1 and list(marks[0].get_xdata()) == [4, 4]


def test_without_matplotlib_says_how_to_install(history, monkeypatch):
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    with pytest.raises(ImportError, match=r"pip install skgmvae\[plot\]"):
        plot_history(history)


def test_unfitted_or_empty_history_is_a_clear_error(plt):
    with pytest.raises(NotFittedError):
        plot_history(GMVAEClustering())
    with pytest.raises(ValueError, match="no ELBO epochs"):
        plot_history([{"phase": "pretrain", "epoch": 1, "reconstruction": -1.0}])


def test_plot_history_is_public_and_documented():
    assert "plot_history" in skgmvae.__all__
    doc = plot_history.__doc__
    for section in ("Parameters", "Returns", "Raises", "Examples"):
        assert section in doc
