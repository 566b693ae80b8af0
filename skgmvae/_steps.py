"""The minibatch loop of a training epoch, on the CPU and on accelerators.

On the CPU each minibatch's Monte Carlo noise is drawn when the minibatch
is, and each step runs as it is written. On an accelerator the host must not
make the device wait at every step: an epoch's batch order and noise are
drawn at once (from the same CPU generator) and copied to the device in one
transfer each, and on a CUDA device every full minibatch's step (forward
pass, backward pass and Adam update, a few hundred small kernels at the
default network size) is captured once per epoch as a CUDA graph and
replayed, so that a step costs one launch instead of one per kernel.
"""

import warnings
import weakref

import torch

from ._model import standard_normal

#: Replay the training steps of a CUDA device as CUDA graphs.
CUDA_GRAPHS = True
#: Capture an epoch's step only when at least this many full minibatches
#: follow the one it is captured on: a capture costs about two steps run one
#: kernel at a time, a replay saves most of one.
MIN_REPLAYS = 3


def iter_batches(n_rows, batch_size, generator=None):
    """Yield index tensors covering ``range(n_rows)`` in batches.

    Shuffled with ``generator`` when one is given, in order otherwise.
    """
    if generator is None:
        order = torch.arange(n_rows)
    else:
        order = torch.randperm(n_rows, generator=generator)
    for start in range(0, n_rows, batch_size):
        yield order[start : start + batch_size]


def epoch_draws(n_rows, batch_size, generator, device, noise_shape=None, at_once=None):
    """``(idx, noise)`` for each minibatch of an epoch, both on ``device``.

    ``noise_shape`` is ``(n_samples, dims)``: each minibatch gets standard
    normal noise of shape ``(n_samples, len(idx), dims)``; None gives no noise.
    With ``at_once`` False each minibatch's noise is drawn after its indices
    are; with True the epoch's order and then all of its noise are drawn
    first and moved to the device once. None: False on the CPU, True on an
    accelerator. Either way the draws come from ``generator`` alone, so a
    seed gives the same epoch on the same device.
    """
    device = torch.device(device)
    if at_once is None:
        at_once = device.type != "cpu"
    if not at_once:
        for idx in iter_batches(n_rows, batch_size, generator):
            noise = None
            if noise_shape is not None:
                shape = (noise_shape[0], len(idx), noise_shape[1])
                noise = standard_normal(shape, generator, device)
            yield idx, noise
        return
    order = torch.randperm(n_rows, generator=generator).to(device)
    noise = None
    if noise_shape is not None:
        shape = (noise_shape[0], n_rows, noise_shape[1])
        noise = standard_normal(shape, generator, device)
    for start in range(0, n_rows, batch_size):
        stop = start + batch_size
        yield order[start:stop], None if noise is None else noise[:, start:stop]


def run_steps(step, draws, batch_size, device, optimizer, graphs=None):
    """Call ``step(idx, noise)`` for each ``(idx, noise)`` of ``draws``.

    A step returns False to end the epoch there (a non-finite loss caught
    before it reached the parameters); ``run_steps`` then returns False.
    With ``graphs`` (None: :data:`CUDA_GRAPHS` on a CUDA device) the full
    minibatches' steps are replayed from a CUDA graph captured on the
    epoch's first full minibatch (see :class:`StepGraph`) when at least
    :data:`MIN_REPLAYS` full minibatches follow it; ``optimizer`` is the one
    the step updates, a fused Adam. A step that cannot be captured runs as
    written, as does a short last minibatch, and the optimiser's later
    epochs are not captured again.
    """
    device = torch.device(device)
    if graphs is None:
        graphs = CUDA_GRAPHS and device.type == "cuda"
    if graphs:
        draws = list(draws)
        full = sum(1 for idx, _ in draws if len(idx) == batch_size)
        graphs = full > MIN_REPLAYS and capturable(optimizer)
    if not graphs:
        return all(step(idx, noise) is not False for idx, noise in draws)
    graph = None
    with torch.cuda.device(device):
        for idx, noise in draws:
            if graphs and len(idx) == batch_size:
                if graph is None:
                    graph = StepGraph.capture(step, idx, noise, optimizer, device)
                    graphs = graph is not None
                    continue
                graph.replay(idx, noise)
            elif step(idx, noise) is False:
                return False
    return True


#: Optimisers whose step could not be captured: their epochs run one kernel
#: at a time from then on.
_UNCAPTURED = weakref.WeakSet()


def capturable(optimizer):
    """Whether a step updating ``optimizer`` may be captured: a fused Adam
    (whose arithmetic does not change when torch's ``capturable`` flag is
    set for the capture) whose step has not failed to be captured before."""
    groups = optimizer.param_groups
    return all(group.get("fused") for group in groups) and optimizer not in _UNCAPTURED


