"""Callbacks of the training loop: what happens around each epoch.

The loop of :class:`skgmvae._train.Trainer` only runs epochs; everything else
(KL warm-up, step-size schedule, divergence rollback, the ``grow_from``
split, early stopping, the return to the best epoch, the history and the
progress output) is a
:class:`Callback` that the loop notifies. To add a schedule or a check,
subclass :class:`Callback`, override the hooks you need and pass an instance
in the ``callbacks`` parameter of :class:`~skgmvae.GMVAEClustering`.
"""

import math
import sys
import time

from ._train import (
    decayed_learning_rate,
    format_seconds,
    grow_components,
    make_optimizer,
    restore_snapshot,
    take_snapshot,
)

#: Times an epoch that diverged is retried from the last good state, each
#: time with a step size ten times smaller, before fit gives up.
MAX_DIVERGENCE_RETRIES = 3

#: How the verbose output names each start of the mixture.
START_DESCRIPTIONS = {
    "spectral": "the spectral clusters of the neighbour graph",
    "gaussian": "a full Gaussian mixture of the input rows",
    "refined": "the spectral clusters of the neighbour graph, refined by a full Gaussian mixture of the input rows",
    "spherical": "the spectral clusters of the neighbour graph, moved by KMeans on the input rows",
    "umap": "a Gaussian mixture of the embedding's UMAP layout",
    "consensus": "the consensus of KMeans runs on the embedding",
    "gmm": "a diagonal Gaussian mixture of the embedding",
    "callable": "the init_params callable",
}


class Callback:
    """Base class of the callbacks of the training loop; every hook does
    nothing.

    Each hook gets the running :class:`skgmvae._train.Trainer` as
    ``trainer``. Its attributes: ``net`` (the networks), ``X`` (the training
    rows), ``params`` (:class:`skgmvae._train.FitParams`), ``seed``,
    ``state`` (:class:`skgmvae._train.RunState`, None while pretraining a
    fresh run), ``optimizer``, ``history`` (the records so far),
    ``kl_weight`` (of the current ELBO epoch), ``first_epoch`` and
    ``last_epoch`` (the ELBO epochs this call may run), ``converged``
    (set to True to stop after the current epoch) and ``interrupted``.

    The hooks are called in this order: :meth:`on_train_begin`, then for a
    fresh run :meth:`on_pretrain_begin`, :meth:`on_pretrain_epoch_begin` and
    :meth:`on_pretrain_epoch_end` for each pretraining epoch,
    :meth:`on_pretrain_end`; then :meth:`on_elbo_begin`, and for each ELBO
    epoch :meth:`on_epoch_begin` and :meth:`on_epoch_end` (or
    :meth:`on_epoch_diverged` when its loss became non-finite),
    :meth:`on_elbo_end` before the last epochs on the trained model's graph
    (or after the last epoch where there are none); finally
    :meth:`on_train_end`, also after Ctrl-C. :meth:`on_split`,
    :meth:`on_rollback` and :meth:`on_return_to_best` report events. A callback instance passed to the
    estimator sees every run of a fit (each of ``n_init``) in turn.

    Examples
    --------
    >>> from skgmvae import Callback, GMVAEClustering
    >>> class StepSizes(Callback):
    ...     def __init__(self):
    ...         self.rates = []
    ...     def on_epoch_begin(self, trainer, epoch):
    ...         self.rates.append(trainer.optimizer.param_groups[0]["lr"])
    >>> steps = StepSizes()
    >>> model = GMVAEClustering(n_components=3, max_iter=4, callbacks=[steps])
    """

    def on_train_begin(self, trainer):
        """A call to fit or partial_fit starts training one run."""

    def on_pretrain_begin(self, trainer):
        """Autoencoder pretraining of a fresh run begins."""

    def on_pretrain_epoch_begin(self, trainer, epoch):
        """Pretraining epoch ``epoch`` (from 1) begins."""

    def on_pretrain_epoch_end(self, trainer, record):
        """A pretraining epoch ended; ``record`` is its history record."""

    def on_pretrain_end(self, trainer):
        """Pretraining ended and the mixture is initialised."""

    def on_elbo_begin(self, trainer):
        """The ELBO epochs of this call begin; ``trainer.state`` is set."""

    def on_epoch_begin(self, trainer, epoch):
        """ELBO epoch ``epoch`` (counted over the run) begins, or begins
        again after a rollback."""

    def on_epoch_end(self, trainer, record):
        """An ELBO epoch ended with a finite loss; ``record`` is its history
        record."""

    def on_epoch_diverged(self, trainer, epoch):
        """The loss of ELBO epoch ``epoch`` became non-finite. Set
        ``trainer.retry = True`` to run the epoch again; otherwise fit raises
        ``FloatingPointError``."""

    def on_rollback(self, trainer, record):
        """A diverged epoch was undone; ``record`` is the rollback record."""

    def on_elbo_end(self, trainer):
        """The ELBO epochs that early stopping watches ended (not after
        Ctrl-C); the last epochs on the trained model's graph, where a
        large fit has them, follow."""

    def on_return_to_best(self, trainer, record):
        """The run went back to the epoch of its best ELBO
        (:class:`BestBound`); ``record`` says which."""

    def on_split(self, trainer, before, after):
        """The mixture was split from ``before`` into ``after`` components."""

    def on_train_end(self, trainer):
        """Training of the run ended (``trainer.interrupted`` after Ctrl-C);
        not called when an error ends it."""


