"""Train an MLP on the bundled 8x8 digits and report test accuracy.

    python examples/mlp_digits.py [--epochs 30] [--device cpu]
"""
import argparse
import time

from tqdm import tqdm

import ember as em
from ember import nn
from ember.data.datasets import load_digits, train_test_split


def accuracy(model, x, y):
    with em.no_grad():
        return float((model(x).argmax(dim=1) == y).mean().item())


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--epochs", type=int, default=30)
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--lr", type=float, default=0.05)
    p.add_argument("--device", default=None, help="numpy, cpu, cuda or cuda-emu (default: the best available)")
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args(argv)

    em.manual_seed(args.seed)
    dev = args.device or em.get_default_device()
    images, labels = load_digits()
    x_train, y_train, x_test, y_test = train_test_split(images.reshape(len(images), -1), labels, 0.2, args.seed)
    x_train, y_train = em.tensor(x_train, device=dev), em.tensor(y_train, device=dev)
    x_test, y_test = em.tensor(x_test, device=dev), em.tensor(y_test, device=dev)

    model = nn.Sequential(nn.Linear(64, 128), nn.ReLU(), nn.Linear(128, 64), nn.ReLU(), nn.Linear(64, 10)).to(dev)
    opt = em.optim.SGD(model.parameters(), lr=args.lr, momentum=0.9)
    loss_fn = nn.CrossEntropyLoss()
    loader = em.data.DataLoader(em.data.TensorDataset(x_train, y_train), batch_size=args.batch_size, shuffle=True)

    print(f"MLP 64-128-64-10 on {len(x_train)} training digits, device {dev}")
    start = time.perf_counter()
    bar = tqdm(range(args.epochs), unit="epoch")
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
