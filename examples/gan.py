"""A small GAN that learns a 2-D distribution (a Gaussian centred at (2, -1), stretched along x):
generator 2-32-2, discriminator 2-32-1, BCEWithLogitsLoss, Adam; prints both players' losses
and the generated samples' mean and spread against the real ones.

    python examples/gan.py [--steps 2000]
"""
import argparse

import numpy as np

import ember as em
from ember import nn

MEAN, STD = np.array([2.0, -1.0], np.float32), np.array([1.0, 0.3], np.float32)


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--steps", type=int, default=2000)
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--device", default=None)
    p.add_argument("--quick", action="store_true")
    args = p.parse_args(argv)
    em.manual_seed(0)
    rng = np.random.default_rng(0)
    dev = args.device or em.get_default_device()
    G = nn.Sequential(nn.Linear(2, 32), nn.LeakyReLU(0.2), nn.Linear(32, 2)).to(dev)
    D = nn.Sequential(nn.Linear(2, 32), nn.LeakyReLU(0.2), nn.Linear(32, 1)).to(dev)
    opt_g = em.optim.Adam(G.parameters(), lr=2e-3, betas=(0.5, 0.999))
    opt_d = em.optim.Adam(D.parameters(), lr=2e-3, betas=(0.5, 0.999))
    bce = nn.BCEWithLogitsLoss()
    n = args.batch_size
    ones, zeros = em.ones(n, 1, device=dev), em.zeros(n, 1, device=dev)
    steps = 200 if args.quick else args.steps
    for step in range(1, steps + 1):
        real = em.tensor(MEAN + STD * rng.standard_normal((n, 2)).astype(np.float32), device=dev)
        fake = G(em.randn(n, 2, device=dev))
        # the discriminator: real -> 1, fake -> 0 (fake detached: G is not updated here)
        d_loss = bce(D(real), ones) + bce(D(fake.detach()), zeros)
        opt_d.zero_grad()
        d_loss.backward()
        opt_d.step()
        # the generator: make D call its samples real
        g_loss = bce(D(fake), ones)
        opt_g.zero_grad()
        g_loss.backward()
        opt_g.step()
        if step % (steps // 5) == 0:
            print(f"step {step}: discriminator loss {d_loss.item():.3f}, generator loss {g_loss.item():.3f}")
    with em.no_grad():
        samples = G(em.randn(2000, 2, device=dev)).numpy()
    mean, std = samples.mean(axis=0), samples.std(axis=0)
    print(f"generated mean {np.round(mean, 2)} std {np.round(std, 2)}; real mean {MEAN} std {STD}")
    return mean, std


if __name__ == "__main__":
    main()
