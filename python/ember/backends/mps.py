"""torch.backends.mps's questions, so device-picking code (`"mps" if ...is_available() else "cpu"`)
runs unchanged: ember has no Apple-GPU backend."""


def is_available():
    return False


def is_built():
    return False
