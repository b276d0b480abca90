"""Keras-style training on every Module: compile, fit, evaluate, predict, summary, the methods of
`Trainable`, which nn.Module inherits.

    model.compile(optimizer="adam", loss="cross_entropy", metrics=["accuracy"])
    history = model.fit(x, y, epochs=10, batch_size=32, validation_split=0.1)
    loss, acc = model.evaluate(x_test, y_test)

The loop is the PyTorch one (forward, loss, zero_grad, backward, step) on ember's kernels;
x and y may be NumPy arrays or tensors. Callbacks: EarlyStopping, ModelCheckpoint,
LambdaCallback, or any Callback subclass.
"""
import math
import sys

import numpy as np

from . import optim
from .autograd import inference_mode, no_grad
from .serialization import save
from .tensor import Tensor, tensor

OPTIMIZERS = {"sgd": optim.SGD, "adam": optim.Adam, "adamw": optim.AdamW, "rmsprop": optim.RMSprop,
              "adagrad": optim.Adagrad}
# loss names -> class names in ember.nn.loss (looked up when compiling: nn.Module inherits this module's
# Trainable, so nn cannot be imported here)
LOSSES = {"mse": "MSELoss", "mean_squared_error": "MSELoss", "l1": "L1Loss", "mae": "L1Loss",
          "cross_entropy": "CrossEntropyLoss", "nll": "NLLLoss", "bce": "BCELoss", "binary_crossentropy": "BCELoss",
          "bce_with_logits": "BCEWithLogitsLoss", "smooth_l1": "SmoothL1Loss", "huber": "HuberLoss"}


# ---- metrics: (outputs, targets) as host arrays -> (sum over the batch, count) --------------
def _accuracy(out, y, from_logits):
    if out.ndim >= 2 and out.shape[1] > 1 and y.dtype.kind in "iu":
        correct = out.argmax(axis=1) == y
    elif y.dtype.kind == "f" and y.shape == out.shape and out.ndim >= 2 and out.shape[1] > 1:
        correct = out.argmax(axis=1) == y.argmax(axis=1)   # probability targets
    else:
        pred = out.reshape(y.shape) > (0.0 if from_logits else 0.5)
        correct = pred == (y > 0.5)
    return float(correct.sum()), correct.size


def _mae(out, y, _):
    return float(np.abs(out.reshape(y.shape) - y).sum()), y.size


def _mse(out, y, _):
    return float(((out.reshape(y.shape) - y) ** 2).sum()), y.size


METRICS = {"accuracy": _accuracy, "acc": _accuracy, "mae": _mae, "mse": _mse}


class Callback:
    """Base class: override any of the hooks; `self.model` is set by fit."""
    model = None

    def set_model(self, model):
        self.model = model

    def on_train_begin(self, logs=None):
        pass

    def on_train_end(self, logs=None):
        pass

    def on_epoch_begin(self, epoch, logs=None):
        pass

    def on_epoch_end(self, epoch, logs=None):
        pass

    def on_batch_begin(self, batch, logs=None):
        pass

    def on_batch_end(self, batch, logs=None):
        pass


class History(Callback):
    """history: {'loss': [...], 'accuracy': [...], 'val_loss': [...], ...}, one value per epoch."""

    def __init__(self):
        self.history, self.epoch = {}, []

    def on_epoch_end(self, epoch, logs=None):
        self.epoch.append(epoch)
        for k, v in (logs or {}).items():
            self.history.setdefault(k, []).append(v)


def _mode(monitor, mode):
    if mode not in ("auto", "min", "max"):
        raise ValueError(f"mode must be 'auto', 'min' or 'max', got {mode!r}")
    if mode == "auto":
        mode = "max" if "acc" in monitor else "min"
    return mode


