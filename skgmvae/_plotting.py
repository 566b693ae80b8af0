"""Plots of a fitted model's training history (matplotlib, optional)."""

#: The terms of the ELBO as stored in ``history_``, and their legend labels.
_BOUND_TERMS = (("elbo", "ELBO"), ("reconstruction", "reconstruction E[log p(y|x)]"))
_KL_TERMS = (
    ("conditional_prior", "conditional prior KL"),
    ("w_prior", "w-prior KL"),
    ("z_prior", "z-prior KL"),
)


def _require_matplotlib():
    try:
        import matplotlib  # noqa: F401
    except ImportError as exc:
        raise ImportError(
            "plot_history needs matplotlib, which is an optional dependency: "
            "pip install skgmvae[plot] (or pip install matplotlib)."
        ) from exc


def plot_history(model, ax=None):
    """Plot the ELBO and its four terms per epoch of a fitted model.

    The ELBO and the reconstruction term use the left y-axis; the three KL
    terms that the ELBO subtracts (conditional prior, w-prior, z-prior) use
    a second y-axis on the right, since they are usually much smaller. The
    KL warm-up epochs are shaded, and every epoch that was undone because
    the loss became non-finite (a ``"rollback"`` record) is marked by a
    dashed vertical line (a return to the best epoch, a ``"best"`` record,
    is not drawn). Pretraining epochs are not drawn (their loss is
    not comparable with the ELBO); the title gives their number.

    Parameters
    ----------
    model : GMVAEClustering or list of dict
        A fitted estimator, or its ``history_``.
    ax : matplotlib.axes.Axes, default=None
        Axes to draw on. When None, a new figure is created.

    Returns
    -------
    ax : matplotlib.axes.Axes
        The axes of the ELBO. The KL terms are on its twin, the other axes
        of ``ax.figure`` that shares its x-axis.

    Raises
    ------
    ImportError
        When matplotlib is not installed (``pip install skgmvae[plot]``).

    Examples
    --------
    >>> from sklearn.datasets import load_digits
    >>> from skgmvae import GMVAEClustering, plot_history
    >>> X, _ = load_digits(return_X_y=True)
    >>> model = GMVAEClustering(10, max_iter=20, random_state=0).fit(X)
    >>> ax = plot_history(model)  # doctest: +SKIP
    >>> ax.figure.savefig("history.png")  # doctest: +SKIP
    """
    _require_matplotlib()
    history = _history_of(model)
    epochs = [r for r in history if r.get("phase") == "elbo"]
    if not epochs:
        raise ValueError(
            "The history has no ELBO epochs to plot; fit the model with "
            "max_iter >= 1 first."
        )
    if ax is None:
        import matplotlib.pyplot as plt

        _, ax = plt.subplots(figsize=(7.5, 5), layout="constrained")
    x = [r["epoch"] for r in epochs]
    handles = []
    for key, label in _BOUND_TERMS:
        handles += ax.plot(x, [r[key] for r in epochs], label=label)
    ax.set_xlabel("epoch")
    ax.set_ylabel("nats per row")
    kl_ax = ax.twinx()
    kl_ax.set_ylabel("KL terms (subtracted), nats per row")
    colors = ("tab:green", "tab:red", "tab:purple")
    for (key, label), color in zip(_KL_TERMS, colors):
        handles += kl_ax.plot(
            x, [r[key] for r in epochs], label=label, color=color, linestyle="--"
        )
    warm = [r["epoch"] for r in epochs if r.get("kl_weight", 1.0) < 1.0]
    if warm:
        handles.append(
            ax.axvspan(
                min(warm) - 0.5,
                max(warm) + 0.5,
                color="0.9",
                zorder=0,
                label="KL warm-up",
            )
        )
    for i, record in enumerate(r for r in history if r.get("phase") == "rollback"):
        line = ax.axvline(
            record["epoch"],
            color="black",
            linestyle=":",
            linewidth=1,
            label="epoch undone (non-finite loss)",
        )
        if i == 0:
            handles.append(line)
    pretrain = sum(1 for r in history if r.get("phase") == "pretrain")
    title = "GMVAE training: ELBO and its terms"
    if pretrain:
        title += f" (after {pretrain} pretraining epochs)"
    ax.set_title(title)
    ax.legend(
        handles=handles,
        loc="upper center",
        bbox_to_anchor=(0.5, -0.14),
        ncol=3,
        fontsize="small",
        frameon=False,
    )
    return ax


def _history_of(model):
    if isinstance(model, (list, tuple)):
        return list(model)
    if not hasattr(model, "history_"):
        from sklearn.utils.validation import check_is_fitted

        check_is_fitted(model)  # NotFittedError for an unfitted estimator
        raise TypeError(
            f"plot_history needs a fitted GMVAEClustering or its history_ list; "
            f"got {type(model).__name__}."
        )
    return model.history_
