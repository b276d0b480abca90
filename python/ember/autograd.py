"""Define-by-run autograd.

Each differentiable op is a Function subclass named `<Op>Backward` (as PyTorch shows its
nodes): `forward` computes on raw device arrays and keeps what `backward` needs as named
attributes; `backward(grad)` returns one gradient array per input (None where the input needs
none). `Function.apply` runs forward and, when some input requires a gradient and grad mode
is on (per thread), records the node on the output tensor.

Several outputs: `forward` may return a tuple of arrays; `apply` then returns a tuple of
tensors and `backward(*grads)` receives one gradient per output. An output that got no
gradient arrives as zeros (as PyTorch materializes them); an output listed in
`non_differentiable` (indices, batch statistics) never requires grad and arrives as None.

Saved tensors: a node lists in `saved_inputs` the inputs whose arrays its backward reads and
sets `saved_output` when it reads its output(s). Their version counters are recorded when the
node is recorded and checked before its backward runs, so an in-place write in between
raises instead of computing a wrong gradient.

`backward()` walks the graph once in reverse topological order, sums the gradients reaching
each tensor, accumulates into leaves' `.grad`, and frees each node's saved arrays unless
`retain_graph=True`.
"""
import threading
import weakref

_wrap = None      # Tensor._wrap, set by tensor.py (which imports this module)
_final_callbacks = []  # run once when the current backward() ends (DDP waits for its all-reduces there)
# ember.onnx sets this while it traces a model: called as _trace(node, inputs, kwargs, outputs) by apply
_trace = None
# ember.amp.autocast sets this while a region is open: apply's inputs, cast by its op policy
_autocast = None


def queue_callback(fn):
    """Run fn() once, when the backward pass now running has finished (PyTorch's queue_callback)."""
    _final_callbacks.append(fn)


class _GradState(threading.local):
    enabled = True  # every thread starts with grad mode on, as in PyTorch
    inference = False


_grad = _GradState()
# How many threads have grad mode off. While none has, apply skips the per-thread lookup (a
# thread-local read costs several plain global reads on every op).
_threads_without_grad = 0
_count_lock = threading.Lock()


def is_grad_enabled():
    return _grad.enabled


def _set_grad_enabled(flag):
    global _threads_without_grad
    if _grad.enabled != flag:
        with _count_lock:
            _threads_without_grad += -1 if flag else 1
        _grad.enabled = flag


class _Decorating:
    """A context manager that is also a decorator: each call of the function runs in a fresh copy."""

    def _fresh(self):
        raise NotImplementedError

    def __call__(self, fn):
        def wrapper(*args, **kwargs):
            with self._fresh():
                return fn(*args, **kwargs)
        wrapper.__name__ = getattr(fn, "__name__", "wrapper")
        wrapper.__doc__ = fn.__doc__
        return wrapper


class _GradMode(_Decorating):
    def __init__(self, enabled):
        self.enabled = enabled

    def _fresh(self):
        return _GradMode(self.enabled)

    def __enter__(self):
        self.prev = _grad.enabled
        _set_grad_enabled(self.enabled)

    def __exit__(self, *exc):
        _set_grad_enabled(self.prev)


# How many threads are in inference mode: while none is, a new tensor's counter is a plain list.
_threads_in_inference = 0


class _NoVersion:
    """The version counter of a tensor made in inference mode: it has none, as PyTorch's inference
    tensors. Inside inference mode writes are free; outside, no graph may save such a tensor and
    no in-place write may touch it, because nothing would notice the write."""
    __slots__ = ()

    def __getitem__(self, i):
        inference_only()
        return 0

    def __setitem__(self, i, value):
        pass


NO_VERSION = _NoVersion()


def inference_only():
    """RuntimeError unless this thread is in inference mode (an inference tensor is being saved or written)."""
    if not _grad.inference:
        raise RuntimeError("[inference_mode] a tensor created in inference mode cannot be saved for backward "
                           "or written in place outside it; t.clone() outside inference mode makes a normal tensor")


def new_version():
    """The version counter of a tensor created now (a list shared by its views)."""
    return NO_VERSION if _grad.inference else [0]


class _InferenceMode(_Decorating):
    def __init__(self, mode):
        self.mode = bool(mode)

    def _fresh(self):
        return _InferenceMode(self.mode)

    def __enter__(self):
        global _threads_in_inference
        self.prev, self.grad = _grad.inference, _GradMode(not self.mode and _grad.enabled)
        self.grad.__enter__()
        if self.mode != self.prev:
            with _count_lock:
                _threads_in_inference += 1 if self.mode else -1
            _grad.inference = self.mode

    def __exit__(self, *exc):
        global _threads_in_inference
        if _grad.inference != self.prev:
            with _count_lock:
                _threads_in_inference += 1 if self.prev else -1
            _grad.inference = self.prev
        self.grad.__exit__(*exc)


