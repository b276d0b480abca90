"""Tensor: a device array plus what autograd needs (requires_grad, grad, the node that made it).

The array lives in `_data` (numpy.ndarray on numpy/cpu/cuda-emu, cupy.ndarray on
cuda). Operators and methods only check, dispatch and record: the arithmetic
is in ops/ (glue ops on the array module) and in the kernels (heavy ops).
"""
import ml_dtypes
import numpy as np

from . import autograd
from .backends import default_backend, get_backend, torch_device

float32 = np.dtype(np.float32)
float64 = np.dtype(np.float64)
int64 = np.dtype(np.int64)
bool_ = np.dtype(np.bool_)
_DTYPES = {"float32": float32, "float64": float64, "int64": int64, "bool": bool_,
           "float": float32, "double": float64, "long": int64}

# ---- low precision: bfloat16 (ml_dtypes' NumPy dtype) and float16 ----------------------------
# ml_dtypes' bfloat16 has NumPy kind 'V', so "is it a float" is is_floating(dt), never dt.kind == "f".
bfloat16 = np.dtype(ml_dtypes.bfloat16)
float16 = np.dtype(np.float16)
LOW_PRECISION = (bfloat16, float16)
_DTYPES.update({"bfloat16": bfloat16, "float16": float16, "half": float16})
_PROMOTION = (float64, float32, bfloat16, float16, int64, bool_)  # PyTorch's order of the kinds


def is_floating(dt):
    """Whether dtype dt is a floating one (float16/bfloat16/float32/float64)."""
    return dt.kind == "f" or dt == bfloat16


def promote_types(a, b):
    """PyTorch's result dtype for a op b: float64 > float32 > bf16, f16 > int64 > bool; bf16 with f16
    gives float32."""
    if a == b:
        return a
    if a in LOW_PRECISION and b in LOW_PRECISION:
        return float32
    for dt in _PROMOTION:
        if a == dt or b == dt:
            return dt
    return np.result_type(a, b)
# ---- end low precision ------------------------------------------------------------------------
_INT64_MIN, _INT64_MAX = -(1 << 63), (1 << 63) - 1
# PyTorch's Tensor API: int() casts to int32, type() names the dtype as torch does
int32 = np.dtype(np.int32)
_DTYPES.update({"int32": int32, "int": int32})
_TYPE_NAMES = {"float32": "FloatTensor", "float64": "DoubleTensor", "float16": "HalfTensor",
               "bfloat16": "BFloat16Tensor", "int64": "LongTensor", "int32": "IntTensor", "int16": "ShortTensor",
               "int8": "CharTensor", "uint8": "ByteTensor", "bool": "BoolTensor"}


def as_dtype(dtype):
    """Normalise em.float32 / np.float32 / 'float32' / float to a numpy dtype; None stays None."""
    if dtype is None:
        return None
    if dtype is float:
        return float32
    if dtype is int:
        return int64
    if dtype is bool:
        return bool_
    if isinstance(dtype, str):
        if dtype not in _DTYPES:
            raise TypeError(f"unknown dtype '{dtype}'; known: float32, float64, bfloat16, float16, int64, bool")
        return _DTYPES[dtype]
    try:
        return np.dtype(dtype).newbyteorder("=")  # kernels read native numbers ('>f4' is float32)
    except TypeError:
        raise TypeError(f"unknown dtype {dtype!r}; known: float32, float64, int64, bool") from None


def _default_dtype(a):
    """ember keeps bool and integers (as int64) and makes other floats float32, as PyTorch does;
    bfloat16 and float16 stay (as torch.tensor keeps them)."""
    if a.dtype in LOW_PRECISION:
        return a.dtype
    k = a.dtype.kind
    if k == "b":
        return bool_
    if k in "iu":
        return int64
    if k == "f":
        return float32
    raise TypeError(f"cannot make a tensor from an array of dtype {a.dtype}")


