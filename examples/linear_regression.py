"""Linear regression by gradient descent: fit y = 3x + 2 from noisy samples with nn.Linear and SGD.

    python examples/linear_regression.py [--steps 200] [--plot line.png]
"""
import argparse

import numpy as np

import ember as em
from ember import nn


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--steps", type=int, default=200)
    p.add_argument("--lr", type=float, default=0.1)
    p.add_argument("--device", default=None)
    p.add_argument("--plot", default=None, help="save the data and the fitted line (needs matplotlib)")
    p.add_argument("--quick", action="store_true", help="a short run for tests")
    args = p.parse_args(argv)
    em.manual_seed(0)
    rng = np.random.default_rng(0)
    x = rng.uniform(-2, 2, (200, 1)).astype(np.float32)
    y = (3 * x + 2 + rng.normal(0, 0.3, x.shape)).astype(np.float32)
    dev = args.device or em.get_default_device()
    xt, yt = em.tensor(x, device=dev), em.tensor(y, device=dev)
    model = nn.Linear(1, 1).to(dev)
    opt = em.optim.SGD(model.parameters(), lr=args.lr)
    loss_fn = nn.MSELoss()
    for _ in range(args.steps // 4 if args.quick else args.steps):
        loss = loss_fn(model(xt), yt)
        opt.zero_grad()
        loss.backward()
        opt.step()
    w, b = float(model.weight.item()), float(model.bias.item())
    print(f"fitted y = {w:.3f} x + {b:.3f} (true: 3x + 2), mse {loss.item():.4f}")
    if args.plot:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
        plt.scatter(x[:, 0], y[:, 0], s=6, alpha=0.5, label="data")
        xs = np.linspace(-2, 2, 2)
        plt.plot(xs, w * xs + b, "r", label=f"y = {w:.2f}x + {b:.2f}")
        plt.legend()
        plt.savefig(args.plot, dpi=100)
        print(f"plot: {args.plot}")
    return w, b


if __name__ == "__main__":
    main()
