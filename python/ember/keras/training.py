"""compile / fit / evaluate / predict for keras models, with Keras' defaults, logs and progress bar.

x and y are NumPy arrays (a list of them for several inputs or outputs); batches are cut on the host and
moved to the model's device. The step is PyTorch's (forward, loss, zero_grad, backward, optimizer.step) on
ember's kernels.
"""
import math
import sys

import numpy as np

from ..autograd import no_grad
from ..random import generator
from ..tensor import Tensor
from ..train import Callback, History, _bind
from . import losses as losses_mod
from . import metrics as metrics_mod
from . import optimizers as optimizers_mod
from .progbar import Progbar


def _arrays(data, what):
    """A list of host arrays from an array, a tensor or a list/tuple of them."""
    if data is None:
        return None
    nested = isinstance(data, (list, tuple)) and any(np.ndim(a) > 0 for a in data)
    items = list(data) if nested else [data]  # a list of scalars is one array, as Keras reads it
    out = []
    for a in items:
        a = a.numpy() if isinstance(a, Tensor) else np.asarray(a)
        if a.ndim == 0:
            raise ValueError(f"[{what}] data needs a batch dimension, got a scalar")
        out.append(a)
    return out


def _check_lengths(xs, ys, what):
    n = len(xs[0])
    for a in xs + (ys or []):
        if len(a) != n:
            raise ValueError(f"[{what}] x and y must have the same number of samples, got "
                             f"{[len(b) for b in xs + (ys or [])]}")
    if n == 0:
        raise ValueError(f"[{what}] no samples")
    return n


def _verbose(verbose):
    if verbose == "auto":
        return 1
    if verbose not in (0, 1, 2):
        raise ValueError(f"verbose must be 'auto', 0, 1 or 2, got {verbose!r}")
    return verbose


def _batch_size(batch_size, what):
    if batch_size is None:
        return 32
    if not isinstance(batch_size, (int, np.integer)) or batch_size < 1:
        raise ValueError(f"[{what}] batch_size must be a positive int, got {batch_size!r}")
    return int(batch_size)


