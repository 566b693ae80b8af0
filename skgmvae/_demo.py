"""The digits demo: GMVAEClustering, KMeans and GaussianMixture on the same
data, scored against the true classes."""

import contextlib
import shutil
import sys
import time

import numpy as np

from ._callbacks import Callback
from ._train import format_seconds

#: Columns of the per-seed results, after the fit seconds are appended.
MEASURES = ("accuracy", "NMI", "ARI")


def _scores(y, labels):
    from sklearn.metrics import adjusted_rand_score, normalized_mutual_info_score

    from .metrics import clustering_accuracy

    return (
        clustering_accuracy(y, labels),
        normalized_mutual_info_score(y, labels),
        adjusted_rand_score(y, labels),
    )


class StatusLine:
    """One terminal line of ``out`` that shows a text in place (carriage
    return, no newline), each text replacing the previous one.

    Parameters
    ----------
    out : file-like
        The terminal stream.
    prefix : str
        Text shown before every line.
    """

    def __init__(self, out, prefix=""):
        self.out = out
        self.prefix = prefix
        self.width = max(20, shutil.get_terminal_size((80, 20)).columns - 1)
        self._shown = False

    def show(self, line):
        """Replace the terminal line with ``line``."""
        text = (self.prefix + line)[: self.width]
        self.out.write("\r" + text.ljust(self.width))
        self.out.flush()
        self._shown = True

    def clear(self):
        """Blank the terminal line, leaving the cursor at its start."""
        if self._shown:
            self.out.write("\r" + " " * self.width + "\r")
            self.out.flush()
            self._shown = False


class LiveStatus(Callback):
    """Shows the epoch that training has reached on a :class:`StatusLine`:
    ``epoch 3/100 | ELBO -41.2 | ~9.0s left`` from each ELBO epoch's history
    record, ``pretraining epoch 2/4 | reconstruction -1.2 | ~1.0s left``
    from each pretraining epoch's.

    Parameters
    ----------
    status : StatusLine
        Where the status goes.
    """

    def __init__(self, status):
        self.status = status
        self.first = self.last = 0
        self.seconds = 0.0

    def _begin(self, first, last):
        self.first, self.last, self.seconds = first, last, 0.0

    def _show(self, label, record, measure):
        epoch = record["epoch"]
        self.seconds += record["time"]
        left = self.seconds / max(epoch - self.first + 1, 1) * (self.last - epoch)
        self.status.show(
            f"{label}epoch {epoch:>{len(str(self.last))}d}/{self.last} | "
            f"{measure} {record[measure.lower()]:.4g} | ~{format_seconds(left)} left"
        )

    def on_pretrain_begin(self, trainer):
        self._begin(1, trainer.params.pretrain_epochs)

    def on_pretrain_epoch_end(self, trainer, record):
        self._show("pretraining ", record, "reconstruction")

    def on_elbo_begin(self, trainer):
        self._begin(trainer.first_epoch + 1, trainer.last_epoch)

    def on_epoch_end(self, trainer, record):
        self._show("", record, "ELBO")


def is_terminal(stream):
    """Whether ``stream`` is an interactive terminal."""
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):
        return False


@contextlib.contextmanager
def live_status(model, out, prefix, enabled):
    """Run the block with the training progress of ``model`` (a
    :class:`GMVAEClustering`) shown in place on ``out``'s current line when
    ``enabled``, through a :class:`LiveStatus` callback added for the block.
    Yields whether the status is live."""
    if not enabled:
        yield False
        return
    status = StatusLine(out, prefix)
    callbacks = model.callbacks
    model.set_params(callbacks=list(callbacks or []) + [LiveStatus(status)])
    try:
        yield True
    finally:
        model.set_params(callbacks=callbacks)
        status.clear()


