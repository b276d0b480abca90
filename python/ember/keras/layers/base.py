"""Layer, the symbolic KerasTensor, Input and InputLayer: what the functional API is made of.

A Layer is an ember nn.Module that builds its weights on the first call, from the input's shape, and
stores them in Keras' layouts (Dense kernel (in, units), Conv2D kernel (kh, kw, in, filters)).
Called on KerasTensors (from keras.Input) it records a Node and returns KerasTensors whose shapes come
from running the layer once on a small batch of zeros, so every layer's shape inference is its forward.
"""
import functools
import inspect
import re

import numpy as np

from ... import backends
from ...autograd import no_grad
from ...creation import zeros
from ...nn.module import Module
from ...nn.parameter import Parameter
from ...tensor import Tensor, tensor
from .. import initializers

_COUNTS = {}


def snake_case(name):
    """Keras' layer-name stem: 'Conv2D' -> 'conv2d', 'MaxPooling2D' -> 'max_pooling2d'."""
    name = re.sub("(.)([A-Z][a-z0-9]+)", r"\1_\2", name)
    return re.sub("([a-z])([A-Z])", r"\1_\2", name).lower()


def unique_name(stem):
    """'dense', then 'dense_1', 'dense_2', ... as Keras names layers in a session."""
    n = _COUNTS.get(stem, 0)
    _COUNTS[stem] = n + 1
    return stem if n == 0 else f"{stem}_{n}"


def flatten(struct):
    """The leaves of nested lists, tuples and dicts, in order."""
    if isinstance(struct, (list, tuple)):
        return [leaf for s in struct for leaf in flatten(s)]
    if isinstance(struct, dict):
        return [leaf for k in struct for leaf in flatten(struct[k])]
    return [struct]


def map_structure(fn, struct):
    if isinstance(struct, (list, tuple)):
        return type(struct)(map_structure(fn, s) for s in struct)
    if isinstance(struct, dict):
        return {k: map_structure(fn, v) for k, v in struct.items()}
    return fn(struct)


def record_init_args(cls):
    """Wrap cls.__init__ so that a layer remembers the arguments of the constructor that built it."""
    init = cls.__dict__.get("__init__")
    if init is None or getattr(init, "_records", False):
        return

    @functools.wraps(init)
    def wrapped(self, *args, **kwargs):
        if "_init_args" not in self.__dict__:
            bound = inspect.signature(init).bind(self, *args, **kwargs)
            named = dict(bound.arguments)
            named.pop(next(iter(named)))  # self
            for k, p in inspect.signature(init).parameters.items():
                if p.kind is p.VAR_KEYWORD and k in named:
                    named.update(named.pop(k))
                elif p.kind is p.VAR_POSITIONAL and k in named:
                    named.pop(k)
            object.__setattr__(self, "_init_args", named)
        init(self, *args, **kwargs)
    wrapped._records = True
    cls.__init__ = wrapped


class KerasTensor:
    """A symbolic tensor: a shape with None for the batch (and any unknown size), a dtype, and the Node
    that made it."""

    def __init__(self, shape, dtype="float32", node=None, index=0, name=None):
        self.shape, self.dtype = tuple(shape), str(np.dtype(dtype))
        self.node, self.index, self.name = node, index, name

    @property
    def ndim(self):
        return len(self.shape)

    def __repr__(self):
        return f"<KerasTensor shape={self.shape}, dtype={self.dtype}, name={self.name}>"


class Node:
    """One call of a layer on KerasTensors: the call's arguments (KerasTensors inside) and its outputs."""

    def __init__(self, layer, args, kwargs, outputs):
        self.layer, self.args, self.kwargs, self.outputs = layer, args, kwargs, outputs

    @property
    def inputs(self):
        return [t for t in flatten((self.args, self.kwargs)) if isinstance(t, KerasTensor)]


def _dummy(kt, size):
    """A zero batch for a KerasTensor: batch 2, unknown sizes `size`."""
    shape = (2,) + tuple(size if s is None else s for s in kt.shape[1:])
    dtype = np.dtype(kt.dtype)
    return zeros(shape, dtype=np.int64 if dtype.kind in "iu" else np.float32 if dtype.kind != "f" else dtype)


