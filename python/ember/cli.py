"""The `ember` command.

    ember train --model mlp --dataset digits --epochs 20 [--device cpu] [--plot curves.png]
    ember train --model mlp --dataset mnist:~/data/mnist --epochs 5
    ember train --model cnn --dataset digits --epochs 20   # the seeds' CNN on (N, 1, H, W) images
    ember train --model lstm --dataset digits --epochs 20  # an LSTM reading the image row by row
    ember train --model cnn --epochs 20 --nproc 4          # data-parallel on 4 processes (mpiexec)
"""
import argparse
import os
import sys
import time

import numpy as np

def _row_lstm(nn, rows_width, classes, hidden=64):
    """An LSTM that reads an image row by row (batch_first), then a Linear on the last output."""

    class RowLSTM(nn.Module):
        def __init__(self):
            super().__init__()
            self.lstm = nn.LSTM(rows_width, hidden, batch_first=True)
            self.head = nn.Linear(hidden, classes)

        def forward(self, x):              # x (N, rows, width)
            out, _ = self.lstm(x)          # out (N, rows, hidden)
            return self.head(out[:, -1])

    return RowLSTM()


def _dataset(spec, seed):
    """(x_train, y_train, x_test, y_test); ValueError / FileNotFoundError naming what is wrong."""
    from .data.datasets import load_digits, load_mnist, train_test_split
    if spec == "digits":
        images, labels = load_digits()
        x_train, y_train, x_test, y_test = train_test_split(images, labels, 0.2, seed)
        return x_train, y_train, x_test, y_test
    if spec.startswith("mnist:"):
        data = load_mnist(spec[len("mnist:"):])
        if len(data[0]) == 0 or len(data[2]) == 0:
            raise ValueError(f"'{spec}' holds {len(data[0])} training and {len(data[2])} test images; "
                             "both sets must be non-empty")
        return data
    raise ValueError(f"unknown dataset '{spec}'; use 'digits' or 'mnist:PATH'")


