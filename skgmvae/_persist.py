"""What a pickled GMVAEClustering holds, and how it is read back.

The state written by :func:`dump` holds only plain Python values (dicts,
lists, tuples, numbers, strings, None) and numpy arrays: the networks'
weights, the run state that a continued fit needs (random generator,
optimiser moments, neighbour graph) and the feature scaling are all turned
into arrays, and :func:`load` rebuilds the torch modules and tensors from
them. That is what lets :mod:`skops.io` save a fitted model without
trusting any torch type; pickles hold no torch object either, and their
arrays are on the CPU whatever device the model was fitted on.

Every saved state carries a format number. :func:`load` reads the formats
in :data:`READABLE_FORMATS` and refuses any other with a message that says
what to do.
"""

import dataclasses

import numpy as np
import torch

from ._data import Scaling
from ._model import build_net
from ._train import NeighbourGraph, RunState

#: Version of the saved state; bumped when the stored layout changes in a
#: way that an older version of skgmvae would misread.
PICKLE_FORMAT = 5

#: Formats that :func:`load` reads: 4 (the previous layout) kept
#: torch tensors in the state; 5 keeps numpy arrays.
READABLE_FORMATS = (4, 5)
#: Parameters added since a readable format was written, with the value that
#: reproduces what a model saved before them did (it trained in float32).
ADDED_PARAMS = {"precision": "float32"}


def to_numpy(obj):
    """Copy of nested dicts/lists/tuples with every tensor turned into a
    numpy array of the same dtype and shape (a 0-d array for a scalar
    tensor), on the CPU."""
    if isinstance(obj, torch.Tensor):
        return obj.detach().cpu().clone().numpy()
    if isinstance(obj, dict):
        return {k: to_numpy(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return type(obj)(to_numpy(v) for v in obj)
    return obj


def to_torch(obj):
    """The inverse of :func:`to_numpy`: every numpy array becomes a CPU
    tensor (a copy) of the same dtype and shape."""
    if isinstance(obj, np.ndarray):
        return torch.tensor(obj)
    if isinstance(obj, dict):
        return {k: to_torch(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return type(obj)(to_torch(v) for v in obj)
    return obj


def _fields(cls, values):
    """Keyword arguments of dataclass ``cls`` from the dict ``values``;
    entries that ``cls`` does not know (written by a later version of
    skgmvae) are left out."""
    names = {f.name for f in dataclasses.fields(cls)}
    return {k: v for k, v in values.items() if k in names}


def run_state_to_plain(state):
    """A :class:`~skgmvae._train.RunState` as a dict of plain values and
    numpy arrays (the graph as a dict too); None stays None."""
    if state is None:
        return None
    plain = {f.name: getattr(state, f.name) for f in dataclasses.fields(state)}
    plain["generator"] = to_numpy(plain["generator"])
    plain["optimizer"] = to_numpy(plain["optimizer"])
    graph = plain["graph"]
    if graph is not None:
        plain["graph"] = {
            "neighbors": to_numpy(graph.neighbors),
            "memory": to_numpy(graph.memory),
            "checksum": tuple(graph.checksum),
            "weights": to_numpy(graph.weights),
            "held": bool(graph.held),
            "own": bool(graph.own),
        }
    return plain


def run_state_from_plain(plain):
    """The inverse of :func:`run_state_to_plain`, with CPU tensors."""
    if plain is None:
        return None
    values = dict(plain)
    values["generator"] = to_torch(values.get("generator"))
    values["optimizer"] = to_torch(values.get("optimizer"))
    graph = values.get("graph")
    if graph is not None:
        graph = to_torch(graph)
        graph["checksum"] = tuple(graph["checksum"])
        values["graph"] = NeighbourGraph(**_fields(NeighbourGraph, graph))
    return RunState(**_fields(RunState, values))


def dump(state):
    """The estimator's ``__dict__`` as it is saved.

    Parameters
    ----------
    state : dict
        The estimator's attributes (as ``BaseEstimator.__getstate__`` gives
        them).

    Returns
    -------
    dict
        The same attributes with the networks replaced by ``_net_state``
        (parameter name to numpy array), the run state and the scaling as
        dicts of plain values and numpy arrays, ``_pickle_format`` and
        ``_skgmvae_version`` (the version that saved it). The estimator's
        own attributes are not modified.
    """
    from . import __version__

    state = dict(state)
    net = state.pop("_net", None)
    if net is not None:
        state["_net_state"] = to_numpy(dict(net.state_dict()))
    if "_train_state" in state:
        state["_train_state"] = run_state_to_plain(state["_train_state"])
    scaling = state.get("_scaling")
    if isinstance(scaling, Scaling):
        state["_scaling"] = {
            "shift": scaling.shift,
            "scale": scaling.scale,
            "standardise": bool(scaling.standardise),
        }
    state["_pickle_format"] = PICKLE_FORMAT
    state["_skgmvae_version"] = __version__
    return state


def _format_error(fmt, saved_by):
    """The ValueError for a state saved in format ``fmt`` (by skgmvae
    ``saved_by``, when known), which this version does not read."""
    from . import __version__

    readable = " and ".join(str(f) for f in READABLE_FORMATS)
    by = f" (skgmvae {saved_by})" if saved_by is not None else ""
    if isinstance(fmt, int) and fmt > PICKLE_FORMAT:
        return ValueError(
            f"This GMVAEClustering was saved in pickle format {fmt} by a newer "
            f"version of skgmvae{by}; skgmvae {__version__} reads formats "
            f"{readable}. Upgrade skgmvae to load it, or refit the model with "
            "the installed version."
        )
    return ValueError(
        f"This GMVAEClustering was saved in pickle format {fmt!r}{by}, which "
        f"skgmvae {__version__} does not read (it reads formats {readable}). "
        "Load it with the version that saved it, or refit the model with the "
        "installed version."
    )


def load(state):
    """The inverse of :func:`dump`.

    Parameters
    ----------
    state : dict
        A state written by :func:`dump` of this version or of a version
        whose format is in :data:`READABLE_FORMATS`.

    Returns
    -------
    dict
        The estimator's attributes: the networks rebuilt on the CPU (in eval
        mode) from their architecture and weights, the run state with CPU
        tensors, the scaling as a :class:`~skgmvae._data.Scaling`.
        Attributes this version does not know are kept as they are;
        parameters the saving version did not have take the values in
        :data:`ADDED_PARAMS`.

    Raises
    ------
    ValueError
        When the state was saved in a format this version does not read.
    """
    state = {**ADDED_PARAMS, **state}
    fmt = state.pop("_pickle_format", None)
    saved_by = state.pop("_skgmvae_version", None)
    if fmt not in READABLE_FORMATS:
        raise _format_error(fmt, saved_by)
    net_state = state.pop("_net_state", None)
    if net_state is not None:
        net = build_net(state["_net_config"], 0)
        net.load_state_dict(to_torch(dict(net_state)))
        net.eval()
        state["_net"] = net
    train_state = state.get("_train_state")
    if isinstance(train_state, dict):
        state["_train_state"] = run_state_from_plain(train_state)
    scaling = state.get("_scaling")
    if isinstance(scaling, dict):
        state["_scaling"] = Scaling(**_fields(Scaling, scaling))
    return state