class Layer(Module):
    """Base class of the Keras layers: override build(input_shape) (create weights with add_weight) and
    call(inputs).

    Example:
        class Scale(keras.layers.Layer):
            def build(self, input_shape):
                self.w = self.add_weight(shape=(input_shape[-1],), initializer="ones")
            def call(self, x):
                return x * self.w
    """
    _int_inputs = False  # Embedding takes integer inputs; the others cast them to float32

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        record_init_args(cls)  # model.save stores each layer's constructor arguments

    def __init__(self, name=None, input_shape=None, input_dim=None, batch_input_shape=None, trainable=True,
                 dtype=None, **kwargs):
        super().__init__()
        object.__setattr__(self, "training", False)  # Keras layers run in inference mode outside fit
        kwargs.pop("autocast", None)
        if kwargs:
            raise TypeError(f"[{type(self).__name__}] unexpected arguments {sorted(kwargs)}")
        self.name = name or unique_name(snake_case(type(self).__name__))
        self._dtype = np.dtype(dtype or "float32")  # the weights' dtype (float64 for gradient checks)
        self.built = False
        self.trainable = trainable
        self._weight_names = []
        self._regularizers = []  # (weight name, penalty function)
        self._device = None
        if input_dim is not None and input_shape is None:
            input_shape = (input_dim,)
        if batch_input_shape is not None:
            input_shape = tuple(batch_input_shape)[1:]
        self._input_shape_arg = None if input_shape is None else tuple(input_shape)
        self._nodes = []

    @property
    def trainable(self):
        return self.__dict__.get("_trainable", True)

    @trainable.setter
    def trainable(self, value):
        """Freeze (False) or unfreeze this layer's weights and its sublayers'."""
        object.__setattr__(self, "_trainable", bool(value))
        for p in self.parameters():
            p.requires_grad = bool(value)
        for m in self._modules.values():
            if isinstance(m, Layer):
                m.trainable = value

    # ---- weights ----------------------------------------------------------------------
    def add_weight(self, shape=None, initializer="glorot_uniform", trainable=True, name=None, dtype=None,
                   regularizer=None):
        """A weight of Keras shape `shape` from a Keras initialiser; trainable weights are Parameters,
        the others buffers (both in state_dict). A regularizer's penalty joins the training loss (losses)."""
        name = name or f"weight_{len(self._weight_names)}"
        shape = tuple(int(s) for s in (shape or ()))
        values = initializers.get(initializer)(shape)
        dev = self._device or backends.get_default_device()
        dt = np.dtype(dtype or self._dtype)
        t = tensor(np.asarray(values, dtype=dt), dtype=dt, device=dev)
        if trainable:
            setattr(self, name, Parameter(t))
            getattr(self, name).requires_grad = self.trainable
        else:
            self.register_buffer(name, t)
        self._weight_names.append(name)
        if regularizer is not None:
            from ..regularizers import get as get_regularizer
            self._regularizers.append((name, get_regularizer(regularizer)))
        return getattr(self, name)

    @property
    def losses(self):
        """The weight penalties (scalar tensors) of this layer and its sublayers, as Keras' layer.losses."""
        own = [fn(getattr(self, name)) for name, fn in self._regularizers]
        return own + [t for m in self._modules.values() if isinstance(m, Layer) for t in m.losses]

    @property
    def weights(self):
        """This layer's weights and its sublayers', in Keras' order (the order they were added)."""
        own = [getattr(self, n) for n in self._weight_names]
        return own + [w for m in self._modules.values() if isinstance(m, Layer) for w in m.weights]

    @property
    def trainable_weights(self):
        return [w for w in self.weights if w.requires_grad]

    @property
    def non_trainable_weights(self):
        return [w for w in self.weights if not w.requires_grad]

    trainable_variables, non_trainable_variables = trainable_weights, non_trainable_weights
    variables = weights

    def count_params(self):
        return int(sum(w.numel() for w in self.weights))

    def get_weights(self):
        """The weights as NumPy arrays in Keras' layouts and order."""
        return [w.numpy().copy() for w in self.weights]

    def set_weights(self, weights):
        """Set the weights from arrays in Keras' layouts and order (as get_weights returns them)."""
        own = self.weights
        weights = list(weights)
        if len(weights) != len(own):
            raise ValueError(f"[set_weights] layer '{self.name}' has {len(own)} weights, got {len(weights)}")
        for w, v in zip(own, weights):
            v = v.numpy() if isinstance(v, Tensor) else np.asarray(v)
            if tuple(v.shape) != tuple(w.shape):
                raise ValueError(f"[set_weights] layer '{self.name}': a weight of shape {tuple(w.shape)} "
                                 f"cannot take an array of shape {v.shape}")
            w._data[...] = w._backend.from_host(v.astype(w.dtype))
            w._bump()

    # ---- building and calling ------------------------------------------------------------
    def build(self, input_shape):
        """Create the weights for inputs of input_shape (batch first, as None)."""

    def call(self, inputs, **kwargs):
        raise NotImplementedError(f"{type(self).__name__} has no call()")

    def forward(self, *args, **kwargs):
        return self.call(*args, **kwargs)

    def compute_output_shape(self, input_shape):
        """The output shape for an input shape, found by calling the layer on zeros."""
        return self(KerasTensor(input_shape)).shape

    def _maybe_build(self, first):
        if self.built:
            return
        leaves = [t for t in flatten(first) if isinstance(t, Tensor)]
        self._device = leaves[0].device if leaves else backends.get_default_device()
        shape = map_structure(lambda t: (None,) + tuple(t.shape[1:]) if isinstance(t, Tensor) else t, first)
        self.build(shape)
        self.built = True

    def _convert(self, x):
        """NumPy arrays to tensors; integer inputs to float32 unless the layer takes integers."""
        if isinstance(x, np.ndarray) or np.isscalar(x):
            x = np.asarray(x)
            dev = self._device or backends.get_default_device()
            x = tensor(x if x.dtype.kind in "iub" else x.astype(np.float32, copy=False), device=dev)
        if isinstance(x, Tensor) and not self._int_inputs and x.dtype.kind in "iub":
            x = x.float()
        return x

    def __call__(self, *args, **kwargs):
        training = kwargs.pop("training", None)
        kwargs.pop("mask", None)
        if any(isinstance(t, KerasTensor) for t in flatten((args, kwargs))):
            return self._symbolic_call(args, kwargs)
        if not args:
            raise TypeError(f"[{self.name}] called without inputs")
        args = (map_structure(self._convert, args[0]),) + args[1:]
        self._maybe_build(args[0])
        if training is None or bool(training) == self.training:
            return self.forward(*args, **kwargs)
        was = self.training
        self.train(bool(training))  # layer(x, training=True) as Keras: this call only
        try:
            return self.forward(*args, **kwargs)
        finally:
            self.train(was)

    def _run_on_zeros(self, args, kwargs, size):
        fill = lambda t: _dummy(t, size) if isinstance(t, KerasTensor) else t  # noqa: E731
        was = self.training
        self.eval()
        try:
            with no_grad():
                return self(*map_structure(fill, args), **map_structure(fill, kwargs))
        finally:
            self.train(was)

    def _symbolic_call(self, args, kwargs):
        out = self._run_on_zeros(args, kwargs, 3)
        unknown = any(s is None for t in flatten((args, kwargs)) if isinstance(t, KerasTensor) for s in t.shape[1:])
        other = self._run_on_zeros(args, kwargs, 5) if unknown else out  # sizes that follow an unknown one
        leaves, other_leaves = flatten(out), flatten(other)
        node = Node(self, args, kwargs, [])
        syms = []
        for i, (t, u) in enumerate(zip(leaves, other_leaves)):
            shape = (None,) + tuple(a if a == b else None for a, b in zip(t.shape[1:], u.shape[1:]))
            syms.append(KerasTensor(shape, t.dtype, node, i, f"keras_tensor_{unique_name('kt')}"))
        node.outputs = syms
        self._nodes.append(node)
        it = iter(syms)
        return map_structure(lambda _: next(it), out)

    def get_config(self):
        """The constructor's arguments (as given, defaults left out) and the layer's name."""
        return {**self.__dict__.get("_init_args", {}), "name": self.name, "trainable": self.trainable}

    def extra_repr(self):
        return f"name={self.name!r}"


