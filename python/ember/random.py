"""One seeded generator for everything random in ember (creation, init, dropout, shuffling).

Random numbers are drawn on the host and moved to the device, so a seed gives
the same values on every device."""
import numpy as np

_rng = np.random.default_rng()


def manual_seed(seed):
    """Seed ember's generator; runs after the same seed repeat exactly."""
    global _rng
    if not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"[manual_seed] seed must be a non-negative int, got {seed!r}")
    _rng = np.random.default_rng(int(seed))


def generator():
    return _rng
