"""keras.Model (functional: Model(inputs, outputs); or subclassed with call()) and keras.Sequential.

    inputs = keras.Input(shape=(784,))
    x = keras.layers.Dense(64, activation="relu")(inputs)
    model = keras.Model(inputs, keras.layers.Dense(10, activation="softmax")(x))

    model = keras.Sequential([keras.Input((28, 28, 1)), keras.layers.Flatten(), keras.layers.Dense(10)])
"""
import numpy as np

from .. import backends
from ..serialization import load, save
from ..tensor import Tensor, tensor
from .layers.base import Input, InputLayer, KerasTensor, Layer, flatten, map_structure, snake_case, unique_name
from .summary import summary_text
from .training import Trainer


def _graph(inputs, outputs):
    """The nodes from the inputs to the outputs in an order that runs (each after the nodes it reads)."""
    order, seen = [], set()

    def visit(kt):
        node = kt.node
        if node is None:
            raise ValueError(f"[Model] {kt} was not made by keras.Input or a layer")
        if id(node) in seen:
            return
        seen.add(id(node))
        for t in node.inputs:
            visit(t)
        order.append(node)

    for kt in outputs:
        visit(kt)
    given = {id(t) for t in inputs}
    for node in order:
        if isinstance(node.layer, InputLayer) and id(node.outputs[0]) not in given:
            raise ValueError(f"[Model] the outputs depend on the input '{node.layer.name}' that is not among the "
                             "model's inputs (graph disconnected)")
    return order


class Model(Trainer, Layer):
    """A model: layers wired from keras.Input tensors to outputs, or a subclass that defines call().

    Trains with compile/fit/evaluate/predict (Keras' names, defaults and progress bar).
    """
    _int_inputs = True  # the layers inside cast what they need

    def __init__(self, inputs=None, outputs=None, name=None, **kwargs):
        functional = inputs is not None or outputs is not None
        stem = "functional" if functional else snake_case(type(self).__name__)
        super().__init__(name=name or unique_name(stem), **kwargs)
        self._nodes_order = None
        if functional:
            self._init_graph(inputs, outputs)

    def _init_graph(self, inputs, outputs):
        flat_in, flat_out = flatten(inputs), flatten(outputs)
        for t in flat_in + flat_out:
            if not isinstance(t, KerasTensor):
                raise TypeError(f"[Model] inputs and outputs must be KerasTensors (from keras.Input and layers), "
                                f"got {type(t).__name__}")
        self._nodes_order = _graph(flat_in, flat_out)
        for node in self._nodes_order:
            if node.layer.name not in self._modules:
                self.add_module(node.layer.name, node.layer)
            elif self._modules[node.layer.name] is not node.layer:
                raise ValueError(f"[Model] two layers are named '{node.layer.name}'; layer names must be unique")
        self.inputs, self.outputs = flat_in, flat_out
        self._outputs_struct = outputs
        self.built = True

    # ---- running ----------------------------------------------------------------------
    def device(self):
        for p in self.parameters():
            return p.device
        for b in self.buffers():
            return b.device
        return backends.get_default_device()

    def to_tensor(self, a, integer_ok=True):
        """A NumPy array (or tensor) on the model's device: floats as float32, integers kept."""
        if isinstance(a, Tensor):
            return a
        a = np.asarray(a)
        if a.dtype.kind == "f" or not integer_ok or a.dtype.kind not in "iub":
            dt = next((p.dtype for p in self.parameters() if p.dtype.kind == "f"), np.dtype(np.float32))
            return tensor(a.astype(dt, copy=False), dtype=dt, device=self.device())
        return tensor(a, device=self.device())

    def forward(self, *args, **kwargs):
        if self._nodes_order is None:
            return self.call(*args, **kwargs)
        values = args[0] if len(args) == 1 else list(args)
        values = flatten(values) if len(self.inputs) > 1 else [values]
        if len(values) != len(self.inputs):
            raise ValueError(f"[{self.name}] expects {len(self.inputs)} inputs, got {len(values)}")
        env = {}
        for kt, v in zip(self.inputs, values):
            v = self.to_tensor(v)
            if v.ndim != len(kt.shape) or any(a is not None and a != b for a, b in zip(kt.shape[1:], v.shape[1:])):
                raise ValueError(f"[{self.name}] input '{kt.name}' expects shape {kt.shape}, got {tuple(v.shape)}")
            env[id(kt)] = v
        for node in self._nodes_order:
            if isinstance(node.layer, InputLayer):
                continue
            get = lambda t: env[id(t)] if isinstance(t, KerasTensor) else t  # noqa: E731
            out = node.layer(*map_structure(get, node.args), **map_structure(get, node.kwargs))
            for kt, o in zip(node.outputs, flatten(out)):
                env[id(kt)] = o
        return map_structure(lambda kt: env[id(kt)], self._outputs_struct)

    def call(self, *args, **kwargs):
        raise NotImplementedError(f"[{type(self).__name__}] a subclassed Model must define call()")

    # ---- layers and weights -----------------------------------------------------------
    @property
    def layers(self):
        if self._nodes_order is not None:
            seen, out = set(), []
            for node in self._nodes_order:
                if id(node.layer) not in seen:
                    seen.add(id(node.layer))
                    out.append(node.layer)
            return out
        return [m for m in self._modules.values() if isinstance(m, Layer)]

    def get_layer(self, name=None, index=None):
        if index is not None:
            return self.layers[index]
        for layer in self.layers:
            if layer.name == name:
                return layer
        raise ValueError(f"[get_layer] no layer named '{name}'; layers: {[layer.name for layer in self.layers]}")

    def output_shapes(self):
        """{layer name: output shape(s)} from the model's graph (None where not known yet)."""
        shapes = {}
        for node in self._nodes_order or []:
            outs = [t.shape for t in node.outputs]
            shapes.setdefault(node.layer.name, outs[0] if len(outs) == 1 else outs)
        return shapes

    def summary(self, line_length=None, positions=None, print_fn=None, expand_nested=False, show_trainable=False):
        """Print the layers, their output shapes and parameter counts in Keras' table."""
        text = summary_text(self)
        (print_fn or print)(text)

    def save(self, filepath, overwrite=True, **kwargs):
        """Write the architecture, weights and compile settings to one ember safetensors file (any extension,
        e.g. 'model.keras'); keras.models.load_model reads it back."""
        from .saving import save_model
        save_model(self, filepath)

    def save_weights(self, filepath, overwrite=True):
        """Write the weights (get_weights' order, so another model of the same architecture can read them,
        whatever its layer names) to an ember safetensors file."""
        save({f"weight_{i:04d}": w.detach() for i, w in enumerate(self.weights)}, str(filepath))

    def load_weights(self, filepath):
        """Read weights saved by save_weights into this (built) model of the same architecture."""
        if not self.built:
            raise ValueError(f"[load_weights] build '{self.name}' first (call it on data or give input shapes)")
        state = load(str(filepath))
        self.set_weights([state[k] for k in sorted(state)])