def compare_models(X, y, n_clusters, seeds=3, *, params=None, verbose=0, out=None):
    """Fit GMVAEClustering, KMeans and GaussianMixture on ``X`` for ``seeds``
    seeds each, score them against ``y`` and print a table (mean ± std over
    seeds) and which model won.

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_features)
        Data to cluster.
    y : ndarray of shape (n_samples,)
        True classes, used only for scoring.
    n_clusters : int
        Number of clusters given to every model.
    seeds : int, default=3
        Fits per model, with random states ``0 .. seeds - 1``.
    params : dict, default=None
        Extra keyword arguments of :class:`GMVAEClustering`.
    verbose : int, default=0
        GMVAE progress output (see :class:`GMVAEClustering`). With 0 and a
        terminal as ``out``, the current epoch is shown in place instead (see
        :class:`LiveStatus`).
    out : file-like, default=None
        Where to print; ``sys.stdout`` when None.

    Returns
    -------
    results : dict
        Model name -> array of shape (seeds, 4): Hungarian accuracy, NMI,
        ARI, fit seconds.
    """
    import warnings

    from sklearn.cluster import KMeans
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.mixture import GaussianMixture

    from . import GMVAEClustering

    out = sys.stdout if out is None else out
    live = verbose == 0 and is_terminal(out)
    makers = {
        "GMVAEClustering": lambda s: GMVAEClustering(
            n_clusters, random_state=s, verbose=verbose, **(params or {})
        ),
        "KMeans": lambda s: KMeans(n_clusters, n_init=10, random_state=s),
        "GaussianMixture": lambda s: GaussianMixture(
            n_clusters, covariance_type="diag", random_state=s
        ),
    }
    results = {}
    n_fits, done = len(makers) * seeds, 0
    for name, make in makers.items():
        rows = []
        for seed in range(seeds):
            done += 1
            prefix = f"  [{done}/{n_fits}] {name:<16} seed {seed}: "
            tic = time.perf_counter()
            model = make(seed)
            shown = live and isinstance(model, GMVAEClustering)
            with warnings.catch_warnings(), live_status(model, out, prefix, shown):
                warnings.simplefilter("ignore", ConvergenceWarning)
                labels = model.fit_predict(X)
            rows.append(_scores(y, labels) + (time.perf_counter() - tic,))
            print(
                f"{prefix}accuracy {rows[-1][0]:.3f}  ({rows[-1][3]:.2f}s)",
                file=out,
                flush=True,
            )
        results[name] = np.array(rows)
    print(file=out)
    print(
        f"{'model':<16} {'accuracy':>15} {'NMI':>15} {'ARI':>15} {'fit s':>7}", file=out
    )
    for name, rows in results.items():
        mean, std = rows.mean(0), rows.std(0)
        cells = " ".join(f"{m:>8.3f} ± {s:.3f}" for m, s in zip(mean[:3], std[:3]))
        print(f"{name:<16} {cells} {mean[3]:>7.2f}", file=out)
    print(file=out)
    for line in summarize(results):
        print(line, file=out)
    return results


def summarize(results):
    """Which model won each measure, and by how much.

    Parameters
    ----------
    results : dict
        As returned by :func:`compare_models`.

    Returns
    -------
    lines : list of str
        A short verdict: the winner of each measure (one line when a model
        wins all three), its lead over the runner-up in mean score, whether
        that lead exceeds the seed-to-seed spread, and the fit times.
    """
    names = list(results)
    if len(names) < 2:
        return []
    n_seeds = len(next(iter(results.values())))
    leads = []
    for j, measure in enumerate(MEASURES):
        ranked = sorted(names, key=lambda n: -results[n][:, j].mean())
        best, second = ranked[0], ranked[1]
        margin = results[best][:, j].mean() - results[second][:, j].mean()
        spread = max(results[best][:, j].std(), results[second][:, j].std())
        leads.append((measure, best, second, margin, spread))
    winners = {lead[1] for lead in leads}
    runners_up = {lead[2] for lead in leads}
    seeds = f"mean of {n_seeds} seed{'s' if n_seeds > 1 else ''}"
    if len(winners) == 1 and len(runners_up) == 1:
        gains = [f"{margin:.3f} {measure}" for measure, _, _, margin, _ in leads]
        winner = (
            f"Winner: {leads[0][1]} on all three measures ({seeds}), ahead of "
            f"{leads[0][2]} by {', '.join(gains[:-1])} and {gains[-1]}."
        )
        lines = [winner]
    else:
        lines = [f"Best model per measure ({seeds}):"]
        for measure, best, second, margin, _ in leads:
            lines.append(f"  {measure:<8} {best}, by {margin:.3f} over {second}")
    close = [m for m, _, _, margin, spread in leads if margin <= 2 * spread]
    if n_seeds > 1 and close:
        lines.append(
            f"The lead in {', '.join(close)} is within twice the seed-to-seed "
            "standard deviation: run more seeds to separate the models."
        )
    times = ", ".join(f"{n} {results[n][:, 3].mean():.2f}s" for n in names)
    lines.append(f"Fit time per seed: {times}.")
    return lines


def run_demo(seeds=3, verbose=0, out=None, params=None):
    """:func:`compare_models` on scikit-learn's ``load_digits`` (10 digits).

    Parameters
    ----------
    seeds : int, default=3
        Fits per model.
    verbose : int, default=0
        GMVAE progress output.
    out : file-like, default=None
        Where to print; ``sys.stdout`` when None.
    params : dict, default=None
        Extra keyword arguments of :class:`GMVAEClustering`.

    Returns
    -------
    results : dict
        As returned by :func:`compare_models`.
    """
    from sklearn.datasets import load_digits

    out = sys.stdout if out is None else out
    X, y = load_digits(return_X_y=True)
    k = len(np.unique(y))
    print(
        f"load_digits: {X.shape[0]} images of {X.shape[1]} pixels, {k} digits; "
        f"{seeds} seed(s) per model",
        file=out,
    )
    return compare_models(X, y, k, seeds, params=params, verbose=verbose, out=out)
