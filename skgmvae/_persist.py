"""What a pickled GMVAEClustering holds: plain state, the networks' tensors
on the CPU, and a format number that later versions check."""

import dataclasses

import torch

from ._model import build_net

#: Version of the pickled state; bumped when the stored layout changes.
PICKLE_FORMAT = 4


def to_cpu(obj):
    """Deep copy of nested dicts/lists/dataclasses with every tensor moved to
    the CPU."""
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        fields = dataclasses.fields(obj)
        return dataclasses.replace(
            obj, **{f.name: to_cpu(getattr(obj, f.name)) for f in fields}
        )
    if isinstance(obj, torch.Tensor):
        return obj.detach().cpu().clone()
    if isinstance(obj, dict):
        return {k: to_cpu(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return type(obj)(to_cpu(v) for v in obj)
    return obj


def dump(state):
    """The estimator's ``__dict__`` as it is pickled: the networks as a CPU
    state dict, the run state on the CPU, and the format number."""
    state = dict(state)
    net = state.pop("_net", None)
    if net is not None:
        state["_net_state"] = to_cpu(dict(net.state_dict()))
    if "_train_state" in state:
        state["_train_state"] = to_cpu(state["_train_state"])
    state["_pickle_format"] = PICKLE_FORMAT
    return state


def load(state):
    """The inverse of :func:`dump`: the networks rebuilt from their
    architecture and weights. Refuses other formats with what to do."""
    state = dict(state)
    fmt = state.pop("_pickle_format", None)
    if fmt != PICKLE_FORMAT:
        raise ValueError(
            f"This GMVAEClustering was saved in pickle format {fmt!r}; this "
            f"version of skgmvae reads format {PICKLE_FORMAT}. Refit the model "
            "with the installed version, or load it with the version that "
            "saved it."
        )
    net_state = state.pop("_net_state", None)
    if net_state is not None:
        net = build_net(state["_net_config"], 0)
        net.load_state_dict(net_state)
        net.eval()
        state["_net"] = net
    return state