class StepGraph:
    """A training step captured as a CUDA graph, replayed on new minibatches.

    The graph reads its minibatch from two static tensors (the row indices
    and the noise), which :meth:`replay` fills before each replay. Python
    numbers that the step uses (step size, KL weight) are fixed at capture:
    a graph serves the one epoch it was captured in.
    """

    def __init__(self, graph, static_idx, static_noise):
        self.graph = graph
        self.static_idx = static_idx
        self.static_noise = static_noise

    @classmethod
    def capture(cls, step, idx, noise, optimizer, device):
        """Train on ``(idx, noise)`` with ``step`` on a side stream of
        ``device`` (a warm-up, which also sets up the optimiser's state),
        then capture the step for the next minibatches. Returns None, with a
        warning, when it cannot be captured."""
        main = torch.cuda.current_stream(device)
        side = torch.cuda.Stream(device)
        side.wait_stream(main)
        try:
            with torch.cuda.stream(side):
                step(idx, noise)
                static_idx = idx.clone()
                static_noise = None if noise is None else noise.clone()
                graph = _capture(step, static_idx, static_noise, optimizer)
        finally:
            main.wait_stream(side)
        return None if graph is None else cls(graph, static_idx, static_noise)

    def replay(self, idx, noise):
        """One training step on the minibatch ``(idx, noise)``."""
        self.static_idx.copy_(idx)
        if noise is not None:
            self.static_noise.copy_(noise)
        self.graph.replay()


def _capture(step, idx, noise, optimizer):
    """``step(idx, noise)`` captured as a CUDA graph on the current stream,
    or None (with a warning naming the first error) when it cannot be."""
    graph = torch.cuda.CUDAGraph()
    groups = optimizer.param_groups
    flags = [group.get("capturable", False) for group in groups]
    error = None
    try:
        # torch checks the flag only while capturing
        for group in groups:
            group["capturable"] = True
        graph.capture_begin()
        try:
            step(idx, noise)
        except RuntimeError as exc:
            error = exc
        finally:
            graph.capture_end()
    except RuntimeError as exc:
        error = error or exc
    finally:
        for group, flag in zip(groups, flags):
            group["capturable"] = flag
    if error is None:
        return graph
    _UNCAPTURED.add(optimizer)
    warnings.warn(
        "training steps run one kernel at a time: the step could not be "
        f"captured as a CUDA graph ({error})",
        RuntimeWarning,
        stacklevel=4,
    )
    return None


class Adam(torch.optim.Adam):
    """torch's Adam, with less bookkeeping per step for the fused update on
    the CPU.

    A training step of the default networks on the CPU lasts a few
    milliseconds, most of it the fixed cost of its operations, and torch's
    optimiser spends a few hundred microseconds of it outside the update:
    it checks every parameter's state, then counts each parameter's step
    in its own small operation. Here, once every parameter that has a
    gradient has its state, the step counters are views of one tensor,
    counted in one operation, and the update is the same call to
    ``torch._fused_adam_`` with the same values: the parameters come out
    the same, bit for bit. Any other case (no fused kernel, another
    device, a CUDA graph's capture, a ``GradScaler``, options this path
    does not read, a closure, the first step) is torch's own
    :meth:`torch.optim.Adam.step`, with the step hooks run once either way.
    """

    def zero_grad(self, set_to_none=True):
        """Drop every parameter's gradient (``set_to_none``, the default),
        or zero it in place as torch does."""
        if not set_to_none:
            return super().zero_grad(set_to_none=False)
        for group in self.param_groups:
            for param in group["params"]:
                param.grad = None
        return None

    def step(self, closure=None):
        """One Adam update of the parameters that have a gradient."""
        plan = None if closure is not None else self._lean_plan()
        if plan is None:
            return _torch_adam_step(self, closure)
        group, params, states = plan
        self._counters.add_(1)
        beta1, beta2 = group["betas"]
        torch._fused_adam_(
            params,
            [param.grad for param in params],
            [state["exp_avg"] for state in states],
            [state["exp_avg_sq"] for state in states],
            [],
            self._counter_views,
            amsgrad=False,
            lr=group["lr"],
            beta1=beta1,
            beta2=beta2,
            weight_decay=0.0,
            eps=group["eps"],
            maximize=False,
            grad_scale=None,
            found_inf=None,
        )
        return None

    def _lean_plan(self):
        """``(group, params, states)`` of a step the lean path takes, else
        None; the step counters of ``states`` are then views of
        ``self._counters``."""
        if len(self.param_groups) != 1:
            return None
        group = self.param_groups[0]
        lean = group.get("fused") and isinstance(group["lr"], float)
        if not lean or any(group.get(key) for key in _OTHER_OPTIONS):
            return None
        # a GradScaler hands the fused update its scale and its inf flag
        scaled = (getattr(self, key, None) is not None for key in ("grad_scale", "found_inf"))
        if any(scaled):
            return None
        params = [param for param in group["params"] if param.grad is not None]
        states = [self.state.get(param) for param in params]
        on_cpu = all(param.device.type == "cpu" for param in params)
        if not params or not all(states) or not on_cpu:
            return None
        counters = [state["step"] for state in states]
        views = getattr(self, "_counter_views", ())
        if len(views) != len(counters) or any(a is not b for a, b in zip(views, counters)):
            self._counters = torch.stack(counters)
            self._counter_views = list(self._counters.unbind())
            for state, view in zip(states, self._counter_views):
                state["step"] = view
        return group, params, states


def _torch_adam_step(optimizer, closure):
    """torch's :meth:`torch.optim.Adam.step` on ``optimizer``, without the
    wrapper that runs the step hooks: torch wraps the ``step`` of each
    optimiser class once one is made, and :class:`Adam`'s own wrapper has
    run them already."""
    step = torch.optim.Adam.step
    if getattr(step, "hooked", False):
        step = step.__wrapped__
    return step(optimizer, closure)


#: Options of torch's Adam that the lean step of :class:`Adam` does not
#: apply: a group with any of them set steps through torch's own code.
_OTHER_OPTIONS = ("amsgrad", "maximize", "weight_decay", "capturable", "differentiable")