class KLWarmup(Callback):
    """The weight of the KL terms rises linearly over ``kl_warmup`` epochs:
    ``min(1, epoch / kl_warmup)``, 1 throughout when ``kl_warmup`` is 0."""

    def __init__(self, kl_warmup):
        self.kl_warmup = kl_warmup

    def on_epoch_begin(self, trainer, epoch):
        warmup = self.kl_warmup
        trainer.kl_weight = min(1.0, epoch / warmup) if warmup > 0 else 1.0


class LearningRateSchedule(Callback):
    """The step size of each ELBO epoch of a call, from
    :func:`skgmvae._train.decayed_learning_rate` with ``learning_rate_decay``
    over the call's ``max_iter`` epochs, from the run's current step size."""

    def __init__(self, decay):
        self.decay = decay

    def on_epoch_begin(self, trainer, epoch):
        rate = decayed_learning_rate(
            trainer.state.learning_rate,
            epoch - trainer.first_epoch,
            trainer.params.max_iter,
            self.decay,
        )
        for group in trainer.optimizer.param_groups:
            group["lr"] = rate


class DivergenceRollback(Callback):
    """Undo an epoch whose loss became non-finite and run it again with a ten
    times smaller step size, up to :data:`MAX_DIVERGENCE_RETRIES` times in a
    call; then raise ``FloatingPointError``."""

    def __init__(self):
        self.retries = 0
        self.good = None

    def _keep(self, trainer):
        self.good = take_snapshot(trainer.net, trainer.optimizer)

    def on_elbo_begin(self, trainer):
        self._keep(trainer)

    def on_split(self, trainer, before, after):
        self._keep(trainer)

    def on_epoch_end(self, trainer, record):
        self._keep(trainer)

    def on_return_to_best(self, trainer, record):
        self._keep(trainer)

    def on_epoch_diverged(self, trainer, epoch):
        state = trainer.state
        if self.retries == MAX_DIVERGENCE_RETRIES:
            raise FloatingPointError(
                f"the ELBO became non-finite in epoch {epoch}, also after "
                f"{self.retries} retries with smaller steps (down to learning_rate="
                f"{state.learning_rate:.3g}); lower learning_rate or check X "
                "for extreme values"
            )
        self.retries += 1
        state.learning_rate /= 10.0
        restore_snapshot(trainer.net, trainer.optimizer, self.good)
        record = {"phase": "rollback", "epoch": epoch}
        record["learning_rate"] = state.learning_rate
        trainer.retry = True
        trainer.notify("on_rollback", record=record)


