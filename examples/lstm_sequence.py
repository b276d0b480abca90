"""Many-to-many sequence regression: an LSTM reads a noisy sine wave and predicts, at every
step, the clean value one step ahead. Prints the loss curve (and plots it with --plot).

    python examples/lstm_sequence.py [--epochs 40] [--device cpu] [--plot curve.png] [--quick]
"""
import argparse
import time

import numpy as np

import ember as em
from ember import nn


def make_data(n, steps, noise, rng):
    """x (n, steps, 1): noisy sin(w t + phase); y (n, steps, 1): the clean value at t + 1."""
    phase = rng.uniform(0, 2 * np.pi, (n, 1))
    freq = rng.uniform(0.15, 0.35, (n, 1))
    t = np.arange(steps + 1)[None, :]
    clean = np.sin(freq * t + phase)
    x = clean[:, :-1] + noise * rng.standard_normal((n, steps))
    return x[..., None].astype(np.float32), clean[:, 1:, None].astype(np.float32)


class Forecaster(nn.Module):
    def __init__(self, hidden=32, layers=2):
        super().__init__()
        self.lstm = nn.LSTM(1, hidden, num_layers=layers, batch_first=True)
        self.head = nn.Linear(hidden, 1)

    def forward(self, x):                 # x (N, T, 1) -> (N, T, 1): one prediction per step
        out, _ = self.lstm(x)
        return self.head(out)


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--epochs", type=int, default=40)
    p.add_argument("--steps", type=int, default=50)
    p.add_argument("--noise", type=float, default=0.2)
    p.add_argument("--device", default=None)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--plot", default=None, help="save the loss curve to this image (needs matplotlib)")
    p.add_argument("--quick", action="store_true", help="a few epochs on less data, for a smoke test")
    args = p.parse_args(argv)

    em.manual_seed(args.seed)
    rng = np.random.default_rng(args.seed)
    dev = args.device or em.get_default_device()
    n_train, epochs = (256, 5) if args.quick else (1024, args.epochs)
    x_train, y_train = make_data(n_train, args.steps, args.noise, rng)
    x_test, y_test = make_data(256, args.steps, args.noise, rng)
    model = Forecaster().to(dev)
    opt = em.optim.Adam(model.parameters(), lr=0.01)
    loss_fn = nn.MSELoss()
    loader = em.data.DataLoader(em.data.TensorDataset(em.tensor(x_train, device=dev), em.tensor(y_train, device=dev)),
                                batch_size=64, shuffle=True)
    xt, yt = em.tensor(x_test, device=dev), em.tensor(y_test, device=dev)

    def test_loss():
        with em.no_grad():
            return float(loss_fn(model(xt), yt).item())

    baseline = float(np.mean((x_test - y_test) ** 2))  # predicting "the noisy input itself"
    print(f"LSTM forecaster on {n_train} noisy sine waves of {args.steps} steps, device {dev}")
    curve = [test_loss()]
    start = time.perf_counter()
    for epoch in range(epochs):
        for xb, yb in loader:
            loss = loss_fn(model(xb), yb)
            opt.zero_grad()
            loss.backward()
            opt.step()
        curve.append(test_loss())
        print(f"epoch {epoch + 1:3d}  test mse {curve[-1]:.5f}")
    print(f"final test mse {curve[-1]:.5f} (noisy-input baseline {baseline:.5f}) in "
          f"{time.perf_counter() - start:.1f} s")
    if args.plot:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
        plt.plot(curve)
        plt.xlabel("epoch")
        plt.ylabel("test MSE")
        plt.yscale("log")
        plt.savefig(args.plot)
    return curve


if __name__ == "__main__":
    main()
