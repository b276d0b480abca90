"""A variational autoencoder on the bundled 8x8 digits: encoder 64-128-(mu, log var) of an
8-D latent, decoder 8-128-64 logits; the reparameterisation trick z = mu + exp(log var / 2) eps;
loss = binary cross-entropy of the reconstruction + KL(q(z|x) || N(0, I)), per image; Adam.
Prints the loss per epoch and the test reconstruction error (MSE per pixel, decoding mu).

    python examples/vae.py [--epochs 30] [--steps N] [--latent 8] [--device cpu]
"""
import argparse

import numpy as np

import ember as em
import ember.nn.functional as F
from ember import nn
from ember.data.datasets import load_digits, train_test_split


class VAE(nn.Module):
    def __init__(self, latent=8, hidden=128):
        super().__init__()
        self.latent = latent
        self.encoder = nn.Sequential(nn.Linear(64, hidden), nn.ReLU(), nn.Linear(hidden, 2 * latent))
        self.decoder = nn.Sequential(nn.Linear(latent, hidden), nn.ReLU(), nn.Linear(hidden, 64))

    def encode(self, x):
        h = self.encoder(x)
        return h[:, :self.latent], h[:, self.latent:]  # mu, log var

    def forward(self, x):
        mu, logvar = self.encode(x)
        # reparameterisation: the noise is an input, so gradients reach mu and log var
        z = mu + (0.5 * logvar).exp() * em.randn(*mu.shape, device=mu.device)
        return self.decoder(z), mu, logvar


def vae_loss(logits, x, mu, logvar):
    """Negative ELBO per image: BCE summed over pixels + KL(N(mu, var) || N(0, I))."""
    n = x.shape[0]
    bce = F.binary_cross_entropy_with_logits(logits, x, reduction="sum")
    kl = -0.5 * (1 + logvar - mu * mu - logvar.exp()).sum()
    return (bce + kl) / n


def reconstruction_error(model, x):
    """Test MSE per pixel of sigmoid(decoder(mu)): the mean code, no sampling."""
    with em.no_grad():
        mu, _ = model.encode(x)
        rec = model.decoder(mu).sigmoid()
        return float(((rec - x) ** 2).mean())


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--epochs", type=int, default=30)
    p.add_argument("--steps", type=int, default=None, help="stop after this many optimizer steps (smoke runs)")
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--latent", type=int, default=8)
    p.add_argument("--lr", type=float, default=2e-3)
    p.add_argument("--device", default=None)
    args = p.parse_args(argv)
    em.manual_seed(0)
    rng = np.random.default_rng(0)
    dev = args.device or em.get_default_device()
    images, labels = load_digits()
    x = images.reshape(len(images), -1).astype(np.float32)
    x_train, _, x_test, _ = train_test_split(x, labels, 0.2, seed=0)
    model = VAE(args.latent).to(dev)
    opt = em.optim.Adam(model.parameters(), lr=args.lr)
    test = em.tensor(x_test, device=dev)
    before = reconstruction_error(model, test)
    losses, step = [], 0
    for epoch in range(1, args.epochs + 1):
        order, total, seen = rng.permutation(len(x_train)), 0.0, 0
        for i in range(0, len(order), args.batch_size):
            xb = em.tensor(x_train[order[i:i + args.batch_size]], device=dev)
            logits, mu, logvar = model(xb)
            loss = vae_loss(logits, xb, mu, logvar)
            opt.zero_grad()
            loss.backward()
            opt.step()
            total, seen, step = total + loss.item() * xb.shape[0], seen + xb.shape[0], step + 1
            if args.steps is not None and step >= args.steps:
                break
        losses.append(total / seen)
        print(f"epoch {epoch:3d}  loss (negative ELBO per image) {losses[-1]:.3f}")
        if args.steps is not None and step >= args.steps:
            break
    after = reconstruction_error(model, test)
    print(f"reconstruction error (test MSE per pixel): {before:.4f} before training, {after:.4f} after")
    return {"losses": losses, "before": before, "after": after}


if __name__ == "__main__":
    main()