class GrowComponents(Callback):
    """The ``grow_from`` split (see :func:`skgmvae._train.grow_components`).

    A fresh run starts with ``grow_from`` components when that is below the
    network's number of components, and splits them after ``max_iter // 2``
    ELBO epochs (then the optimiser starts again). A run interrupted before
    the split splits on its way out; one interrupted while pretraining gets
    its prior network back as built.
    """

    def __init__(self, grow_from):
        self.grow_from = grow_from
        self.head = self.n_components = self.split_at = None
        self.before = None

    def on_train_begin(self, trainer):
        net = trainer.net
        self.head, self.n_components = net.prior_head, net.n_components
        self.split_at = None
        if trainer.state is not None:
            return
        if self.grow_from is not None and self.grow_from < net.n_components:
            self.split_at = trainer.params.max_iter // 2
            net.resize_prior(self.grow_from)

    def on_pretrain_end(self, trainer):
        # the start may have chosen the number of components itself
        if self.split_at is None:
            net = trainer.net
            self.head, self.n_components = net.prior_head, net.n_components

    def on_elbo_begin(self, trainer):
        if self.split_at is not None:
            trainer.state.split_at, self.split_at = self.split_at, None

    def on_epoch_begin(self, trainer, epoch):
        state = trainer.state
        if state.split_at is not None and state.split_at == epoch - 1:
            self.split(trainer)
            trainer.optimizer = make_optimizer(trainer.net, state.learning_rate)
            trainer.notify(
                "on_split", before=self.before, after=trainer.net.n_components
            )

    def split(self, trainer):
        """Split the mixture into the run's target number of components."""
        state = trainer.state
        self.before = trainer.net.n_components
        grow_components(
            trainer.net, trainer.X, state.n_components, trainer.batch_size, trainer.seed
        )
        state.split_at = None

    def on_train_end(self, trainer):
        net = trainer.net
        if not trainer.interrupted or net.n_components == self.n_components:
            return
        state = trainer.state
        if state is not None:
            self.on_elbo_begin(trainer)
        if state is not None and state.split_at is not None:
            self.split(trainer)
            state.optimizer = None
            trainer.notify("on_split", before=self.before, after=net.n_components)
        else:
            net.prior_head, net.n_components = self.head, self.n_components


def counted_epoch(trainer):
    """Whether the epoch just ended counts towards early stopping and the
    best bound: one at full KL weight, after the split halfway."""
    return trainer.kl_weight >= 1.0 and trainer.state.split_at is None


class EarlyStopping(Callback):
    """Stop when the epoch ELBO has not risen by ``tol`` (relative) for
    ``patience`` epochs, counting only epochs at full KL weight and after
    the split; ``patience=None`` never stops. The best ELBO and the count of
    epochs without progress live in the run's state, so a continuation
    carries them on; the split halfway starts them again (the one made on
    the way out of an interrupted run leaves them)."""

    def __init__(self, tol, patience):
        self.tol = tol
        self.patience = patience

    def on_split(self, trainer, before, after):
        if not trainer.interrupted:
            trainer.state.best, trainer.state.stall = -math.inf, 0

    def on_epoch_end(self, trainer, record):
        state = trainer.state
        if self.patience is None or not counted_epoch(trainer):
            return
        best = state.best
        if best == -math.inf or record["elbo"] > best + self.tol * max(1.0, abs(best)):
            state.best, state.stall = record["elbo"], 0
        else:
            state.stall += 1
            if state.stall >= self.patience:
                trainer.converged = True