class InputLayer(Layer):
    """The layer behind keras.Input: it holds the input's shape and dtype and passes data through."""

    def __init__(self, shape=None, batch_size=None, dtype="float32", name=None, batch_shape=None, input_shape=None,
                 **kwargs):
        super().__init__(name=name or unique_name("input_layer"), **kwargs)
        if shape is None and input_shape is not None:
            shape = input_shape
        if batch_shape is not None:
            shape, batch_size = tuple(batch_shape)[1:], batch_shape[0]
        if shape is None:
            raise ValueError("[InputLayer] give shape=(...), the shape of one sample")
        shape = (shape,) if isinstance(shape, int) else tuple(shape)
        self.dtype = str(np.dtype(dtype or "float32"))
        self._int_inputs = np.dtype(self.dtype).kind in "iu"
        node = Node(self, (), {}, [])
        self.output = KerasTensor((batch_size,) + shape, self.dtype, node, 0, self.name)
        node.outputs = [self.output]
        self._nodes.append(node)
        self.built = True

    def call(self, x):
        return x


def Input(shape=None, batch_size=None, dtype="float32", name=None, batch_shape=None, sparse=None, tensor=None):
    """A symbolic input: keras.Input(shape=(28, 28, 1)) is a KerasTensor of shape (None, 28, 28, 1).

    Example:
        inputs = keras.Input(shape=(784,))
        outputs = keras.layers.Dense(10, activation="softmax")(inputs)
        model = keras.Model(inputs, outputs)
    """
    return InputLayer(shape=shape, batch_size=batch_size, dtype=dtype, name=name, batch_shape=batch_shape).output