def _host_copy(a, dtype):
    """A copy of the host array a as dtype (default: _default_dtype) in native byte order; ValueError
    where an integer value does not fit the new integer dtype (uint64 above int64's range)."""
    dt = np.dtype(dtype or _default_dtype(a)).newbyteorder("=")
    if a.dtype.kind in "iu" and dt.kind in "iu" and a.size and not np.can_cast(a.dtype, dt):
        lo, hi, info = a.min(), a.max(), np.iinfo(dt)
        if lo < info.min or hi > info.max:
            raise ValueError(f"cannot make a tensor of dtype {dt} from {a.dtype} values in [{lo}, {hi}]: "
                             f"outside {dt}'s range [{info.min}, {info.max}]")
    return np.array(a, dtype=dt, copy=True)


def _int_beyond_int64(data):
    """(the first int outside int64 in data, a nested list/tuple of numbers, or None; whether a leaf
    that is not an int showed up). Stops at that leaf: a float list costs one look."""
    stack, found = [iter((data,))], None
    while stack:
        for v in stack[-1]:
            if isinstance(v, (list, tuple)):
                stack.append(iter(v))
                break
            if not isinstance(v, (int, np.integer)):
                return found, True
            if found is None and not _INT64_MIN <= v <= _INT64_MAX:
                found = v
        else:
            stack.pop()
    return found, False


def _from_python_ints(data, a, dtype):
    """a = np.asarray(data) where NumPy fell back to float64 or object, as PyTorch reads the numbers:
    ints outside int64 raise ValueError unless a float leaf or a float dtype makes a float tensor."""
    big, other = _int_beyond_int64(data)
    if big is not None and not other and (dtype is None or dtype.kind not in "fc"):
        raise ValueError(f"cannot make a tensor from the int {big}: outside int64's range [-2**63, 2**63 - 1] "
                         f"(give dtype=float32 or float64 for a float tensor)")
    if a.dtype == object and (big is not None or other):
        try:
            return np.asarray(data, dtype=np.float64)
        except (TypeError, ValueError):  # strings or other objects: refused below
            pass
    return a


class _HookHandle:
    def __init__(self, hooks, hook):
        self._hooks, self._hook = hooks, hook

    def remove(self):
        if self._hook in self._hooks:
            self._hooks.remove(self._hook)


