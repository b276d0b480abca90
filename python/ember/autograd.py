"""Define-by-run autograd.

Each differentiable op is a Function subclass: `forward` computes on raw
device arrays and keeps what `backward` needs as named attributes;
`backward(grad)` returns one gradient array per input (None where the input
needs none). `Function.apply` runs forward and, when some input requires a
gradient and grad mode is on, records the node on the output tensor.

`backward()` walks the graph once in reverse topological order, sums the
gradients reaching each tensor, accumulates into leaves' `.grad`, and frees
each node's saved arrays unless `retain_graph=True`.
"""
_enabled = True  # grad mode, process-wide (PyTorch's is per thread)
_wrap = None      # Tensor._wrap, set by tensor.py (which imports this module)
_final_callbacks = []  # run once when the current backward() ends (DDP waits for its all-reduces there)


def queue_callback(fn):
    """Run fn() once, when the backward pass now running has finished (PyTorch's queue_callback)."""
    _final_callbacks.append(fn)


def is_grad_enabled():
    return _enabled


class _GradMode:
    def __init__(self, enabled):
        self.enabled = enabled

    def __enter__(self):
        global _enabled
        self.prev, _enabled = _enabled, self.enabled

    def __exit__(self, *exc):
        global _enabled
        _enabled = self.prev

    def __call__(self, fn):
        def wrapper(*args, **kwargs):
            with _GradMode(self.enabled):
                return fn(*args, **kwargs)
        wrapper.__name__ = getattr(fn, "__name__", "wrapper")
        wrapper.__doc__ = fn.__doc__
        return wrapper


def no_grad():
    """Context manager (or decorator) in which no graph is recorded.

    Example:
        with ember.no_grad():
            y = model(x)
    """
    return _GradMode(False)


def enable_grad():
    return _GradMode(True)


class Function:
    """One node of the graph. Subclasses define forward(*arrays, **kw) and backward(grad)."""

    def __init__(self, inputs):
        self.inputs = inputs
        self.needs = tuple(t.requires_grad for t in inputs)

    @classmethod
    def apply(cls, *inputs, **kwargs):
        # the hot path of every op: kept free of imports, loops and extra calls
        fn = cls.__new__(cls)
        be = fn.backend = inputs[0]._backend
        if len(inputs) == 1:
            data = fn.forward(inputs[0]._data, **kwargs)
        elif len(inputs) == 2:
            data = fn.forward(inputs[0]._data, inputs[1]._data, **kwargs)
        else:
            data = fn.forward(*[t._data for t in inputs], **kwargs)
        if type(data) is not be.array_type:  # NumPy turns 0-d results into scalars
            data = be.xp.asarray(data)
        out = _wrap(data, be)
        if _enabled:
            for t in inputs:
                if t.requires_grad:
                    fn.inputs = inputs
                    fn.needs = tuple([t.requires_grad for t in inputs])  # (a list builds faster than a generator)
                    out.requires_grad = True
                    out._ctx = fn
                    break
        return out

    def forward(self, *arrays, **kwargs):
        raise NotImplementedError

    def backward(self, grad):
        raise NotImplementedError

    def release(self):
        """Drop saved arrays and inputs; a second backward through this node then raises."""
        self.__dict__.clear()
        self.freed = True


def _topo_order(root):
    """Tensors reachable from root through recorded nodes, inputs before outputs."""
    order, seen = [], set()
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
            todo = [(inp, False) for inp, need in zip(ctx.inputs, ctx.needs) if need and id(inp) not in seen]
            # leaves pushed first come last in the order, so backward accumulates a parameter's .grad
            # right after its last use (DDP then starts that bucket's all-reduce while backward goes on)
            stack.extend([e for e in todo if e[0]._ctx is None] + [e for e in todo if e[0]._ctx is not None])
    return order


def backward(root, grad, retain_graph=False):
    """Propagate grad (an array shaped like root) from root to every leaf that requires it."""
    order = _topo_order(root)
    grads = {id(root): grad}
    for t in reversed(order):
        g = grads.pop(id(t), None)
        ctx = t._ctx
        if ctx is None:
            if g is not None and t.requires_grad:
                _accumulate_leaf(t, g)
            continue
        if t._retains_grad and g is not None:
            _accumulate_leaf(t, g)
        if g is None:
            continue
        in_grads = ctx.backward(g)
        for inp, need, ig in zip(ctx.inputs, ctx.needs, in_grads):
            if not need or ig is None:
                continue
            prev = grads.get(id(inp))
            grads[id(inp)] = ig if prev is None else prev + ig
        if not retain_graph:
            ctx.release()
    while _final_callbacks:
        _final_callbacks.pop(0)()


def _accumulate_leaf(t, g):
    if g.dtype != t._data.dtype:
        g = g.astype(t._data.dtype)
    if t.grad is None:
        # a copy: backward may hand the same array (or views of it) to several leaves
        t.grad = _wrap(g.copy(), t._backend)
    else:
        t.grad = _wrap(t.grad._data + g, t._backend)
    if t._hooks:
        for hook in list(t._hooks):
            hook(t)
