"""A DCGAN on the bundled 8x8 digits: a generator of transposed convolutions draws digits from
noise, a convolutional discriminator tells them from real ones.

    python examples/dcgan.py [--epochs 30] [--out dcgan_out] [--device cpu]

Generator  z (N, 32, 1, 1) -> ConvTranspose2d 2x2 (64) -> 4x4 (32) -> 8x8 (1), BatchNorm2d + ReLU
           between, Tanh at the end (images in [-1, 1]).
Discriminator 8x8 -> Conv2d 4x4 stride 2 (32) -> 2x2 (64, BatchNorm2d) -> 1 logit, LeakyReLU(0.2).
Losses: binary cross-entropy on the logits (BCEWithLogitsLoss); Adam(2e-4, betas (0.5, 0.999)) for
both, as the DCGAN paper. After each epoch it prints both losses and writes a grid of 64 digits
drawn from the same fixed noise to <out>/epoch_<k>.png.
"""
import argparse
import os
import time

import numpy as np

import ember as em
from ember import nn
from ember.data.datasets import load_digits
from ember.utils.png import write_png


def make_generator(nz):
    return nn.Sequential(
        nn.ConvTranspose2d(nz, 64, 2, bias=False), nn.BatchNorm2d(64), nn.ReLU(),                 # (N, 64, 2, 2)
        nn.ConvTranspose2d(64, 32, 4, stride=2, padding=1, bias=False), nn.BatchNorm2d(32), nn.ReLU(),  # 4x4
        nn.ConvTranspose2d(32, 1, 4, stride=2, padding=1), nn.Tanh())                              # (N, 1, 8, 8)


def make_discriminator():
    return nn.Sequential(
        nn.Conv2d(1, 32, 4, stride=2, padding=1), nn.LeakyReLU(0.2),                              # (N, 32, 4, 4)
        nn.Conv2d(32, 64, 4, stride=2, padding=1, bias=False), nn.BatchNorm2d(64), nn.LeakyReLU(0.2),  # 2x2
        nn.Conv2d(64, 1, 2), nn.Flatten())                                                       # (N, 1) logits


def dcgan_init(model):
    """The DCGAN paper's initialisation: conv weights N(0, 0.02), BatchNorm scales N(1, 0.02), shifts 0."""
    for m in model.modules():
        if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d)):
            nn.init.normal_(m.weight, 0.0, 0.02)
        elif isinstance(m, nn.BatchNorm2d):
            nn.init.normal_(m.weight, 1.0, 0.02)
            nn.init.zeros_(m.bias)
    return model


def image_grid(images, columns=8, pad=1):
    """images (N, H, W) in [-1, 1] tiled into one (rows*(H+pad)+pad, columns*(W+pad)+pad) image in [0, 1]."""
    n, h, w = images.shape
    rows = -(-n // columns)
    grid = np.zeros((rows * (h + pad) + pad, columns * (w + pad) + pad), np.float32)
    for i, img in enumerate(images):
        r, c = divmod(i, columns)
        grid[pad + r * (h + pad):pad + r * (h + pad) + h, pad + c * (w + pad):pad + c * (w + pad) + w] = (img + 1) / 2
    return grid


def train_step(G, D, opt_g, opt_d, bce, real, nz, dev):
    n = real.shape[0]
    ones, zeros = em.ones(n, 1, device=dev), em.zeros(n, 1, device=dev)
    fake = G(em.randn(n, nz, 1, 1, device=dev))
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
    return d_loss.item(), g_loss.item()


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--epochs", type=int, default=30)
    p.add_argument("--steps", type=int, default=None, help="batches per epoch at most (default: all)")
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--nz", type=int, default=32, help="noise channels")
    p.add_argument("--out", default="dcgan_out", help="folder for the PNG grids")
    p.add_argument("--device", default=None, help="numpy, cpu, cuda or cuda-emu (default: the best available)")
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args(argv)

    em.manual_seed(args.seed)
    dev = args.device or em.get_default_device()
    images, _ = load_digits()
    real_all = em.tensor(images.reshape(-1, 1, 8, 8) * 2 - 1, device=dev)  # [0, 1] -> [-1, 1], as Tanh
    loader = em.data.DataLoader(em.data.TensorDataset(real_all), batch_size=args.batch_size, shuffle=True,
                                drop_last=True)
    G, D = dcgan_init(make_generator(args.nz)).to(dev), dcgan_init(make_discriminator()).to(dev)
    opt_g = em.optim.Adam(G.parameters(), lr=2e-4, betas=(0.5, 0.999))
    opt_d = em.optim.Adam(D.parameters(), lr=2e-4, betas=(0.5, 0.999))
    bce = nn.BCEWithLogitsLoss()
    fixed = em.randn(64, args.nz, 1, 1, device=dev)
    os.makedirs(args.out, exist_ok=True)

    print(f"DCGAN on {len(images)} digits, device {dev}, batch {args.batch_size}, grids in {args.out}/")
    history, start = [], time.perf_counter()
    for epoch in range(1, args.epochs + 1):
        losses = []
        for i, (real,) in enumerate(loader):
            if args.steps is not None and i >= args.steps:
                break
            losses.append(train_step(G, D, opt_g, opt_d, bce, real, args.nz, dev))
        d_loss, g_loss = np.mean(losses, axis=0)
        G.eval()
        with em.no_grad():
            samples = G(fixed).numpy()[:, 0]
        G.train()
        path = write_png(os.path.join(args.out, f"epoch_{epoch:03d}.png"), image_grid(samples))
        history.append((float(d_loss), float(g_loss), path))
        print(f"epoch {epoch}: discriminator loss {d_loss:.3f}, generator loss {g_loss:.3f}, "
              f"{time.perf_counter() - start:.1f}s, wrote {path}")
    return history


if __name__ == "__main__":
    main()