class Sequential(Model):
    """A plain stack of layers, each feeding the next.

    Example:
        model = keras.Sequential([layers.Dense(64, activation="relu", input_shape=(784,)), layers.Dense(10)])
        model.add(layers.Softmax())
    """

    def __init__(self, layers=None, name=None, trainable=True):
        super().__init__(name=name or unique_name("sequential"), trainable=trainable)
        self._stack, self._input, self._last = [], None, None
        for layer in layers or []:
            self.add(layer)

    def add(self, layer):
        if isinstance(layer, KerasTensor):
            layer = layer.node.layer
        if isinstance(layer, InputLayer):
            if self._stack or self._input is not None:
                raise ValueError("[Sequential] an Input can only come first")
            self._input = self._last = layer.output
            return
        if not isinstance(layer, Layer):
            raise TypeError(f"[Sequential] add() takes a keras layer, got {type(layer).__name__}")
        if layer.name in self._modules:
            raise ValueError(f"[Sequential] a layer named '{layer.name}' is already in the model")
        if not self._stack and self._input is None and layer._input_shape_arg is not None:
            self._input = self._last = Input(shape=layer._input_shape_arg)
        self._stack.append(layer)
        self.add_module(layer.name, layer)
        if self._last is not None:
            self._last = layer(self._last)
        self.built = self._last is not None

    def pop(self):
        if not self._stack:
            raise IndexError("[Sequential] pop() from an empty model")
        layer = self._stack.pop()
        del self._modules[layer.name]
        self._rebuild()
        return layer

    def _rebuild(self):
        self._last = self._input
        for layer in self._stack:
            self._last = layer(self._last) if self._last is not None else None

    def build(self, input_shape=None):
        """Build from an input shape with the batch first: model.build((None, 784))."""
        if self.built:
            return
        if input_shape is None:
            raise ValueError("[Sequential] build() needs the input shape, e.g. (None, 784)")
        self._input = Input(shape=tuple(input_shape)[1:])
        self._rebuild()
        self.built = True

    @property
    def layers(self):
        return list(self._stack)

    @property
    def inputs(self):
        return [self._input] if self._input is not None else None

    @property
    def outputs(self):
        return [self._last] if self._last is not None else None

    def output_shapes(self):
        if self._input is None:
            return {}
        shapes, kt = {}, self._input
        for layer in self._stack:
            node = next((n for n in layer._nodes if any(t is kt for t in n.inputs)), None)
            if node is None:
                break
            kt = node.outputs[0]
            shapes[layer.name] = kt.shape
        return shapes

    def forward(self, x):
        if not self.built:
            x = self.to_tensor(x)
            self.build((None,) + tuple(x.shape[1:]))
        for layer in self._stack:
            x = layer(x)
        return x


def load_model(filepath, custom_objects=None, compile=True, safe_mode=True):
    """The model that model.save(filepath) wrote: architecture, weights and compile settings."""
    from .saving import load_model as _load
    return _load(filepath, custom_objects, compile)