class Tensor:
    __slots__ = ("_data", "_backend", "requires_grad", "grad", "_ctx", "_retains_grad", "_hooks", "_version",
                 "__weakref__")
    __array_priority__ = 1000  # so ndarray + Tensor calls Tensor.__radd__

    def __init__(self, data, dtype=None, device=None, requires_grad=False):
        t = tensor(data, dtype=dtype, device=device, requires_grad=requires_grad)
        self._data, self._backend = t._data, t._backend
        self.requires_grad, self.grad, self._ctx, self._retains_grad = requires_grad, None, None, False
        self._hooks = None
        self._version = autograd.new_version()

    @staticmethod
    def _wrap(data, backend, requires_grad=False):
        t = Tensor.__new__(Tensor)
        t._data = data
        t._backend = backend
        t.requires_grad = requires_grad
        t.grad = None
        t._ctx = None
        t._retains_grad = False
        t._hooks = None
        # one counter per storage: views share their base's list
        t._version = [0] if not autograd._threads_in_inference else autograd.new_version()
        return t

    # ---- properties ---------------------------------------------------------------
    @property
    def shape(self):
        return self._data.shape

    @property
    def dtype(self):
        return self._data.dtype

    @property
    def device(self):
        """An ember.device: equal to the device's name ('cpu', 'cuda', ...) and, on cuda, to 'cuda:i'."""
        return torch_device(self._backend, self._data)

    @property
    def ndim(self):
        return self._data.ndim

    @property
    def is_leaf(self):
        return self._ctx is None

    @property
    def grad_fn(self):
        return self._ctx

    @property
    def data(self):
        """A detached tensor sharing this one's memory (as PyTorch's .data).

        Its version counter is its own: writes through .data are not seen by autograd's
        saved-tensor checks (use detach() for a view whose writes are)."""
        return Tensor._wrap(self._data, self._backend)

    @data.setter
    def data(self, value):
        # replaces the array without bumping the version, as PyTorch's .data assignment
        value = value if isinstance(value, Tensor) else tensor(value, device=self._backend)
        self._data = self._backend.move(value._data, value._backend)

    @property
    def _version_count(self):
        """How many in-place writes this tensor's storage has seen (PyTorch's _version)."""
        return self._version[0]

    @property
    def T(self):
        return self.permute(*range(self.ndim - 1, -1, -1))

    def size(self, dim=None):
        return self.shape if dim is None else self.shape[dim]

    def dim(self):
        return self.ndim

    def numel(self):
        return int(self._data.size)

    def __len__(self):
        if self.ndim == 0:
            raise TypeError("len() of a 0-d tensor")
        return self.shape[0]

    # ---- conversion -----------------------------------------------------------
    def numpy(self):
        """The data as a NumPy array (shared on host devices, copied from cuda); detached."""
        return self._backend.to_host(self._data)

    def item(self):
        if self._data.size != 1:
            raise ValueError(f"item() needs a tensor with one element, got shape {self.shape}")
        return self.numpy().reshape(()).item()

    def tolist(self):
        return self.numpy().tolist()

    def __array__(self, dtype=None, copy=None):
        a = self.numpy()
        return a.astype(dtype) if dtype is not None else a

    def __dlpack__(self, *args, **kwargs):
        return self._data.__dlpack__(*args, **kwargs)

    def __dlpack_device__(self):
        return self._data.__dlpack_device__()

    @property
    def __cuda_array_interface__(self):
        return self._data.__cuda_array_interface__

    def __float__(self):
        return float(self.item())

    def __int__(self):
        return int(self.item())

    def __bool__(self):
        if self._data.size != 1:
            raise ValueError(f"the truth value of a tensor with shape {self.shape} is ambiguous")
        return bool(self.item())

    def __index__(self):
        if self.dtype.kind not in "iu" or self._data.size != 1:
            raise TypeError("only integer tensors of one element can be converted to an index")
        return int(self.item())

    def __hash__(self):
        return id(self)

    def __repr__(self):
        a = self.numpy()
        a = a.astype(float32) if a.dtype in LOW_PRECISION else a  # ml_dtypes ignores precision=
        body = np.array2string(a, separator=", ", precision=4, prefix="tensor(")
        extra = []
        if self.device != default_backend().name:
            extra.append(f"device='{self.device}'")
        if self.dtype in LOW_PRECISION:
            extra.append(f"dtype=ember.{self.dtype}")  # as PyTorch shows dtype=torch.bfloat16
        elif self.dtype not in (float32, int64, bool_):
            extra.append(f"dtype={self.dtype}")
        if self._ctx is not None:
            extra.append(f"grad_fn=<{type(self._ctx).__name__}>")
        elif self.requires_grad:
            extra.append("requires_grad=True")
        return "tensor(" + body + "".join(", " + e for e in extra) + ")"

    # ---- autograd -------------------------------------------------------------
    def backward(self, grad=None, retain_graph=False):
        """Accumulate d(self)/d(leaf) into every leaf's .grad.

        Args:
            grad: upstream gradient, shaped like self; optional for one-element tensors.
            retain_graph: keep the graph so backward can run through it again.
        """
        if not self.requires_grad:
            raise RuntimeError("element 0 of tensors does not require grad and does not have a grad_fn")
        xp = self._backend.xp
        if grad is None:
            if self._data.size != 1:
                raise RuntimeError(f"grad can be implicitly created only for scalar outputs; got shape {self.shape}")
            g = xp.ones(self.shape, dtype=self.dtype)
        else:
            g = grad._data if isinstance(grad, Tensor) else xp.asarray(grad)
            if g.shape != self.shape:
                raise ValueError(f"[backward] grad of shape {g.shape} does not match the tensor's shape {self.shape}")
            g = g.astype(self.dtype, copy=True)
        autograd.backward(self, g, retain_graph)

    def detach(self):
        """A tensor sharing this one's memory and version counter, outside the graph."""
        t = Tensor._wrap(self._data, self._backend)
        t._version = self._version
        return t

    def requires_grad_(self, requires_grad=True):
        if self._ctx is not None and not requires_grad:
            raise RuntimeError("you can only change requires_grad flags of leaf tensors")
        if requires_grad and not is_floating(self.dtype):
            raise RuntimeError(f"only floating-point tensors can require gradients, got {self.dtype}")
        self.requires_grad = requires_grad
        return self

    def retain_grad(self):
        self._retains_grad = True
        return self

    def register_post_accumulate_grad_hook(self, hook):
        """Call hook(self) each time backward has accumulated a gradient into this leaf's .grad.

        Returns a handle whose remove() unregisters it (as PyTorch's).
        """
        if self._ctx is not None:
            raise RuntimeError("post accumulate grad hooks can only be registered on leaf tensors")
        if self._hooks is None:
            self._hooks = []
        self._hooks.append(hook)
        return _HookHandle(self._hooks, hook)

    # ---- in-place writes: each bumps the version counter ----------------------------
    def zero_(self):
        if self._ctx is not None and autograd.is_grad_enabled():
            return _inplace_ops.fill_(self, 0)  # recorded: the old value gets a zero gradient
        self._check_inplace()
        self._data[...] = 0
        self._bump()
        return self

    def fill_(self, value):
        if self._ctx is not None and autograd.is_grad_enabled():
            return _inplace_ops.fill_(self, value)
        self._check_inplace()
        self._data[...] = value
        self._bump()
        return self

    def copy_(self, src):
        src = src if isinstance(src, Tensor) else tensor(src, device=self._backend)
        if autograd.is_grad_enabled() and (src.requires_grad or self._ctx is not None):
            return _inplace_ops.copy_(self, src)  # recorded, so src's gradient flows through self
        self._check_inplace()
        self._data[...] = self._backend.move(src._data, src._backend)
        self._bump()
        return self

    def _bump(self):
        """Record an in-place write (shared by every view of this storage)."""
        self._version[0] += 1

    def is_inference(self):
        """Whether this tensor was created in inference mode (see ember.inference_mode)."""
        return self._version is autograd.NO_VERSION

    def _check_inplace(self, leaf_only=False):
        if self._version is autograd.NO_VERSION:
            autograd.inference_only()
        if self.requires_grad and autograd.is_grad_enabled() and not (leaf_only and self._ctx is not None):
            raise RuntimeError("a leaf tensor that requires grad is being used in an in-place operation; "
                               "wrap it in ember.no_grad()" if self._ctx is None else
                               "an in-place write into a tensor that is part of a graph is only supported for "
                               "+=, -=, *= and /=")

    def _old_value(self):
        """A new tensor holding a copy of self's value at self's place in the graph, for a write that is
        about to overwrite self (ember.onnx records it as an alias)."""
        src = Tensor._wrap(self._data.copy(), self._backend, self.requires_grad)
        src._ctx = self._ctx
        return src

    def _take_value(self, out):
        """Write out's value into self's storage (the result of an op done in place; ember.onnx records it
        as an alias of out)."""
        if out._data is not self._data:  # an in-place kernel has written it already
            self._data[...] = out._data
        self._bump()

    def _inplace(self, op, other):
        """self <- op(self, other) in place (+=, ...); the graph is rebased onto the new node."""
        self._check_inplace(leaf_only=True)
        src = self
        if autograd.is_grad_enabled() and (self.requires_grad or getattr(other, "requires_grad", False)):
            # an alias keeps the old value's node for the graph so far, and a copy of the old value: the
            # new node may save it (x *= y needs x for y's gradient), and self is about to be overwritten
            src = self._old_value()
        r = op(src, other)
        if r.dtype != self.dtype or r.shape != self.shape:
            raise RuntimeError(f"in-place result of dtype {r.dtype} and shape {r.shape} cannot be stored in a "
                               f"tensor of dtype {self.dtype} and shape {self.shape}")
        self._data[...] = r._data
        self._bump()
        if r._ctx is not None:
            self._ctx, self.requires_grad = r._ctx, True
        return self

    # ---- device and dtype -------------------------------------------------------
    def to(self, device=None, dtype=None, non_blocking=False, copy=False):
        """A tensor on `device` and/or of `dtype` (self when nothing changes, unless copy); differentiable.

        device may also be a tensor (its device and dtype, as PyTorch); non_blocking is accepted and
        changes nothing (host-device copies run on CuPy's current stream)."""
        if isinstance(device, Tensor):
            device, dtype = device._backend, device.dtype
        if isinstance(device, (np.dtype, type)) or (isinstance(device, str) and device in _DTYPES):
            device, dtype = None, device
        out = self if not copy else _views.clone(self)
        if dtype is not None and as_dtype(dtype) != self.dtype:
            out = _arith.CastBackward.apply(out, dtype=as_dtype(dtype))
        if device is not None and get_backend(device) is not self._backend:
            out = _shape.ToDeviceBackward.apply(out, device=get_backend(device))
        return out

    def cpu(self):
        return self.to("cpu")

    def cuda(self, device=None, non_blocking=False):
        return self.to("cuda" if device is None else f"cuda:{device}" if isinstance(device, int) else device)

    def float(self):
        return self.to(dtype=float32)

    def double(self):
        return self.to(dtype=float64)

    def bfloat16(self):
        return self.to(dtype=bfloat16)

    def half(self):
        return self.to(dtype=float16)

    def long(self):
        return self.to(dtype=int64)

    def bool(self):
        return self.to(dtype=bool_)

    def astype(self, dtype):
        return self.to(dtype=dtype)

    # ---- operators and op methods: each calls its op in ops/ ---------------------------
    def __add__(self, other):
        return _arith.add(self, other)

    def __radd__(self, other):
        return _arith.add(other, self)

    def __sub__(self, other):
        return _arith.sub(self, other)

    def __rsub__(self, other):
        return _arith.sub(other, self)

    def __mul__(self, other):
        return _arith.mul(self, other)

    def __rmul__(self, other):
        return _arith.mul(other, self)

    def __truediv__(self, other):
        return _arith.div(self, other)

    def __rtruediv__(self, other):
        return _arith.div(other, self)

    def __pow__(self, other):
        return _arith.pow(self, other)

    def __rpow__(self, other):
        return _arith.pow(other, self)

    def __matmul__(self, other):
        return _matmul(self, other)

    def __rmatmul__(self, other):
        return _matmul(other, self)

    def __neg__(self):
        return _arith.neg(self)

    def __abs__(self):
        return _arith.abs_(self)

    def __iadd__(self, other):
        return self._inplace(_arith.add, other)

    def __isub__(self, other):
        return self._inplace(_arith.sub, other)

    def __imul__(self, other):
        return self._inplace(_arith.mul, other)

    def __itruediv__(self, other):
        return self._inplace(_arith.div, other)

    def __eq__(self, other):
        return _arith.eq(self, other)

    def __ne__(self, other):
        return _arith.ne(self, other)

    def __lt__(self, other):
        return _arith.lt(self, other)

    def __le__(self, other):
        return _arith.le(self, other)

    def __gt__(self, other):
        return _arith.gt(self, other)

    def __ge__(self, other):
        return _arith.ge(self, other)

    def __getitem__(self, key):
        return _shape.getitem(self, key)

    def __setitem__(self, key, value):
        if autograd.is_grad_enabled() and (self._ctx is not None or getattr(value, "requires_grad", False)):
            _inplace_ops.setitem(self, key, value)  # recorded, so the value's gradient flows (out[:, t] = h)
        else:
            _shape.setitem(self, key, value)

    def add(self, other):
        return _arith.add(self, other)

    def sub(self, other):
        return _arith.sub(self, other)

    def mul(self, other):
        return _arith.mul(self, other)

    def div(self, other):
        return _arith.div(self, other)

    def pow(self, exponent):
        return _arith.pow(self, exponent)

    def matmul(self, other):
        return _matmul(self, other)

    def neg(self):
        return _arith.neg(self)

    def abs(self):
        return _arith.abs_(self)

    def exp(self):
        return _arith.exp(self)

    def log(self):
        return _arith.log(self)

    def sqrt(self):
        return _arith.sqrt(self)

    def clip(self, min=None, max=None):
        return _arith.clip(self, min, max)

    clamp = clip

    def sum(self, dim=None, keepdim=False, axis=None, keepdims=False):
        return _reduce.sum(self, dim, keepdim, axis, keepdims)

    def mean(self, dim=None, keepdim=False, axis=None, keepdims=False):
        return _reduce.mean(self, dim, keepdim, axis, keepdims)

    def max(self, dim=None, keepdim=False, axis=None, keepdims=False):
        return _reduce.max(self, dim, keepdim, axis, keepdims)

    def min(self, dim=None, keepdim=False, axis=None, keepdims=False):
        return _reduce.min(self, dim, keepdim, axis, keepdims)

    def var(self, dim=None, keepdim=False, axis=None, keepdims=False, unbiased=True, correction=None):
        return _reduce.var(self, dim, keepdim, axis, keepdims, unbiased, correction)

    def std(self, dim=None, keepdim=False, axis=None, keepdims=False, unbiased=True, correction=None):
        return _reduce.std(self, dim, keepdim, axis, keepdims, unbiased, correction)

    def argmax(self, dim=None, keepdim=False, axis=None, keepdims=False):
        return _reduce.argmax(self, dim, keepdim, axis, keepdims)

    def all(self, dim=None, keepdim=False):
        return _reduce.all(self, dim, keepdim)

    def any(self, dim=None, keepdim=False):
        return _reduce.any(self, dim, keepdim)

    def argmin(self, dim=None, keepdim=False, axis=None, keepdims=False):
        return _reduce.argmin(self, dim, keepdim, axis, keepdims)

    def reshape(self, *shape):
        return _shape.reshape(self, *shape)

    def permute(self, *dims):
        return _shape.permute(self, *dims)

    def transpose(self, dim0=-2, dim1=-1):
        return _shape.transpose(self, dim0, dim1)

    def flatten(self, start_dim=0, end_dim=-1):
        return _shape.flatten(self, start_dim, end_dim)

    def squeeze(self, dim=None, axis=None):
        return _shape.squeeze(self, dim, axis)

    def unsqueeze(self, dim):
        return _shape.unsqueeze(self, dim)

    def expand(self, *shape):
        return _shape.expand(self, *shape)

    def relu(self):
        return _activations.relu(self)

    def sigmoid(self):
        return _activations.sigmoid(self)

    def tanh(self):
        return _activations.tanh(self)

    def softmax(self, dim=None, axis=None):
        return _softmax(self, dim, axis)

    def log_softmax(self, dim=None, axis=None):
        return _log_softmax(self, dim, axis)

    # ---- PyTorch's Tensor API: comparisons, views, copies, indexing, in-place ops (ops/views.py, ---------
    # ---- ops/index.py, ops/linalg.py, ops/inplace.py, ops/pointwise.py) ----------------------------------
    @property
    def is_cuda(self):
        return self._backend.name == "cuda"

    def is_contiguous(self):
        return bool(self._data.flags.c_contiguous)

    def __format__(self, spec):
        """f"{loss:.4f}": a one-element tensor formats as its number; an empty spec gives str()."""
        if not spec:
            return str(self)
        if self._data.size != 1:
            raise TypeError(f"unsupported format string {spec!r} passed to Tensor.__format__: only one-element "
                            f"tensors take a format spec, got shape {self.shape}")
        return format(self.item(), spec)

    def eq(self, other):
        return _arith.eq(self, other)

    def ne(self, other):
        return _arith.ne(self, other)

    def lt(self, other):
        return _arith.lt(self, other)

    def le(self, other):
        return _arith.le(self, other)

    def gt(self, other):
        return _arith.gt(self, other)

    def ge(self, other):
        return _arith.ge(self, other)

    def view(self, *shape):
        """self with a new shape, sharing memory; RuntimeError where the strides forbid it (use reshape)."""
        return _views.view(self, *shape)

    def view_as(self, other):
        return _views.view(self, other.shape)

    def reshape_as(self, other):
        return _shape.reshape(self, other.shape)

    def expand_as(self, other):
        return _shape.expand(self, other.shape)

    def repeat(self, *sizes):
        return _views.repeat(self, *sizes)

    def mm(self, mat2):
        return _linalg.mm(self, mat2)

    def bmm(self, mat2):
        return _linalg.bmm(self, mat2)

    def t(self):
        return _linalg.t(self)

    def clone(self):
        return _views.clone(self)

    def contiguous(self):
        return _views.contiguous(self)

    def norm(self, p="fro", dim=None, keepdim=False, dtype=None):
        return _linalg.norm(self, p, dim, keepdim, dtype)

    def split(self, split_size_or_sections, dim=0):
        return _views.split(self, split_size_or_sections, dim)

    def chunk(self, chunks, dim=0):
        return _views.chunk(self, chunks, dim)

    def narrow(self, dim, start, length):
        return _views.narrow(self, dim, start, length)

    def _new_kwargs(self, dtype, device, requires_grad):
        return {"dtype": dtype or self.dtype, "device": device or self._backend, "requires_grad": requires_grad}

    def new_zeros(self, *size, dtype=None, device=None, requires_grad=False):
        return _creation.zeros(*size, **self._new_kwargs(dtype, device, requires_grad))

    def new_ones(self, *size, dtype=None, device=None, requires_grad=False):
        return _creation.ones(*size, **self._new_kwargs(dtype, device, requires_grad))

    def new_empty(self, *size, dtype=None, device=None, requires_grad=False):
        return _creation.empty(*size, **self._new_kwargs(dtype, device, requires_grad))

    def new_full(self, size, fill_value, dtype=None, device=None, requires_grad=False):
        return _creation.full(size, fill_value, **self._new_kwargs(dtype, device, requires_grad))

    def new_tensor(self, data, dtype=None, device=None, requires_grad=False):
        """A copy of data with this tensor's dtype and device unless given (as torch's new_tensor)."""
        return tensor(data, dtype=dtype or self.dtype, device=device or self._backend, requires_grad=requires_grad)

    def int(self):
        return self.to(dtype=int32)

    def type(self, dtype=None):
        """Without dtype, torch's type string ('torch.FloatTensor', 'torch.cuda.LongTensor', ...); with one
        (a dtype or such a string), the tensor cast to it."""
        if dtype is None:
            name = _TYPE_NAMES.get(self.dtype.name)
            if name is None:
                raise TypeError(f"[type] no torch tensor type for dtype {self.dtype}")
            return ("torch.cuda." if self.is_cuda else "torch.") + name
        if isinstance(dtype, str) and dtype.endswith("Tensor"):
            kind = dtype.rpartition(".")[2]
            names = {v: k for k, v in _TYPE_NAMES.items()}
            if kind not in names or dtype not in (f"torch.{kind}", f"torch.cuda.{kind}"):
                raise ValueError(f"[type] invalid type {dtype!r}; e.g. 'torch.FloatTensor', 'torch.cuda.LongTensor'")
            device = "cuda" if dtype.startswith("torch.cuda.") else (None if not self.is_cuda else "cpu")
            return self.to(device=device, dtype=names[kind])
        return self.to(dtype=dtype)

    def masked_fill(self, mask, value):
        return _index.masked_fill(self, mask, value)

    def masked_fill_(self, mask, value):
        return self._inplace(lambda a, v: _index.masked_fill(a, mask, v), value)

    def gather(self, dim, index):
        return _index.gather(self, dim, index)

    def scatter(self, dim, index, src=None, value=None):
        return _index.scatter(self, dim, index, src, value)

    def scatter_(self, dim, index, src=None, value=None):
        if (src is None) == (value is None):
            raise TypeError("[scatter_] give exactly one of src and value")
        return self._inplace(lambda a, s: _index.scatter(a, dim, index, s), src if value is None else value)

    def scatter_add(self, dim, index, src):
        return _index.scatter_add(self, dim, index, src)

    def scatter_add_(self, dim, index, src):
        return self._inplace(lambda a, s: _index.scatter_add(a, dim, index, s), src)

    def topk(self, k, dim=-1, largest=True, sorted=True):
        return _index.topk(self, k, dim, largest, sorted)

    def sort(self, dim=-1, descending=False, stable=False):
        return _index.sort(self, dim, descending, stable)

    def argsort(self, dim=-1, descending=False, stable=False):
        return _index.argsort(self, dim, descending, stable)

    def cumsum(self, dim, dtype=None):
        return _index.cumsum(self, dim, dtype)

    def log1p(self):
        return _pointwise.log1p(self)

    def expm1(self):
        return _pointwise.expm1(self)

    def add_(self, other, alpha=1):
        return _inplace_ops.add_(self, other, alpha)

    def sub_(self, other, alpha=1):
        return _inplace_ops.sub_(self, other, alpha)

    def mul_(self, other):
        return _inplace_ops.mul_(self, other)

    def div_(self, other):
        return _inplace_ops.div_(self, other)

    def clamp_(self, min=None, max=None):
        return _inplace_ops.clamp_(self, min, max)

    clip_ = clamp_

    def normal_(self, mean=0.0, std=1.0):
        return _inplace_ops.normal_(self, mean, std)

    def uniform_(self, a=0.0, b=1.0):
        return _inplace_ops.uniform_(self, a, b)