def inference_mode(mode=True):
    """Context manager (or decorator) for inference, as PyTorch's: no graph is recorded and the
    tensors created inside have no version counter (in-place writes to them cost nothing). Such a
    tensor cannot be saved for backward or written in place outside inference mode: clone it.

    Example:
        with ember.inference_mode():
            y = model(x)
    """
    return _InferenceMode(mode)


def is_inference_mode_enabled():
    return _grad.inference


def no_grad():
    """Context manager (or decorator) in which this thread records no graph.

    Example:
        with ember.no_grad():
            y = model(x)
    """
    return _GradMode(False)


def enable_grad():
    return _GradMode(True)


class Function:
    """One node of the graph. Subclasses define forward(*arrays, **kw) and backward(grad)."""
    saved_inputs = ()          # indices of the inputs whose arrays backward reads
    saved_output = False       # whether backward reads the output array(s): True (all) or their indices
    non_differentiable = ()    # indices of outputs that never get a gradient
    _saves = False             # saved_inputs or saved_output, per class (see __init_subclass__)
    _vin = _vout = _outputs = None  # set per node when recorded (in apply / _apply_multi)

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        cls._saves = bool(cls.saved_inputs or cls.saved_output)

    def __init__(self, inputs):
        self.inputs = inputs
        self.needs = tuple(t.requires_grad for t in inputs)

    @classmethod
    def apply(cls, *inputs, **kwargs):
        # the hot path of every op: kept free of imports, loops and extra calls (one and two
        # inputs are spelled out: a comprehension, or a call with an empty **kwargs, costs more
        # than the op's own Python code)
        if _autocast is not None:
            inputs = _autocast(cls, inputs, kwargs)
        x = inputs[0]
        be = x._backend
        n = len(inputs)
        if n == 2:
            y = inputs[1]
            needs = (x.requires_grad, y.requires_grad)
        elif n == 1:
            needs = (x.requires_grad,)
        else:
            needs = tuple([t.requires_grad for t in inputs])
        record = True in needs and (not _threads_without_grad or _grad.enabled)
        fn = cls.__new__(cls)
        fn.backend = be
        if kwargs:
            data = fn.forward(*[t._data for t in inputs], **kwargs)
        elif n == 2:
            data = fn.forward(x._data, y._data)
        elif n == 1:
            data = fn.forward(x._data)
        else:
            data = fn.forward(*[t._data for t in inputs])
        if type(data) is not be.array_type:
            if type(data) is tuple:
                outs = _apply_multi(fn, inputs, data)
                if _trace is not None:
                    _trace(fn, inputs, kwargs, outs)
                return outs
            data = be.xp.asarray(data)  # NumPy turns 0-d results into scalars
        out = _wrap(data, be)
        if record:
            fn.inputs, fn.needs = inputs, needs
            if fn._saves:  # the versions of every input (cheaper to take than to pick the saved ones)
                if n == 2:
                    fn._vin = (x._version[0], y._version[0])
                elif n == 1:
                    fn._vin = (x._version[0],)
                else:
                    fn._vin = tuple([t._version[0] for t in inputs])
                if fn.saved_output:
                    _record_output_versions(fn, (out,))
            out.requires_grad = True
            out._ctx = fn
        if _trace is not None:
            _trace(fn, inputs, kwargs, out)
        return out

    def forward(self, *arrays, **kwargs):
        raise NotImplementedError

    def backward(self, grad):
        raise NotImplementedError

    def release(self):
        """Drop saved arrays and inputs; a second backward through this node then raises."""
        self.__dict__.clear()
        self.freed = True


def _apply_multi(fn, inputs, arrays):
    """apply's tail for a forward that returned a tuple: one tensor per array."""
    be = fn.backend
    outs = tuple(_wrap(a if type(a) is be.array_type else be.xp.asarray(a), be) for a in arrays)
    if _grad.enabled and any(t.requires_grad for t in inputs):
        fn.inputs = inputs
        fn.needs = tuple([t.requires_grad for t in inputs])
        nd = fn.non_differentiable
        # weak: the outputs point at the node, and a strong link back would make a cycle
        fn._outputs = tuple(None if i in nd else weakref.ref(o) for i, o in enumerate(outs))
        fn._out_meta = tuple((o._data.shape, o._data.dtype) for o in outs)
        for i, o in enumerate(outs):
            if i not in nd:
                o.requires_grad = True
                o._ctx = fn
        if fn._saves:
            fn._vin = tuple([t._version[0] for t in inputs])
            _record_output_versions(fn, outs)
    return outs


def _record_output_versions(fn, outs):
    saved = fn.saved_output
    if saved:
        fn._vout = [(k, o._version, o._version[0], o._data.dtype, o._data.shape) for k, o in enumerate(outs)
                    if saved is True or k in saved]