class BestBound(Callback):
    """Return to the epoch of the best ELBO of the call where the bound fell
    after it.

    Among the epochs that :class:`EarlyStopping` counts (full KL weight,
    after the split, before the last epochs on the trained model's graph),
    the state of the epoch with the highest ELBO is kept; when those epochs
    end (``on_elbo_end``) and the last of them is more than ``tol``
    (relative) below it, the networks, the optimiser and the neighbour
    term's memory go back to it. Epochs run before a split, or in an
    earlier call, are never returned to.
    """

    def __init__(self, tol):
        self.tol = tol
        self._forget()

    def _forget(self):
        self.best = self.last = -math.inf
        self.kept = None

    def on_elbo_begin(self, trainer):
        self._forget()

    def on_split(self, trainer, before, after):
        self._forget()

    def on_epoch_end(self, trainer, record):
        if not counted_epoch(trainer) or trainer.latent_graph_from is not None:
            return
        self.last = record["elbo"]
        if self.last > self.best:
            graph = trainer.state.graph
            memory = None if graph is None else graph.memory.clone()
            self.best = self.last
            self.kept = (take_snapshot(trainer.net, trainer.optimizer), memory, record["epoch"])

    def on_elbo_end(self, trainer):
        if self.kept is None or self.last >= self.best - self.tol * max(1.0, abs(self.best)):
            return
        snapshot, memory, epoch = self.kept
        restore_snapshot(trainer.net, trainer.optimizer, snapshot)
        if memory is not None and trainer.state.graph is not None:
            trainer.state.graph.memory = memory
        record = {"phase": "best", "epoch": epoch, "elbo": self.best, "last_elbo": self.last}
        trainer.notify("on_return_to_best", record=record)
        self.kept = None


class History(Callback):
    """Appends every pretraining, ELBO, rollback and return record to
    ``trainer.history``."""

    def on_pretrain_epoch_end(self, trainer, record):
        trainer.history.append(record)

    def on_epoch_end(self, trainer, record):
        trainer.history.append(record)

    def on_rollback(self, trainer, record):
        trainer.history.append(record)

    def on_return_to_best(self, trainer, record):
        trainer.history.append(record)


