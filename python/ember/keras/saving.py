"""model.save(path) and keras.models.load_model(path): the architecture (each layer's constructor arguments
and, for functional models, the graph), the weights and the compile settings in one ember safetensors file
(em.save: arrays as tensors, the rest as JSON metadata; nothing is pickled).

Every built-in layer saves; a custom layer class is found again through load_model(custom_objects={...}); a
layer whose arguments are functions (Lambda) or a subclassed Model cannot be saved (ValueError). The
optimizer's moments are not saved: a loaded model is compiled afresh with the saved settings.
"""
from ..serialization import load, save
from .layers.base import InputLayer, KerasTensor, flatten, map_structure

FORMAT = "ember.keras.model/1"


def _plain(value, where):
    """value if it is made of numbers, strings, None, lists, tuples and dicts, else ValueError."""
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, (list, tuple)):
        return type(value)(_plain(v, where) for v in value)
    if isinstance(value, dict):
        return {str(k): _plain(v, where) for k, v in value.items()}
    raise ValueError(f"[save] {where} is a {type(value).__name__}, which cannot be saved (only numbers, strings, "
                     "lists and dicts); build the model from named activations/initialisers or save its weights")


def layer_config(layer):
    from .models import Model, Sequential
    if isinstance(layer, Sequential):
        return {"class_name": "Sequential", "name": layer.name,
                "input": None if layer._input is None else _input_config(layer._input.node.layer),
                "layers": [layer_config(sub) for sub in layer.layers]}
    if isinstance(layer, Model):
        if layer._nodes_order is None:
            raise ValueError(f"[save] '{layer.name}' is a subclassed Model, whose call() cannot be saved; "
                             "use save_weights")
        return _functional_config(layer)
    if isinstance(layer, InputLayer):
        return _input_config(layer)
    args = {k: v for k, v in layer.__dict__.get("_init_args", {}).items()}
    args["name"] = layer.name
    config = {k: _plain(v, f"argument '{k}' of layer '{layer.name}'") for k, v in args.items()}
    return {"class_name": type(layer).__name__, "config": config}


def _input_config(layer):
    return {"class_name": "InputLayer", "config": {"shape": tuple(layer.output.shape[1:]), "dtype": layer.dtype,
                                                   "batch_size": layer.output.shape[0], "name": layer.name}}


def _ref(kt):
    return {"__kt__": [kt.node.layer.name, kt.node.layer._nodes.index(kt.node), kt.index]}


def _functional_config(model):
    layers, nodes = {}, []
    for node in model._nodes_order:
        layers.setdefault(node.layer.name, layer_config(node.layer))
        if isinstance(node.layer, InputLayer):
            continue
        as_ref = lambda t: _ref(t) if isinstance(t, KerasTensor) else t  # noqa: E731
        nodes.append({"layer": node.layer.name, "index": node.layer._nodes.index(node),
                      "args": _plain(map_structure(as_ref, node.args), f"a call of '{node.layer.name}'"),
                      "kwargs": _plain(map_structure(as_ref, node.kwargs), f"a call of '{node.layer.name}'")})
    return {"class_name": "Functional", "name": model.name, "layers": list(layers.values()), "nodes": nodes,
            "inputs": [_ref(t) for t in model.inputs],
            "outputs": map_structure(_ref, model._outputs_struct)}


def _compile_config(model):
    if not getattr(model, "compiled", False):
        return None
    opt = model.optimizer
    try:
        return _plain({"optimizer": type(opt).__name__, "learning_rate": float(opt.param_groups[0]["lr"]),
                       "loss": model._loss_spec, "metrics": model._metric_spec,
                       "loss_weights": model._loss_weights}, "the compile settings")
    except ValueError:
        return None  # a loss or metric object: the model loads uncompiled


def save_model(model, filepath):
    config = layer_config(model)
    save({"format": FORMAT, "config": config, "compile": _compile_config(model),
          "weights": [w.detach() for w in model.weights]}, str(filepath))


# ---- loading ------------------------------------------------------------------------------
def _class(name, custom_objects):
    from . import layers as keras_layers
    from . import models
    cls = (custom_objects or {}).get(name) or getattr(keras_layers, name, None) or getattr(models, name, None)
    if cls is None:
        raise ValueError(f"[load_model] unknown layer class '{name}'; pass it in custom_objects={{'{name}': ...}}")
    return cls


def from_config(config, custom_objects=None):
    from .layers.base import Input
    from .models import Model, Sequential
    kind = config["class_name"]
    if kind == "Sequential":
        model = Sequential(name=config["name"])
        if config["input"] is not None:
            model.add(Input(**{k: v for k, v in config["input"]["config"].items() if k != "batch_size"}))
        for sub in config["layers"]:
            model.add(from_config(sub, custom_objects))
        return model
    if kind == "Functional":
        built = {c.get("name") or c["config"]["name"]: from_config(c, custom_objects) for c in config["layers"]}
        outputs = {}
        for name, layer in built.items():
            if isinstance(layer, InputLayer):
                outputs[(name, 0)] = [layer.output]

        def value(t):
            if isinstance(t, dict) and "__kt__" in t:
                name, node, index = t["__kt__"]
                return outputs[(name, node)][index]
            if isinstance(t, (list, tuple)):
                return type(t)(value(v) for v in t)
            return {k: value(v) for k, v in t.items()} if isinstance(t, dict) else t
        for node in config["nodes"]:
            args, kwargs = value(node["args"]), value(node["kwargs"])
            out = built[node["layer"]](*args, **kwargs)
            outputs[(node["layer"], node["index"])] = flatten(out)
        return Model([value(t) for t in config["inputs"]], value(config["outputs"]), name=config["name"])
    if kind == "InputLayer":
        return InputLayer(**config["config"])
    return _class(kind, custom_objects)(**config["config"])


def load_model(filepath, custom_objects=None, compile=True):
    """The model saved by model.save(filepath): same architecture and weights (and compile settings).

    Example:
        model.save("mnist.keras")
        model = keras.models.load_model("mnist.keras")
    """
    state = load(str(filepath))
    if not isinstance(state, dict) or state.get("format") != FORMAT:
        raise ValueError(f"[load_model] {filepath} is not a model saved by ember.keras' model.save")
    model = from_config(state["config"], custom_objects)
    if not model.built:
        raise ValueError("[load_model] the saved model was never built; nothing to load the weights into")
    model.set_weights(state["weights"])
    settings = state.get("compile")
    if compile and settings:
        from . import optimizers
        opt = optimizers.get(settings["optimizer"].lower())
        opt.learning_rate = settings["learning_rate"]
        model.compile(optimizer=opt, loss=settings["loss"], metrics=settings["metrics"],
                      loss_weights=settings["loss_weights"])
    return model