def _check_versions(ctx):
    """RuntimeError, as PyTorch's, when a tensor this node saved was written in place since forward."""
    vin, ins = ctx._vin, ctx.inputs
    if vin is not None:
        for i in ctx.saved_inputs:
            t = ins[i]
            if t._version[0] != vin[i]:
                _stale(ctx, t._data.dtype, t.shape, t._version[0], vin[i], f"input {i}")
    if ctx._vout is not None:
        for k, counter, then, dtype, shape in ctx._vout:
            if counter[0] != then:
                _stale(ctx, dtype, shape, counter[0], then, f"output {k}")


def _stale(ctx, dtype, shape, now, then, which):
    raise RuntimeError(
        "one of the variables needed for gradient computation has been modified by an inplace operation: "
        f"[{dtype} {list(shape)}] is at version {now}; expected version {then} instead "
        f"({which} of {type(ctx).__name__}). Hint: compute the in-place update after backward(), or on a "
        "copy (x = x + ... instead of x += ...).")


def _topo_order(root):
    """Tensors reachable from root through recorded nodes, inputs before outputs, and for each
    multi-output node (by id) how many of its outputs were reached."""
    order, seen, reached = [], set(), {}
    stack = [(root, False)]
    while stack:
        t, done = stack.pop()
        if done:
            order.append(t)
            continue
        if id(t) in seen:
            continue
        seen.add(id(t))
        stack.append((t, True))
        ctx = t._ctx
        if ctx is not None:
            if getattr(ctx, "freed", False):
                raise RuntimeError(
                    "Trying to backward through the graph a second time (or directly access saved tensors "
                    "after they have already been freed). Specify retain_graph=True on the first backward() "
                    "call if you need to backward through the graph a second time.")
            if ctx._outputs is not None:
                reached[id(ctx)] = reached.get(id(ctx), 0) + 1
            todo = [(inp, False) for inp, need in zip(ctx.inputs, ctx.needs) if need and id(inp) not in seen]
            # leaves pushed first come last in the order, so backward accumulates a parameter's .grad
            # right after its last use (DDP then starts that bucket's all-reduce while backward goes on)
            stack.extend([e for e in todo if e[0]._ctx is None] + [e for e in todo if e[0]._ctx is not None])
    return order, reached


def _gather_outputs(ctx, t, g, pending, reached):
    """Collect output t's gradient for multi-output node ctx; the full list once its last reached
    output is in (zeros for differentiable outputs without one), else None."""
    entry = pending.get(id(ctx))
    if entry is None:
        entry = pending[id(ctx)] = [[None] * len(ctx._outputs), reached[id(ctx)]]
    if g is not None:
        k = next(i for i, r in enumerate(ctx._outputs) if r is not None and r() is t)
        entry[0][k] = g
    entry[1] -= 1
    if entry[1]:
        return None
    del pending[id(ctx)]
    grads = entry[0]
    if all(x is None for x in grads):
        return None
    xp = ctx.backend.xp
    for k, (shape, dtype) in enumerate(ctx._out_meta):
        if grads[k] is None and ctx._outputs[k] is not None:
            grads[k] = xp.zeros(shape, dtype=dtype)
    return grads


def backward(root, grad, retain_graph=False):
    """Propagate grad (an array shaped like root) from root to every leaf that requires it."""
    order, reached = _topo_order(root)
    grads = {id(root): grad}
    pending = {}
    for t in reversed(order):
        g = grads.pop(id(t), None)
        ctx = t._ctx
        if ctx is None:
            if g is not None and t.requires_grad:
                _accumulate_leaf(t, g)
            continue
        if t._retains_grad and g is not None:
            _accumulate_leaf(t, g)
        if ctx._outputs is not None:
            out_grads = _gather_outputs(ctx, t, g, pending, reached)
            if out_grads is None:
                continue
            if ctx._saves:
                _check_versions(ctx)
            in_grads = ctx.backward(*out_grads)
        else:
            if g is None:
                continue
            if ctx._saves:
                _check_versions(ctx)
            in_grads = ctx.backward(g)
        for inp, need, ig in zip(ctx.inputs, ctx.needs, in_grads):
            if not need or ig is None:
                continue
            prev = grads.get(id(inp))
            grads[id(inp)] = ig if prev is None else inp._backend.sum_grads(prev, ig)
        if not retain_graph:
            ctx.release()
    while _final_callbacks:
        _final_callbacks.pop(0)()


def _accumulate_leaf(t, g):
    if g.dtype != t._data.dtype:
        g = g.astype(t._data.dtype)
    be = t._backend
    g = be.accumulate_grad(t.grad, g)  # a pooled copy first, then in place
    # NumPy turns 0-d results into scalars, and .grad is written in place (zero_, optimizers)
    t.grad = _wrap(g if type(g) is be.array_type else be.xp.asarray(g), be)
    if t._hooks:
        for hook in list(t._hooks):
            hook(t)
