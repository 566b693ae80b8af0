"""Callbacks of the training loop of :class:`~skgmvae.GMVAEClustering`.

Pass instances in the estimator's ``callbacks`` parameter. Subclass
:class:`Callback` and override the hooks you need; the built-in callbacks
here are what every fit uses already and serve as examples.
"""

from ._callbacks import (
    BestBound,
    Callback,
    DivergenceRollback,
    EarlyStopping,
    GrowComponents,
    History,
    KLWarmup,
    LearningRateSchedule,
    PrintProgress,
)

__all__ = [
    "BestBound",
    "Callback",
    "DivergenceRollback",
    "EarlyStopping",
    "GrowComponents",
    "History",
    "KLWarmup",
    "LearningRateSchedule",
    "PrintProgress",
]