class EarlyStopping(Callback):
    """Stop fit when `monitor` has not improved by min_delta for `patience` epochs.

    Example:
        model.fit(x, y, validation_split=0.2, callbacks=[EarlyStopping(patience=3, restore_best_weights=True)])
    """

    def __init__(self, monitor="val_loss", min_delta=0.0, patience=0, mode="auto", restore_best_weights=False,
                 verbose=0):
        self.monitor, self.min_delta, self.patience = monitor, abs(min_delta), patience
        self.mode, self.restore_best_weights, self.verbose = _mode(monitor, mode), restore_best_weights, verbose
        self.stopped_epoch = None

    def on_train_begin(self, logs=None):
        self.wait, self.best, self.best_weights, self.stopped_epoch = 0, None, None, None

    def _improved(self, value):
        if self.best is None:
            return True
        return value < self.best - self.min_delta if self.mode == "min" else value > self.best + self.min_delta

    def on_epoch_end(self, epoch, logs=None):
        value = (logs or {}).get(self.monitor)
        if value is None:
            raise KeyError(f"[EarlyStopping] '{self.monitor}' is not among the logged values "
                           f"{sorted(logs or {})}; give validation data or another monitor")
        if self._improved(value):
            self.best, self.wait = value, 0
            if self.restore_best_weights:
                self.best_weights = {k: v.numpy().copy() for k, v in self.model.state_dict().items()}
            return
        self.wait += 1
        if self.wait >= max(self.patience, 1):
            self.stopped_epoch = epoch
            self.model.stop_training = True
            if self.restore_best_weights and self.best_weights is not None:
                self.model.load_state_dict(self.best_weights)
            if self.verbose:
                print(f"Epoch {epoch + 1}: early stopping ({self.monitor} best {self.best:.4f})")


class ModelCheckpoint(Callback):
    """Save the model's state_dict (em.save, safetensors) after each epoch, or only when `monitor` improves.

    The file is replaced atomically; in a process group only rank 0 writes it.

    Args:
        filepath: may contain {epoch} and logged names, e.g. "ckpt-{epoch:02d}-{val_loss:.3f}.safetensors".
        save_optimizer: save {"model", "optimizer", "epoch"} instead of the bare state_dict, so that
            ModelCheckpoint.restore resumes training exactly (Adam's moments included).
    """

    def __init__(self, filepath, monitor="val_loss", save_best_only=False, mode="auto", verbose=0,
                 save_optimizer=False):
        self.save_optimizer = save_optimizer
        self.filepath, self.monitor, self.save_best_only = str(filepath), monitor, save_best_only
        self.mode, self.verbose, self.best = _mode(monitor, mode), verbose, None

    def on_epoch_end(self, epoch, logs=None):
        logs = logs or {}
        if self.save_best_only:
            value = logs.get(self.monitor)
            if value is None:
                raise KeyError(f"[ModelCheckpoint] '{self.monitor}' is not among the logged values {sorted(logs)}")
            if self.best is not None and not (value < self.best if self.mode == "min" else value > self.best):
                return
            self.best = value
        path = self.filepath.format(epoch=epoch + 1, **logs)
        if not _is_main_process():
            return
        state = self.model.state_dict()
        if self.save_optimizer:
            state = {"model": state, "optimizer": self.model.optimizer.state_dict(), "epoch": epoch + 1}
        save(state, path)  # em.save writes atomically
        if self.verbose:
            print(f"Epoch {epoch + 1}: saved the model to {path}")

    @staticmethod
    def restore(model, path):
        """Load a checkpoint saved with save_optimizer=True into a compiled model; returns the epochs done.

        Example:
            done = ModelCheckpoint.restore(model, "ckpt.safetensors")
            model.fit(x, y, epochs=10, initial_epoch=done)
        """
        from .serialization import load
        state = load(path)
        if set(state) != {"model", "optimizer", "epoch"}:
            raise ValueError(f"[ModelCheckpoint.restore] {path} holds no optimizer state (save it with "
                             "save_optimizer=True), load its weights with model.load_state_dict(em.load(path))")
        _compiled(model, "ModelCheckpoint.restore")
        model.load_state_dict(state["model"])
        model.optimizer.load_state_dict(state["optimizer"])
        return int(state["epoch"])


def _is_main_process():
    """False on the ranks other than 0 of a process group (only rank 0 writes files)."""
    dist = sys.modules.get("ember.distributed")
    return dist is None or dist.is_main_process()


class LambdaCallback(Callback):
    """A callback from plain functions: on_epoch_end=lambda epoch, logs: ..., and the other hooks."""

    def __init__(self, on_epoch_begin=None, on_epoch_end=None, on_batch_begin=None, on_batch_end=None,
                 on_train_begin=None, on_train_end=None):
        for name, fn in dict(on_epoch_begin=on_epoch_begin, on_epoch_end=on_epoch_end, on_batch_begin=on_batch_begin,
                             on_batch_end=on_batch_end, on_train_begin=on_train_begin,
                             on_train_end=on_train_end).items():
            if fn is not None:
                setattr(self, name, fn)


