"""Classify the bundled 8x8 digits with an LSTM that reads each image row as one time step.

    python examples/lstm_digits.py [--epochs 25] [--device cpu] [--quick]
"""
import argparse
import time

from tqdm import tqdm

import ember as em
from ember import nn
from ember.data.datasets import load_digits, train_test_split


class RowLSTM(nn.Module):
    """LSTM over the 8 rows (8 pixels each), then a linear classifier on the last hidden state."""

    def __init__(self, hidden=64):
        super().__init__()
        self.lstm = nn.LSTM(8, hidden, batch_first=True)
        self.head = nn.Linear(hidden, 10)

    def forward(self, x):                # x (N, 8 rows, 8 pixels)
        _, (h_n, _) = self.lstm(x)
        return self.head(h_n[0])         # h_n (1, N, hidden)


def accuracy(model, x, y):
    with em.no_grad():
        return float((model(x).argmax(dim=1) == y).mean().item())


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--epochs", type=int, default=25)
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--lr", type=float, default=0.01)
    p.add_argument("--hidden", type=int, default=64)
    p.add_argument("--device", default=None, help="numpy, cpu, cuda or cuda-emu (default: the best available)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--quick", action="store_true", help="three epochs, for a smoke test")
    args = p.parse_args(argv)

    em.manual_seed(args.seed)
    dev = args.device or em.get_default_device()
    images, labels = load_digits()
    x_train, y_train, x_test, y_test = train_test_split(images, labels, 0.2, args.seed)
    x_train, y_train = em.tensor(x_train, device=dev), em.tensor(y_train, device=dev)
    x_test, y_test = em.tensor(x_test, device=dev), em.tensor(y_test, device=dev)

    model = RowLSTM(args.hidden).to(dev)
    opt = em.optim.Adam(model.parameters(), lr=args.lr)
    loss_fn = nn.CrossEntropyLoss()
    loader = em.data.DataLoader(em.data.TensorDataset(x_train, y_train), batch_size=args.batch_size, shuffle=True)

    epochs = 3 if args.quick else args.epochs
    print(f"LSTM(8 -> {args.hidden}) over 8 rows on {len(x_train)} training digits, device {dev}")
    start = time.perf_counter()
    bar = tqdm(range(epochs), unit="epoch")
    for _ in bar:
        total, n = 0.0, 0
        for xb, yb in loader:
            loss = loss_fn(model(xb), yb)
            opt.zero_grad()
            loss.backward()
            opt.step()
            total += loss.item() * len(xb)
            n += len(xb)
        bar.set_postfix(loss=f"{total / n:.4f}", test_acc=f"{accuracy(model, x_test, y_test):.3f}")
    acc = accuracy(model, x_test, y_test)
    print(f"test accuracy: {acc:.4f} ({len(x_test)} digits) in {time.perf_counter() - start:.1f} s")
    return acc


if __name__ == "__main__":
    main()
