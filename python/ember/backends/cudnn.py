"""torch.backends.cudnn's flags, so scripts that set them run unchanged.

ember's CUDA kernels are its own (no cuDNN), so the flags change nothing: `benchmark` has no
algorithms to choose among and the kernels give the same result on every run whatever
`deterministic` says.
"""
benchmark = False
deterministic = False
enabled = True
allow_tf32 = True


def is_available():
    """False: ember does not call cuDNN."""
    return False


def version():
    return None
