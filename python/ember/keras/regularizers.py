"""Weight penalties added to the training loss: keras.regularizers.L1, L2, L1L2 (and l1, l2, l1_l2).

    layers.Dense(64, kernel_regularizer=keras.regularizers.l2(0.01))   # adds 0.01 * sum(kernel ** 2)
"""
from .. import ops


class Regularizer:
    def __call__(self, w):
        raise NotImplementedError


class L1L2(Regularizer):
    """l1 * sum(|w|) + l2 * sum(w ** 2)."""

    def __init__(self, l1=0.0, l2=0.0):
        if l1 < 0 or l2 < 0:
            raise ValueError(f"[regularizers] l1 and l2 must be >= 0, got {l1}, {l2}")
        self.l1, self.l2 = float(l1), float(l2)

    def __call__(self, w):
        total = None
        if self.l1:
            total = ops.abs_(w).sum() * self.l1
        if self.l2:
            sq = (w * w).sum() * self.l2
            total = sq if total is None else total + sq
        return total if total is not None else (w * 0.0).sum()

    def get_config(self):
        return {"l1": self.l1, "l2": self.l2}


class L1(L1L2):
    def __init__(self, l1=0.01):
        super().__init__(l1=l1)


class L2(L1L2):
    def __init__(self, l2=0.01):
        super().__init__(l2=l2)


l1, l2, l1_l2 = L1, L2, L1L2


def get(identifier):
    """A regularizer from None, a name ('l1', 'l2', 'l1_l2'), a Regularizer or a function w -> scalar tensor."""
    if identifier is None:
        return None
    if isinstance(identifier, str):
        names = {"l1": L1, "l2": L2, "l1_l2": L1L2}
        if identifier.lower() not in names:
            raise ValueError(f"[regularizers] unknown regularizer '{identifier}'; known: l1, l2, l1_l2")
        return names[identifier.lower()]()
    if callable(identifier):
        return identifier
    raise TypeError(f"[regularizers] a regularizer must be a name or callable, got {type(identifier).__name__}")
