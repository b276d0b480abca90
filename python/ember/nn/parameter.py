from ..tensor import Tensor, tensor


class Parameter(Tensor):
    """A tensor that a Module registers as a parameter (requires_grad by default)."""
    __slots__ = ()

    def __init__(self, data, requires_grad=True):
        t = data if isinstance(data, Tensor) else tensor(data)
        self._data, self._backend = t._data, t._backend
        self.grad, self._ctx, self._retains_grad = None, None, False
        self._hooks = None
        self._version = t._version  # the storage's counter (shared when data is a tensor)
        self.requires_grad = requires_grad

    def __repr__(self):
        return "Parameter containing:\n" + super().__repr__()