autograd._wrap = Tensor._wrap


def tensor(data, dtype=None, device=None, requires_grad=False):
    """A new tensor holding a copy of data (array, list, scalar or Tensor).

    Floats become float32 and integers int64 unless dtype says otherwise.

    Example:
        x = ember.tensor([[1.0, 2.0]], requires_grad=True)
    """
    be = default_backend() if device is None else get_backend(device)
    dtype = as_dtype(dtype)
    if isinstance(data, Tensor):
        a = be.move(data._data, data._backend)
        a = a.astype(dtype or a.dtype, copy=True)
    elif be.xp is not np and isinstance(data, be.xp.ndarray):
        a = data.astype(dtype or _default_dtype(data), copy=True)
    else:
        if hasattr(data, "__cuda_array_interface__") and not isinstance(data, np.ndarray):
            data = data.get()
        try:
            a = np.asarray(data)
        except ValueError as e:
            raise ValueError(f"cannot make a tensor from ragged nested sequences ({e})") from None
        if a.dtype.kind in "fO" and isinstance(data, (list, tuple, int)):
            a = _from_python_ints(data, a, dtype)
        if a.dtype == object:
            raise TypeError(f"cannot make a tensor from {type(data).__name__} of mixed or ragged contents")
        a = be.from_host(_host_copy(a, dtype))
    if requires_grad and not is_floating(a.dtype):
        raise RuntimeError(f"only floating-point tensors can require gradients, got {a.dtype}")
    return Tensor._wrap(a, be, requires_grad)