# ---- the Module methods ------------------------------------------------------------------
def _device(model):
    for p in model.parameters():
        return p._backend
    for b in model.buffers():
        return b._backend
    from .backends import default_backend
    return default_backend()


def _as_tensor(a, be, name):
    if a is None:
        return None
    if isinstance(a, Tensor):
        return a.detach() if a._backend is be else a.detach().to(be)
    try:
        return tensor(np.asarray(a), device=be)
    except (TypeError, ValueError) as e:
        raise ValueError(f"{name} cannot be made into a tensor: {e}") from None


def _compiled(model, what):
    if "loss_fn" not in model.__dict__:
        raise RuntimeError(f"[{what}] call model.compile(optimizer=..., loss=...) first")


def _bind(model, optimizer, lazy):
    """Bind an optimizer built without parameters to the model's trainable ones; a model that builds its
    parameters on the first call (lazy) is bound by fit, after the dry run built it."""
    if optimizer.bound:
        return
    params = [p for p in model.parameters() if p.requires_grad]
    if params:
        optimizer.bind(params)
    elif lazy:
        optimizer.claimed = True  # this model's: optim.latest_unbound() must not hand it to another
    else:
        raise ValueError(f"[fit] {type(model).__name__} has no trainable parameters for the optimizer")


def _check_xy(x, y, what):
    if y is None:
        raise ValueError(f"[{what}] y (the targets) is missing")
    if x.ndim == 0 or y.ndim == 0:
        raise ValueError(f"[{what}] x and y need a batch dimension, got shapes {x.shape} and {y.shape}")
    if len(x) != len(y):
        raise ValueError(f"[{what}] x has {len(x)} samples but y has {len(y)}")
    if len(x) == 0:
        raise ValueError(f"[{what}] no samples")


def _batches(n, batch_size, order=None):
    idx = np.arange(n) if order is None else order
    for s in range(0, len(idx), batch_size):
        yield idx[s:s + batch_size]


# ---- mixed precision (fit's precision=) ----
_PRECISIONS = ("32", "bf16", "fp16")


class _Precision:
    """fit's precision: an autocast region around forward and loss, a GradScaler for fp16."""

    def __init__(self, precision, device):
        self.precision, self.device_type = precision, "cuda" if device in ("cuda", "cuda-emu") else "cpu"
        self.scaler = None
        if precision == "fp16":
            from .amp import GradScaler
            self.scaler = GradScaler(self.device_type)

    def region(self):
        from .amp import autocast
        from .tensor import bfloat16, float16
        dtype = bfloat16 if self.precision == "bf16" else float16
        return autocast(self.device_type, dtype=dtype, enabled=self.precision != "32")

    def backward_and_step(self, loss, optimizer):
        if self.scaler is None:
            loss.backward()
            optimizer.step()
            return
        self.scaler.scale(loss).backward()
        self.scaler.step(optimizer)
        self.scaler.update()
# ---- end mixed precision ----


def _take(t, idx, contiguous):
    """Rows idx of t: a slice view when the rows are consecutive, else a gather."""
    return t[int(idx[0]):int(idx[-1]) + 1] if contiguous else t[idx]


def _run_epoch(model, x, y, batch_size, order, train, bar=None, callbacks=(), reduce=None):
    """(mean loss, {metric: value}) over the data, training when train; reduce(total, count, sums)
    combines the sums of several ranks."""
    total, count = 0.0, 0
    sums = {name: [0.0, 0] for name, _ in model._metrics}
    for b, idx in enumerate(_batches(len(x), batch_size, order)):
        for cb in callbacks:
            cb.on_batch_begin(b)
        xb, yb = _take(x, idx, order is None), _take(y, idx, order is None)
        amp = getattr(model, "_amp", None) or _Precision("32", "cpu")
        if train:
            with amp.region():
                out = model(xb)
                loss = model.loss_fn(out, yb)
            model.optimizer.zero_grad()
            amp.backward_and_step(loss, model.optimizer)
        else:
            with inference_mode(), amp.region():
                out = model(xb)
                loss = model.loss_fn(out, yb)
        lv = loss.item()
        total += lv * len(idx)
        count += len(idx)
        if model._metrics:
            o, t = out.float().numpy(), yb.numpy()
            for name, fn in model._metrics:
                s, c = fn(o, t, model._from_logits)
                sums[name][0] += s
                sums[name][1] += c
        logs = {"loss": total / count, **{k: v[0] / max(v[1], 1) for k, v in sums.items()}}
        if bar is not None:
            bar.update(1)
            bar.set_postfix({k: f"{v:.4f}" for k, v in logs.items()}, refresh=False)
        for cb in callbacks:
            cb.on_batch_end(b, logs)
    if reduce is not None:
        total, count, sums = reduce(total, count, sums)
    return total / max(count, 1), {k: v[0] / max(v[1], 1) for k, v in sums.items()}


