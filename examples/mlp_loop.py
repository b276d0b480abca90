"""The same MLP as mlp_keras.py, written as a PyTorch-style loop: DataLoader, forward, loss,
zero_grad, backward, step; Adam with a cosine learning-rate schedule.

    python examples/mlp_loop.py [--mnist ~/data/mnist] [--epochs 10]
"""
import argparse

import ember as em
from ember import nn
from ember.data import DataLoader, TensorDataset

from mlp_keras import load  # examples/ is the script's directory


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--mnist", default=None)
    p.add_argument("--epochs", type=int, default=10)
    p.add_argument("--device", default=None)
    p.add_argument("--quick", action="store_true")
    args = p.parse_args(argv)
    em.manual_seed(0)
    dev = args.device or em.get_default_device()
    x_train, y_train, x_test, y_test = load(args.mnist)
    features = x_train[0].size
    model = nn.Sequential(nn.Linear(features, 128), nn.ReLU(), nn.Linear(128, 64), nn.ReLU(), nn.Linear(64, 10))
    model.to(dev)
    opt = em.optim.Adam(model.parameters(), lr=1e-3)
    epochs = 2 if args.quick else args.epochs
    sched = em.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=epochs)
    loss_fn = nn.CrossEntropyLoss()
    data = TensorDataset(em.tensor(x_train.reshape(len(x_train), -1), device=dev), em.tensor(y_train, device=dev))
    loader = DataLoader(data, batch_size=64, shuffle=True, seed=0)
    for epoch in range(epochs):
        model.train()
        total = 0.0
        for xb, yb in loader:
            loss = loss_fn(model(xb), yb)
            opt.zero_grad()
            loss.backward()
            opt.step()
            total += loss.item() * len(xb)
        sched.step()
        print(f"epoch {epoch + 1}/{epochs}: loss {total / len(data):.4f}, lr {sched.get_last_lr()[0]:.2e}")
    model.eval()
    with em.no_grad():
        logits = model(em.tensor(x_test.reshape(len(x_test), -1), device=dev))
        acc = float((logits.argmax(dim=1) == em.tensor(y_test, device=dev)).mean().item())
    print(f"test accuracy: {acc:.4f}")
    return acc


if __name__ == "__main__":
    main()
