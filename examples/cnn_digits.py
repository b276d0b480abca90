"""Train the seeds' CNN (conv-relu-pool x2, dense) on the bundled 8x8 digits and report test accuracy.

    python examples/cnn_digits.py [--epochs 15] [--device cpu] [--quick]

Every layer runs on ember's own kernels: conv2d (im2col + packed GEMM on the CPU, implicit
GEMM on CUDA), max pooling, ReLU, the fused cross-entropy and the fused optimizer update.
"""
import argparse
import time

from tqdm import tqdm

import ember as em
from ember import nn
from ember.data.datasets import load_digits, train_test_split


def make_model():
    return nn.Sequential(
        nn.Conv2d(1, 16, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),    # (N, 16, 4, 4)
        nn.Conv2d(16, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),   # (N, 32, 2, 2)
        nn.Flatten(), nn.Linear(32 * 2 * 2, 10))


def accuracy(model, x, y):
    model.eval()
    with em.no_grad():
        acc = float((model(x).argmax(dim=1) == y).mean().item())
    model.train()
    return acc


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--epochs", type=int, default=15)
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--lr", type=float, default=0.05)
    p.add_argument("--device", default=None, help="numpy, cpu, cuda or cuda-emu (default: the best available)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--quick", action="store_true", help="two epochs (a smoke test)")
    args = p.parse_args(argv)
    epochs = 2 if args.quick else args.epochs

    em.manual_seed(args.seed)
    dev = args.device or em.get_default_device()
    images, labels = load_digits()
    x_train, y_train, x_test, y_test = train_test_split(images.reshape(len(images), 1, 8, 8), labels, 0.2, args.seed)
    x_train, y_train = em.tensor(x_train, device=dev), em.tensor(y_train, device=dev)
    x_test, y_test = em.tensor(x_test, device=dev), em.tensor(y_test, device=dev)

    model = make_model().to(dev)
    opt = em.optim.SGD(model.parameters(), lr=args.lr, momentum=0.9)
    loss_fn = nn.CrossEntropyLoss()
    loader = em.data.DataLoader(em.data.TensorDataset(x_train, y_train), batch_size=args.batch_size, shuffle=True)

    print(f"CNN conv16-pool-conv32-pool-dense on {len(x_train)} training digits, device {dev}")
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