def _model(name, image_shape, classes):
    from . import nn
    features = int(np.prod(image_shape))
    if name == "mlp":
        hidden = (128, 64)
        return nn.Sequential(nn.Flatten(), nn.Linear(features, hidden[0]), nn.ReLU(), nn.Linear(*hidden), nn.ReLU(),
                             nn.Linear(hidden[1], classes))
    if name == "cnn":  # the seeds' CNN: (N, 1, 8, 8) digits -> (N, 32, 2, 2); (N, 1, 28, 28) mnist -> (N, 32, 7, 7)
        h, w = image_shape
        flat = 32 * (h // 4) * (w // 4)
        return nn.Sequential(nn.Conv2d(1, 16, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                             nn.Conv2d(16, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
                             nn.Linear(flat, classes))
    # "lstm", the last of --model's choices: one time step per image row
    _, width = image_shape
    return _row_lstm(nn, width, classes)


def _plot(history, path):
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        raise SystemExit("ember train: --plot needs matplotlib (pip install 'ember[plot]')") from None
    fig, axes = plt.subplots(1, 2, figsize=(9, 3.5))
    for ax, key in zip(axes, ("loss", "accuracy")):
        for k in (key, "val_" + key):
            if k in history:
                ax.plot(range(1, len(history[k]) + 1), history[k], label=k.replace("val_", "test "))
        ax.set_xlabel("epoch")
        ax.set_title(key)
        ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def _launch(nproc, argv):
    """Run this same command as nproc MPI ranks (mpiexec), each with its share of the cores; the exit status."""
    import os
    import subprocess
    from .distributed import mpiexec_path
    exe = mpiexec_path()
    if exe is None:
        raise SystemExit("ember train --nproc: mpiexec not found; pip install 'ember[distributed]'")
    threads = max(1, (os.cpu_count() or 1) // nproc)  # ranks must not oversubscribe the cores
    env = dict(os.environ, OMP_NUM_THREADS=str(threads))
    return subprocess.call([exe, "-n", str(nproc), sys.executable, "-m", "ember.cli", *argv], env=env)


def _join_group():
    """Join the process group when mpiexec started several of us; True on rank 0 (or alone).
    The other ranks' stdout goes to /dev/null: the job reports once."""
    import os
    from . import distributed as dist
    if not dist.launched_by_mpi():
        return True
    dist.init_process_group()
    if dist.get_rank() != 0:
        sys.stdout = open(os.devnull, "w")
    print(f"data-parallel on {dist.get_world_size()} processes ({dist.get_backend()}), "
          f"{os.environ.get('OMP_NUM_THREADS', 'default')} threads each")
    return dist.get_rank() == 0


def train(args, data=None):
    """Trains and evaluates the model args describe on `data` (loaded from args.dataset when None)."""
    import ember as em
    main = _join_group()
    em.manual_seed(args.seed)
    device = args.device or em.get_default_device()
    x_train, y_train, x_test, y_test = _dataset(args.dataset, args.seed) if data is None else data
    if args.model == "cnn":
        x_train, x_test = x_train[:, None], x_test[:, None]
    classes = int(max(y_train.max(), y_test.max())) + 1
    model = _model(args.model, x_train.shape[2:] if args.model == "cnn" else x_train.shape[1:], classes).to(device)
    model.compile(optimizer=args.optimizer, loss="cross_entropy", metrics=["accuracy"], lr=args.lr)
    print(f"{args.model} on {args.dataset}: {len(x_train)} training and {len(x_test)} test samples, "
          f"{classes} classes, device {device}")
    start = time.perf_counter()
    history = model.fit(x_train, y_train, epochs=args.epochs, batch_size=args.batch_size,
                        validation_data=(x_test, y_test), verbose=args.verbose, seed=args.seed,
                        precision=args.precision)
    loss, acc = model.evaluate(x_test, y_test)
    print(f"test accuracy: {acc:.4f} (loss {loss:.4f}) after {args.epochs} epochs in "
          f"{time.perf_counter() - start:.1f} s")
    if args.save and main:  # the weights first: they are the work a failure afterwards must not lose
        em.save(model.state_dict(), args.save)
        print(f"weights: {args.save}")
    if args.plot and main:
        _plot(history.history, args.plot)
        print(f"training curves: {args.plot}")
    return acc


# ---- argument checks: each bad value stops the command before any training, naming the argument --
def _int_at_least(low):
    def parse(text):
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected an integer, got {text!r}") from None
        if value < low:
            raise argparse.ArgumentTypeError(f"must be at least {low}, got {value}")
        return value
    parse.__name__ = f"integer >= {low}"
    return parse


def _learning_rate(text):
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if not 0 <= value < float("inf"):  # NaN fails too
        raise argparse.ArgumentTypeError(f"must be a finite number >= 0, got {text}")
    return value


def _check_device(error, device):
    from .backends import DEVICES, _errors, is_available
    if device is None:
        return
    if device not in DEVICES:
        error(f"argument --device: unknown device {device!r} (choose from {', '.join(DEVICES)})")
    if not is_available(device):
        reason = str(_errors.get(device, "")).splitlines()[:1]
        error(f"argument --device: {device!r} is not available here" + (f" ({reason[0]})" if reason else ""))


def _check_output(error, flag, path):
    """path must be writable as a file: its folder exists and is writable, and it is not a folder."""
    if path is None:
        return
    folder = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(folder):
        error(f"argument {flag}: folder '{folder}' does not exist")
    if os.path.isdir(path):
        error(f"argument {flag}: '{path}' is a folder; give a file name")
    if not os.access(folder, os.W_OK):
        error(f"argument {flag}: folder '{folder}' is not writable")


def _check_plot(error, path):
    if path is None:
        return
    _check_output(error, "--plot", path)
    try:
        from matplotlib.figure import Figure
    except ImportError:
        error("argument --plot: needs matplotlib (pip install 'ember[plot]')")
    kinds = Figure().canvas.get_supported_filetypes()
    ext = os.path.splitext(path)[1].lstrip(".").lower()
    if ext not in kinds:
        error(f"argument --plot: cannot write a '{ext or 'no extension'}' image; "
              f"use one of .{', .'.join(sorted(kinds))}")


def _checked_data(error, args):
    _check_device(error, args.device)
    _check_output(error, "--save", args.save)
    _check_plot(error, args.plot)
    try:
        return _dataset(args.dataset, args.seed)
    except (ValueError, OSError) as e:  # a missing folder or file, a corrupt or empty IDX file
        error(f"argument --dataset: {e}")


def main(argv=None):
    p = argparse.ArgumentParser(prog="ember", description="ember: a small deep-learning framework")
    sub = p.add_subparsers(dest="command", required=True)
    t = sub.add_parser("train", help="train a model on a dataset and report its test accuracy")
    t.add_argument("--model", choices=["mlp", "cnn", "lstm"], default="mlp")
    t.add_argument("--dataset", default="digits", help="'digits' (bundled) or 'mnist:PATH' (a directory of IDX files)")
    t.add_argument("--epochs", type=_int_at_least(1), default=20)
    t.add_argument("--batch-size", type=_int_at_least(1), default=64)
    t.add_argument("--optimizer", default="adam", choices=["sgd", "adam", "adamw", "rmsprop", "adagrad"])
    t.add_argument("--lr", type=_learning_rate, default=1e-3)
    t.add_argument("--device", default=None, help="numpy, cpu, cuda or cuda-emu (default: the best available)")
    t.add_argument("--seed", type=_int_at_least(0), default=0)
    t.add_argument("--verbose", type=int, default=1, choices=[0, 1, 2])
    t.add_argument("--plot", default=None, help="write training curves to this image (needs matplotlib)")
    t.add_argument("--save", default=None, help="write the trained weights here (safetensors)")
    t.add_argument("--precision", default="32", choices=["32", "bf16", "fp16"],
                   help="float32, or mixed precision: autocast to bfloat16, or float16 with loss scaling")
    t.add_argument("--nproc", type=_int_at_least(1), default=1,
                   help="train data-parallel on this many processes (via mpiexec)")
    args = p.parse_args(argv)
    if args.command == "train" and args.nproc != 1 and not _under_mpi():
        return _launch(args.nproc, sys.argv[1:] if argv is None else list(argv))
    if args.command == "train":
        train(args, _checked_data(t.error, args))
    return 0


def _under_mpi():
    from .distributed import launched_by_mpi
    return launched_by_mpi()


if __name__ == "__main__":
    sys.exit(main())