class PrintProgress(Callback):
    """Progress output of one training run.

    ``verbose=0`` prints nothing. ``verbose=1`` prints one line per ELBO
    epoch (epoch, ELBO and its four terms, elapsed time, time left at most)
    and one line summing up pretraining, with an interim line at most every
    ``PRETRAIN_EVERY`` seconds while a long pretraining runs. ``verbose>=2``
    also prints every pretraining epoch.
    """

    #: Seconds between interim pretraining lines at verbose=1.
    PRETRAIN_EVERY = 10.0

    def __init__(self, verbose, stream=None):
        self.verbose = verbose
        self.stream = stream
        self.start = time.perf_counter()
        self.phase_start = self.last_line = self.start
        self.first = self.last = 0
        self.latent_said = False

    def _print(self, text):
        if not self.verbose:
            return
        # sys.stdout is looked up at print time, so redirections apply
        print(text, file=self.stream or sys.stdout, flush=True)
        self.last_line = time.perf_counter()

    def _begin(self, first, last):
        self.phase_start = time.perf_counter()
        self.first, self.last = first, last

    def _timing(self, epoch):
        now = time.perf_counter()
        per_epoch = (now - self.phase_start) / max(epoch - self.first + 1, 1)
        left = per_epoch * max(self.last - epoch, 0)
        return (
            f"{format_seconds(now - self.start)} elapsed, ~{format_seconds(left)} left"
        )

    def _counter(self, epoch):
        return f"epoch {epoch:>{len(str(self.last))}d}/{self.last}"

    def on_train_begin(self, trainer):
        self.start = time.perf_counter()
        self.phase_start = self.last_line = self.start

    def on_pretrain_begin(self, trainer):
        self._begin(1, trainer.params.pretrain_epochs)

    def on_pretrain_epoch_end(self, trainer, record):
        if not self.verbose:
            return
        epoch = record["epoch"]
        due = time.perf_counter() - self.last_line >= self.PRETRAIN_EVERY
        if self.verbose >= 2 or (due and epoch < self.last):
            self._print(
                f"[pretrain] {self._counter(epoch)} | reconstruction "
                f"{record['reconstruction']:.4g} | {self._timing(epoch)}"
            )

    def on_pretrain_end(self, trainer):
        records = [r for r in trainer.history if r["phase"] == "pretrain"]
        if not self.verbose or not records:
            return
        seconds = time.perf_counter() - self.phase_start
        self._print(
            f"[pretrain] {len(records)} autoencoder epochs in "
            f"{format_seconds(seconds)}, reconstruction "
            f"{records[0]['reconstruction']:.4g} -> "
            f"{records[-1]['reconstruction']:.4g}; mixture started from "
            f"{START_DESCRIPTIONS.get(trainer.start_method, 'the embedding')}"
        )

    def on_elbo_begin(self, trainer):
        self._begin(trainer.first_epoch + 1, trainer.last_epoch)
        self.latent_said = False

    def on_epoch_begin(self, trainer, epoch):
        if epoch == trainer.latent_graph_from and not self.latent_said:
            self.latent_said = True
            self._print(
                f"[elbo] from epoch {epoch}: the neighbour term pulls each row towards "
                "its neighbours' posteriors in the trained model's embedding"
            )

    def on_epoch_end(self, trainer, record):
        if not self.verbose:
            return
        epoch = record["epoch"]
        graph = trainer.state.graph
        if epoch == 1 and graph is not None and graph.held:
            # said after the first epoch, which a split may have released
            self._print(
                "[elbo] the start is a Gaussian mixture of the input: the neighbour "
                "term holds each row at its own start cluster"
                if graph.own
                else "[elbo] the neighbour graph separates the start's clusters, or the "
                "components start as their factor analysers: the neighbour term holds them"
            )
        warmup = ""
        if record["kl_weight"] < 1.0:
            warmup = f" | KL weight {record['kl_weight']:.2f}"
        self._print(
            f"[elbo] {self._counter(epoch)} | ELBO {record['elbo']:.4g}"
            f" = recon {record['reconstruction']:.4g}"
            f" - cond {record['conditional_prior']:.4g}"
            f" - w {record['w_prior']:.4g} - z {record['z_prior']:.4g}"
            f"{warmup} | {self._timing(epoch)}"
        )
        if trainer.converged:
            self._print(
                f"[elbo] converged at epoch {epoch}: no ELBO gain above tol in "
                f"the last {trainer.params.n_iter_no_change} epochs"
            )

    def on_rollback(self, trainer, record):
        self._print(
            f"[elbo] epoch {record['epoch']}: the loss became non-finite; "
            "epoch undone, retrying with learning_rate "
            f"{record['learning_rate']:.3g}"
        )

    def on_return_to_best(self, trainer, record):
        self._print(
            f"[elbo] back to epoch {record['epoch']}, the best ELBO of the call "
            f"({record['elbo']:.4g}; the last epoch's {record['last_elbo']:.4g})"
        )

    def on_split(self, trainer, before, after):
        if not trainer.interrupted:
            self._print(
                f"[elbo] after epoch {trainer.state.epoch}: components split to "
                f"{after}"
            )


def default_callbacks(params, verbose=0, stream=None):
    """The callbacks every run uses, in the order they are notified.

    Parameters
    ----------
    params : FitParams
        The parameters of the fit.
    verbose : int, default=0
        Progress output, see :class:`PrintProgress`.
    stream : file-like or None, default=None
        Where progress goes; ``sys.stdout`` at print time when None.

    Returns
    -------
    callbacks : list of Callback
    """
    return [
        GrowComponents(params.grow_from),
        KLWarmup(params.kl_warmup),
        LearningRateSchedule(params.learning_rate_decay),
        DivergenceRollback(),
        EarlyStopping(params.tol, params.n_iter_no_change),
        BestBound(params.tol),
        History(),
        PrintProgress(verbose, stream),
    ]