def from_numpy(a):
    """A tensor sharing memory with the NumPy array a (device cpu, or numpy without the extension)."""
    if not isinstance(a, np.ndarray):
        raise TypeError(f"from_numpy expects a numpy.ndarray, got {type(a).__name__}")
    if not a.dtype.isnative:  # kernels read native numbers; sharing memory rules out a converted copy
        raise TypeError(f"[from_numpy] array of dtype '{a.dtype.str}' is not in native byte order; "
                        f"use ember.tensor(a), which converts, or a.astype(a.dtype.newbyteorder('='))")
    from .backends import is_available
    return Tensor._wrap(a, get_backend("cpu" if is_available("cpu") else "numpy"))


def from_dlpack(obj):
    """A tensor sharing memory with any DLPack producer (NumPy on the host, CuPy/PyTorch on cuda)."""
    dev_type = obj.__dlpack_device__()[0] if hasattr(obj, "__dlpack_device__") else 1
    if dev_type == 1:  # kDLCPU
        return from_numpy(np.from_dlpack(obj))
    import cupy
    return Tensor._wrap(cupy.from_dlpack(obj), get_backend("cuda"))


def as_tensor(x, like):
    """x as a tensor on like's device: scalars take like's dtype (floats stay float32)."""
    if isinstance(x, Tensor):
        return x
    be = like._backend
    if isinstance(x, (int, float, bool)):
        dt = like.dtype
        if isinstance(x, float) and not is_floating(dt):
            dt = float32
        elif isinstance(x, bool) is False and isinstance(x, int) and dt.kind == "b":
            dt = int64
        return Tensor._wrap(be.xp.asarray(x, dtype=dt), be)
    return tensor(x, device=be)


# The ops import this module (Tensor, tensor, as_tensor above), so they are bound here, after
# those names exist; the methods look them up when called.
from .ops import activations as _activations  # noqa: E402
from .ops import arith as _arith  # noqa: E402
from .ops import reduce as _reduce  # noqa: E402
from .ops import shape as _shape  # noqa: E402
from .ops.matmul import matmul as _matmul  # noqa: E402  (ember.ops.matmul is also the function's name)
from .ops.softmax import log_softmax as _log_softmax  # noqa: E402
from .ops.softmax import softmax as _softmax  # noqa: E402
from . import creation as _creation  # noqa: E402  (PyTorch's Tensor API: new_zeros, ...)
from .ops import index as _index  # noqa: E402
from .ops import inplace as _inplace_ops  # noqa: E402
from .ops import linalg as _linalg  # noqa: E402
from .ops import pointwise as _pointwise  # noqa: E402
from .ops import views as _views  # noqa: E402
