"""The `ember` command.

    ember train --model mlp --dataset digits --epochs 20 [--device cpu] [--plot curves.png]
    ember train --model mlp --dataset mnist:~/data/mnist --epochs 5
    ember train --model cnn --dataset digits --epochs 20   # the seeds' CNN on (N, 1, H, W) images
    ember train --model lstm --dataset digits --epochs 20  # an LSTM reading the image row by row
"""
import argparse
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
    from .data.datasets import load_digits, load_mnist, train_test_split
    if spec == "digits":
        images, labels = load_digits()
        x_train, y_train, x_test, y_test = train_test_split(images, labels, 0.2, seed)
        return x_train, y_train, x_test, y_test
    if spec.startswith("mnist:"):
        return load_mnist(spec[len("mnist:"):])
    raise SystemExit(f"ember train: unknown dataset '{spec}'; use 'digits' or 'mnist:PATH'")


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


def train(args):
    import ember as em
    em.manual_seed(args.seed)
    device = args.device or em.get_default_device()
    x_train, y_train, x_test, y_test = _dataset(args.dataset, args.seed)
    if args.model == "cnn":
        x_train, x_test = x_train[:, None], x_test[:, None]
    classes = int(max(y_train.max(), y_test.max())) + 1
    model = _model(args.model, x_train.shape[2:] if args.model == "cnn" else x_train.shape[1:], classes).to(device)
    model.compile(optimizer=args.optimizer, loss="cross_entropy", metrics=["accuracy"], lr=args.lr)
    print(f"{args.model} on {args.dataset}: {len(x_train)} training and {len(x_test)} test samples, "
          f"{classes} classes, device {device}")
    start = time.perf_counter()
    history = model.fit(x_train, y_train, epochs=args.epochs, batch_size=args.batch_size,
                        validation_data=(x_test, y_test), verbose=args.verbose, seed=args.seed)
    loss, acc = model.evaluate(x_test, y_test)
    print(f"test accuracy: {acc:.4f} (loss {loss:.4f}) after {args.epochs} epochs in "
          f"{time.perf_counter() - start:.1f} s")
    if args.plot:
        _plot(history.history, args.plot)
        print(f"training curves: {args.plot}")
    if args.save:
        em.save(model.state_dict(), args.save)
        print(f"weights: {args.save}")
    return acc


def main(argv=None):
    p = argparse.ArgumentParser(prog="ember", description="ember: a small deep-learning framework")
    sub = p.add_subparsers(dest="command", required=True)
    t = sub.add_parser("train", help="train a model on a dataset and report its test accuracy")
    t.add_argument("--model", choices=["mlp", "cnn", "lstm"], default="mlp")
    t.add_argument("--dataset", default="digits", help="'digits' (bundled) or 'mnist:PATH' (a directory of IDX files)")
    t.add_argument("--epochs", type=int, default=20)
    t.add_argument("--batch-size", type=int, default=64)
    t.add_argument("--optimizer", default="adam", choices=["sgd", "adam", "adamw", "rmsprop", "adagrad"])
    t.add_argument("--lr", type=float, default=1e-3)
    t.add_argument("--device", default=None, help="numpy, cpu, cuda or cuda-emu (default: the best available)")
    t.add_argument("--seed", type=int, default=0)
    t.add_argument("--verbose", type=int, default=1, choices=[0, 1, 2])
    t.add_argument("--plot", default=None, help="write training curves to this image (needs matplotlib)")
    t.add_argument("--save", default=None, help="write the trained weights here (safetensors)")
    args = p.parse_args(argv)
    if args.command == "train":
        train(args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
