"""The dataset bench_dataloader.py loads: in a module of its own so worker processes can import it
(a class in the bench script would be __main__'s, which run_all.py replaces)."""
import numpy as np


class Work:
    """Sample i: a (32, 32) float32 image after `rounds` FFT round trips (CPU work per sample, as a decoder's)."""

    def __init__(self, n=96, rounds=30):
        self.n, self.rounds = n, rounds

    def __len__(self):
        return self.n

    def __getitem__(self, i):
        x = np.random.default_rng(i).standard_normal((32, 32))
        for _ in range(self.rounds):
            x = np.fft.ifft2(np.fft.fft2(x)).real
        return x.astype(np.float32), i