class Trainer:
    """The training methods of keras.Model."""

    def compile(self, optimizer="rmsprop", loss=None, metrics=None, loss_weights=None, weighted_metrics=None,
                run_eagerly=False, steps_per_execution=1, jit_compile="auto", auto_scale_loss=True):
        """Choose the optimizer, loss(es) and metrics for fit and evaluate.

        Args:
            optimizer: a name ('rmsprop' by default, 'adam', 'sgd', 'adamw', 'adagrad': Keras' defaults) or an
                optimizer (keras.optimizers.*, or an ember.optim one, with or without parameters).
            loss: a name ('sparse_categorical_crossentropy', 'categorical_crossentropy', 'binary_crossentropy',
                'mse', 'mae', 'huber'), a keras.losses.Loss or a function (y_true, y_pred); a list or a dict by
                output layer name for several outputs.
            metrics: names ('accuracy', 'mae', 'mse', ...), Metric objects or functions; for several outputs a
                flat list applies to each.
        Example:
            model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
        """
        if loss is None:
            raise ValueError("[compile] give a loss, e.g. loss='sparse_categorical_crossentropy'")
        self.optimizer = optimizers_mod.get(optimizer)
        self._loss_spec, self._loss_weights = loss, loss_weights
        self._metric_spec = list(metrics or [])
        self._loss_fns = self._metrics = None  # resolved on the first batch, when the outputs are known
        self.compiled = True
        _bind(self, self.optimizer, lazy=True)

    # ---- resolving losses and metrics per output --------------------------------------
    def _output_names(self, n):
        outs = getattr(self, "outputs", None) or []
        if len(outs) == n and all(t.node is not None for t in outs):
            return [t.node.layer.name for t in outs]
        return [f"output_{i}" for i in range(n)]

    def _resolve(self, outs, ys):
        names = self._output_names(len(outs))
        spec = self._loss_spec
        if isinstance(spec, dict):
            spec = [spec.get(n) for n in names]
        elif not isinstance(spec, (list, tuple)):
            spec = [spec] * len(outs)
        if len(spec) != len(outs):
            raise ValueError(f"[compile] {len(spec)} losses for {len(outs)} outputs")
        self._loss_fns = [losses_mod.get(s) if s is not None else None for s in spec]
        w = self._loss_weights
        self._weights = [1.0] * len(outs) if w is None else [w[n] for n in names] if isinstance(w, dict) else list(w)
        self._metrics = []
        for i, (o, y) in enumerate(zip(outs, ys)):
            for m in self._metric_spec:
                metric = metrics_mod.resolve(m, y.shape, tuple(o.shape))
                if len(outs) > 1:
                    metric.name = f"{names[i]}_{metric.name}"
                self._metrics.append((i, metric))

    def _check_targets(self, outs, ys, what):
        if len(ys) != len(outs):
            raise ValueError(f"[{what}] the model has {len(outs)} outputs but y holds {len(ys)} arrays")

    # ---- one batch --------------------------------------------------------------------
    def _loss(self, outs, ys):
        total = None
        for fn, w, o, y in zip(self._loss_fns, self._weights, outs, ys):
            if fn is None:
                continue
            value = fn(y, o) * w if w != 1.0 else fn(y, o)
            total = value if total is None else total + value
        for penalty in self.losses:  # the weights' regularizers, in the reported loss too, as Keras
            total = total + penalty
        return total

    def _step(self, xs, ys, train, what):
        inputs = [self.to_tensor(a) for a in xs]
        out = self(inputs if len(inputs) > 1 else inputs[0])
        outs = out if isinstance(out, (list, tuple)) else [out]
        self._check_targets(outs, ys, what)
        if self._loss_fns is None:
            self._resolve(outs, ys)
        targets = [self.to_tensor(y) for y in ys]
        try:
            loss = self._loss(outs, targets)
        except (ValueError, IndexError) as e:
            raise ValueError(f"[{what}] the model's outputs {[tuple(o.shape) for o in outs]} and the targets "
                             f"{[y.shape for y in ys]} do not fit the loss: {e}") from None
        if train:
            _bind(self, self.optimizer, lazy=False)
            self.optimizer.zero_grad()
            loss.backward()
            self.optimizer.step()
        host = [o.numpy() for o in outs]
        for i, metric in self._metrics:
            metric.update_state(ys[i], host[i])
        return float(loss.item())

    def _logs(self, loss_mean, prefix=""):
        logs = {prefix + "loss": loss_mean.result()}
        logs.update({prefix + m.name: m.result() for _, m in self._metrics or []})
        return dict(sorted(logs.items()))

    def _run(self, xs, ys, batch_size, order, train, bar, callbacks=()):
        loss_mean = metrics_mod.Mean("loss")
        for _, m in self._metrics or []:
            m.reset_state()
        n = len(xs[0])
        idx_all = np.arange(n) if order is None else order
        for b, s in enumerate(range(0, n, batch_size)):
            for cb in callbacks:
                getattr(cb, "on_train_batch_begin", cb.on_batch_begin)(b)
            idx = idx_all[s:s + batch_size]
            xb = [a[idx] for a in xs]
            yb = [a[idx] for a in ys]
            loss_mean.update_state(self._step(xb, yb, train, "fit" if train else "evaluate"), len(idx))
            logs = self._logs(loss_mean)
            if bar is not None and s + batch_size < n:  # the caller writes the finished line
                bar.update(b + 1, logs)
            for cb in callbacks:
                getattr(cb, "on_train_batch_end", cb.on_batch_end)(b, logs)
        return self._logs(loss_mean)

    # ---- the public loop --------------------------------------------------------------
    def _compiled(self, what):
        if not getattr(self, "compiled", False):
            raise RuntimeError(f"[{what}] call model.compile(optimizer=..., loss=...) first")

    def fit(self, x=None, y=None, batch_size=None, epochs=1, verbose="auto", callbacks=None, validation_split=0.0,
            validation_data=None, shuffle=True, class_weight=None, sample_weight=None, initial_epoch=0,
            steps_per_epoch=None, validation_steps=None, validation_batch_size=None, validation_freq=1):
        """Train for `epochs` passes over (x, y); returns a History (history.history: one value per epoch).

        Example:
            history = model.fit(x_train, y_train, batch_size=128, epochs=15, validation_split=0.1)
        """
        self._compiled("fit")
        for name, v in (("class_weight", class_weight), ("sample_weight", sample_weight),
                        ("steps_per_epoch", steps_per_epoch), ("validation_steps", validation_steps)):
            if v is not None:
                raise ValueError(f"[fit] {name} is not supported")
        if not isinstance(epochs, (int, np.integer)) or epochs < 0:
            raise ValueError(f"[fit] epochs must be a non-negative int, got {epochs!r}")
        if not 0.0 <= validation_split < 1.0:
            raise ValueError(f"[fit] validation_split must be in [0, 1), got {validation_split}")
        batch_size, verbose = _batch_size(batch_size, "fit"), _verbose(verbose)
        xs, ys = _arrays(x, "fit"), _arrays(y, "fit")
        if xs is None or ys is None:
            raise ValueError("[fit] give x and y")
        n = _check_lengths(xs, ys, "fit")
        val = None
        if validation_data is not None:
            if not isinstance(validation_data, (list, tuple)) or len(validation_data) != 2:
                raise ValueError("[fit] validation_data must be a pair (x_val, y_val)")
            val = (_arrays(validation_data[0], "fit"), _arrays(validation_data[1], "fit"))
            _check_lengths(*val, "fit (validation_data)")
        elif validation_split:
            n_val = int(n * validation_split)
            if n_val == 0:
                raise ValueError(f"[fit] validation_split={validation_split} of {n} samples leaves no validation data")
            val = ([a[n - n_val:] for a in xs], [a[n - n_val:] for a in ys])
            xs, ys, n = [a[:n - n_val] for a in xs], [a[:n - n_val] for a in ys], n - n_val
        history = History()
        callbacks = list(callbacks or []) + [history]
        for cb in callbacks:
            if not isinstance(cb, Callback):
                raise TypeError(f"[fit] callbacks must be keras.callbacks objects, got {type(cb).__name__}")
            cb.set_model(self)
        self.stop_training, self.history = False, history
        steps = math.ceil(n / batch_size)
        for cb in callbacks:
            cb.on_train_begin()
        for epoch in range(initial_epoch, epochs):
            for cb in callbacks:
                cb.on_epoch_begin(epoch)
            if verbose:
                print(f"Epoch {epoch + 1}/{epochs}", file=sys.stdout, flush=True)
            order = generator().permutation(n) if shuffle else None
            bar = Progbar(steps, verbose) if verbose else None
            self.train()
            logs = self._run(xs, ys, batch_size, order, True, bar, callbacks)
            if val is not None and (epoch + 1) % validation_freq == 0:
                logs.update(self._evaluate(*val, validation_batch_size or batch_size, prefix="val_"))
            if bar is not None:
                bar.update(steps, logs)
            for cb in callbacks:
                cb.on_epoch_end(epoch, logs)
            if self.stop_training:
                break
        self.eval()
        for cb in callbacks:
            cb.on_train_end()
        return history

    def _evaluate(self, xs, ys, batch_size, prefix="", bar=None):
        was = self.training
        self.eval()
        try:
            with no_grad():
                logs = self._run(xs, ys, batch_size, None, False, bar)
        finally:
            self.train(was)
        return {prefix + k: v for k, v in logs.items()}

    def evaluate(self, x=None, y=None, batch_size=None, verbose="auto", sample_weight=None, steps=None,
                 callbacks=None, return_dict=False):
        """The loss (and metrics) over (x, y): a float without metrics, else [loss, *metrics] (compile's order).

        Example:
            score = model.evaluate(x_test, y_test, verbose=0)   # [loss, accuracy]
        """
        self._compiled("evaluate")
        batch_size, verbose = _batch_size(batch_size, "evaluate"), _verbose(verbose)
        xs, ys = _arrays(x, "evaluate"), _arrays(y, "evaluate")
        if xs is None or ys is None:
            raise ValueError("[evaluate] give x and y")
        n = _check_lengths(xs, ys, "evaluate")
        bar = Progbar(math.ceil(n / batch_size), verbose) if verbose else None
        logs = self._evaluate(xs, ys, batch_size, bar=bar)
        if bar is not None:
            bar.update(bar.target, logs)
        if return_dict:
            return logs
        values = [logs["loss"]] + [logs[m.name] for _, m in self._metrics]
        return values[0] if len(values) == 1 else values

    def predict(self, x, batch_size=None, verbose="auto", steps=None, callbacks=None):
        """The outputs for x as NumPy arrays (a list for several outputs), batch by batch in inference mode."""
        batch_size, verbose = _batch_size(batch_size, "predict"), _verbose(verbose)
        xs = _arrays(x, "predict")
        n = _check_lengths(xs, None, "predict")
        steps = math.ceil(n / batch_size)
        bar = Progbar(steps, verbose) if verbose else None
        was = self.training
        self.eval()
        chunks = []
        try:
            with no_grad():
                for b, s in enumerate(range(0, n, batch_size)):
                    inputs = [self.to_tensor(a[s:s + batch_size]) for a in xs]
                    out = self(inputs if len(inputs) > 1 else inputs[0])
                    chunks.append([o.numpy() for o in out] if isinstance(out, (list, tuple)) else [out.numpy()])
                    if bar is not None:
                        bar.update(b + 1, {})
        finally:
            self.train(was)
        outs = [np.concatenate(parts) for parts in zip(*chunks)]
        return outs[0] if len(outs) == 1 else outs

    def train_on_batch(self, x, y):
        """One optimizer step on (x, y); returns the loss (and metrics: [loss, ...])."""
        self._compiled("train_on_batch")
        self.train()
        for _, m in self._metrics or []:
            m.reset_state()
        loss = self._step(_arrays(x, "train_on_batch"), _arrays(y, "train_on_batch"), True, "train_on_batch")
        values = [loss] + [m.result() for _, m in self._metrics]
        return values[0] if len(values) == 1 else values

    def predict_on_batch(self, x):
        return self.predict(x, batch_size=len(_arrays(x, "predict_on_batch")[0]), verbose=0)