def _dry_run(model, x, y, what):
    """Forward and loss on two samples, so wrong shapes or labels raise ValueError before any training.
    In eval mode: the check must not move batch-norm statistics or draw dropout masks."""
    was_training = model.training
    model.eval()
    try:
        with inference_mode():
            model.loss_fn(model(x[:2]), y[:2])
    except (ValueError, IndexError, TypeError) as e:
        raise ValueError(f"[{what}] the model's output and y do not fit the loss: {e}") from None
    finally:
        model.train(was_training)


def _parallel_plan(model, n, shuffle, seed):
    """The data-parallel plan when a process group of several ranks is up (ember.nn.parallel), else None."""
    from .nn.parallel.fit_plan import fit_plan
    return fit_plan(model, n, shuffle, seed)


class Trainable:
    """Keras-style training methods; every nn.Module inherits them."""

    def compile(self, optimizer="adam", loss="cross_entropy", metrics=None, lr=None):
        """Choose the optimizer, loss and metrics that fit/evaluate use.

        Args:
            optimizer: a name ('sgd', 'adam', 'adamw', 'rmsprop', 'adagrad', with PyTorch's defaults or `lr`)
                or an ember.optim.Optimizer, with its parameters or built without them (bound to this model here,
                or by the first fit when the model builds its parameters then).
            loss: a name ('cross_entropy', 'mse', 'l1', 'nll', 'bce', 'bce_with_logits', 'huber', 'smooth_l1'),
                a loss Module, or a function (output, target) -> scalar tensor.
            metrics: names ('accuracy', 'mae', 'mse') or functions (output, target) -> float.
        Example:
            model.compile(optimizer="adam", loss="cross_entropy", metrics=["accuracy"])
        """
        from .nn import loss as _losses
        if isinstance(optimizer, str):
            key = optimizer.lower()
            if key not in OPTIMIZERS:
                raise ValueError(f"[compile] unknown optimizer '{optimizer}'; known: {', '.join(OPTIMIZERS)}")
            optimizer = OPTIMIZERS[key](**({} if lr is None else {"lr": lr}))
        elif not isinstance(optimizer, optim.Optimizer):
            raise TypeError(f"[compile] optimizer must be a name or an Optimizer, got {type(optimizer).__name__}")
        _bind(self, optimizer, lazy=True)
        if isinstance(loss, str):
            if loss.lower() not in LOSSES:
                raise ValueError(f"[compile] unknown loss '{loss}'; known: {', '.join(LOSSES)}")
            loss = getattr(_losses, LOSSES[loss.lower()])()
        elif not callable(loss):
            raise TypeError(f"[compile] loss must be a name, a loss Module or a function, got {type(loss).__name__}")
        names, fns = [], []
        for m in metrics or []:
            if isinstance(m, str):
                if m not in METRICS:
                    raise ValueError(f"[compile] unknown metric '{m}'; known: {', '.join(METRICS)}")
                names.append("accuracy" if m == "acc" else m)
                fns.append(METRICS[m])
            elif callable(m):
                names.append(getattr(m, "__name__", "metric"))
                fns.append(lambda out, y, _, f=m: (float(f(out, y)) * len(y), len(y)))
            else:
                raise TypeError(f"[compile] a metric must be a name or a function, got {type(m).__name__}")
        object.__setattr__(self, "optimizer", optimizer)
        object.__setattr__(self, "loss_fn", loss)
        object.__setattr__(self, "_metrics", list(zip(names, fns)))
        object.__setattr__(self, "_from_logits",
                           isinstance(loss, (_losses.BCEWithLogitsLoss, _losses.CrossEntropyLoss)))
        return self

    def fit(self, x, y=None, epochs=1, batch_size=32, validation_split=0.0, validation_data=None, shuffle=True,
            callbacks=None, verbose=1, seed=None, initial_epoch=0, precision="32"):
        """Train for `epochs` passes over (x, y); returns a History whose .history holds one value per epoch.

        Args:
            x, y: NumPy arrays or tensors with the same number of samples.
            validation_split: the fraction of samples, taken from the end before shuffling, held out for validation.
            validation_data: (x_val, y_val), used instead of validation_split.
            shuffle: reshuffle the training samples every epoch (seeded by `seed`, else ember's generator).
            callbacks: Callback objects (EarlyStopping, ModelCheckpoint, LambdaCallback, ...).
            verbose: 0 silent, 1 a progress bar per epoch with loss and metrics, 2 one line per epoch.
            precision: "32" (float32), "bf16" (autocast to bfloat16 around forward and loss) or "fp16"
                (autocast to float16, with a GradScaler on the loss).
        Example:
            history = model.fit(x, y, epochs=5, batch_size=64, validation_split=0.2)
        """
        _compiled(self, "fit")
        if not isinstance(epochs, int) or epochs < 0:
            raise ValueError(f"[fit] epochs must be a non-negative int, got {epochs!r}")
        if not isinstance(batch_size, int) or batch_size < 1:
            raise ValueError(f"[fit] batch_size must be a positive int, got {batch_size!r}")
        if not 0.0 <= validation_split < 1.0:
            raise ValueError(f"[fit] validation_split must be in [0, 1), got {validation_split}")
        if verbose not in (0, 1, 2):
            raise ValueError(f"[fit] verbose must be 0, 1 or 2, got {verbose!r}")
        if precision not in _PRECISIONS:
            raise ValueError(f"[fit] precision must be one of {', '.join(map(repr, _PRECISIONS))}, got {precision!r}")
        be = _device(self)
        object.__setattr__(self, "_amp", _Precision(precision, be.name))
        x, y = _as_tensor(x, be, "[fit] x"), _as_tensor(y, be, "[fit] y")
        _check_xy(x, y, "fit")
        val = None
        if validation_data is not None:
            if len(validation_data) != 2:
                raise ValueError("[fit] validation_data must be a pair (x_val, y_val)")
            val = (_as_tensor(validation_data[0], be, "[fit] x_val"), _as_tensor(validation_data[1], be, "[fit] y_val"))
            _check_xy(*val, "fit (validation_data)")
        elif validation_split:
            n_val = int(len(x) * validation_split)
            if n_val == 0 or n_val == len(x):
                raise ValueError(f"[fit] validation_split={validation_split} of {len(x)} samples leaves an empty split")
            val = (x[len(x) - n_val:], y[len(y) - n_val:])
            x, y = x[:len(x) - n_val], y[:len(y) - n_val]
        _dry_run(self, x, y, "fit")
        if val is not None:
            _dry_run(self, *val, "fit (validation)")
        _bind(self, self.optimizer, lazy=False)

        history = History()
        callbacks = list(callbacks or []) + [history]
        for cb in callbacks:
            if not isinstance(cb, Callback):
                raise TypeError(f"[fit] callbacks must be Callback objects, got {type(cb).__name__}")
            cb.set_model(self)
        object.__setattr__(self, "stop_training", False)
        object.__setattr__(self, "history", history)
        rng = np.random.default_rng(seed) if seed is not None else None
        steps = math.ceil(len(x) / batch_size)
        plan = _parallel_plan(self, len(x), shuffle, seed)
        if plan is not None:  # one of several ranks: this rank's shard; output from rank 0 only
            steps, verbose = math.ceil(plan.sampler.num_samples / batch_size), verbose if plan.is_main else 0
        for cb in callbacks:
            cb.on_train_begin()
        was_training = self.training
        for epoch in range(initial_epoch, epochs):
            for cb in callbacks:
                cb.on_epoch_begin(epoch)
            if plan is not None:
                order = plan.train_order(epoch)
            elif shuffle:
                from .random import generator
                order = (rng or generator()).permutation(len(x))
            else:
                order = None
            bar = None
            if verbose == 1:
                from tqdm import tqdm
                bar = tqdm(total=steps, desc=f"Epoch {epoch + 1}/{epochs}", unit="batch", file=sys.stdout,
                           leave=True, dynamic_ncols=True)
            self.train()
            loss, metrics = _run_epoch(self, x, y, batch_size, order, True, bar, callbacks, plan and plan.reduce)
            logs = {"loss": loss, **metrics}
            if val is not None:
                self.eval()
                vl, vm = _run_epoch(self, *val, batch_size, plan and plan.val_order(len(val[0])), False, None, (),
                                    plan and plan.reduce)
                logs.update({"val_loss": vl, **{f"val_{k}": v for k, v in vm.items()}})
            if bar is not None:
                bar.set_postfix({k: f"{v:.4f}" for k, v in logs.items()})
                bar.close()
            elif verbose == 2:
                print(f"Epoch {epoch + 1}/{epochs} - " + " - ".join(f"{k}: {v:.4f}" for k, v in logs.items()))
            for cb in callbacks:
                cb.on_epoch_end(epoch, logs)
            if self.stop_training:
                break
        self.train(was_training)
        if plan is not None:
            plan.close()
        for cb in callbacks:
            cb.on_train_end()
        return history

    def evaluate(self, x, y=None, batch_size=32, verbose=0):
        """[loss, *metrics] over (x, y), in eval mode and without gradients.

        Example:
            loss, acc = model.evaluate(x_test, y_test)
        """
        _compiled(self, "evaluate")
        be = _device(self)
        x, y = _as_tensor(x, be, "[evaluate] x"), _as_tensor(y, be, "[evaluate] y")
        _check_xy(x, y, "evaluate")
        _dry_run(self, x, y, "evaluate")
        was_training = self.training
        self.eval()
        try:
            loss, metrics = _run_epoch(self, x, y, batch_size, None, False)
        finally:
            self.train(was_training)
        if verbose:
            print(" - ".join(f"{k}: {v:.4f}" for k, v in {"loss": loss, **metrics}.items()))
        return [loss, *metrics.values()]

    def predict(self, x, batch_size=32, verbose=0):
        """The model's outputs for x, batch by batch, in eval mode, as one NumPy array.

        Example:
            labels = model.predict(x_test).argmax(axis=1)
        """
        be = _device(self)
        x = _as_tensor(x, be, "[predict] x")
        if x.ndim == 0:
            raise ValueError("[predict] x needs a batch dimension")
        was_training = self.training
        self.eval()
        outs = []
        try:
            with inference_mode():
                for idx in _batches(len(x), batch_size):
                    outs.append(self(_take(x, idx, True)).numpy())
        finally:
            self.train(was_training)
        return np.concatenate(outs) if outs else np.zeros((0,))

    def summary(self, input_shape=None, print_fn=print):
        """Print (and return) a table of the layers, their output shapes and parameter counts.

        Args:
            input_shape: one sample's shape (without the batch), e.g. (64,); output shapes are traced
                with a batch of 1 when given.
        Example:
            model.summary(input_shape=(64,))
        """
        shapes = {}
        if input_shape is not None:
            from .creation import zeros
            be = _device(self)
            patched = []
            for name, m in self.named_modules():
                if not name:
                    continue
                def traced(*args, _m=m, _name=name, _f=m.forward, **kw):
                    out = _f(*args, **kw)
                    shapes[_name] = tuple(out.shape) if isinstance(out, Tensor) else "?"
                    return out
                object.__setattr__(m, "forward", traced)
                patched.append(m)
            dtype = next((p.dtype for p in self.parameters()), None)
            try:
                with no_grad():
                    out = self(zeros((1,) + tuple(input_shape), dtype=dtype, device=be))
                shapes[""] = tuple(out.shape)
            finally:
                for m in patched:
                    del m.__dict__["forward"]
        rows = [("Layer (type)", "Output Shape", "Param #")]
        for name, m in self.named_modules():
            if not name or m._modules:
                continue
            n = sum(p.numel() for p in m.parameters(recurse=False))
            shape = shapes.get(name)
            rows.append((f"{name} ({type(m).__name__})", "" if shape is None else str((None,) + shape[1:]), f"{n:,}"))
        total = sum(p.numel() for p in self.parameters())
        trainable = sum(p.numel() for p in self.parameters() if p.requires_grad)
        widths = [max(len(r[i]) for r in rows) + 2 for i in range(3)]
        line = "=" * sum(widths)
        out = [f'Model: "{type(self).__name__}"', line]
        out += ["".join(c.ljust(w) for c, w in zip(r, widths)) for r in rows[:1]] + [line]
        out += ["".join(c.ljust(w) for c, w in zip(r, widths)) for r in rows[1:]]
        out += [line, f"Total params: {total:,}", f"Trainable params: {trainable:,}",
                f"Non-trainable params: {total - trainable:,}"]
        text = "\n".join(out)
        if print_fn is not None:
            print_fn(text)
        return text
