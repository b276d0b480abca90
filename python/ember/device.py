"""ember.device: PyTorch's device object, naming one of ember's devices.

    em.device("cpu"); em.device("cuda", 0); em.device("cuda:0"); x.device.type; x.device.index

The types are ember's device names: "cpu", "cuda" (as PyTorch's), and ember's own "numpy" (the
NumPy reference) and "cuda-emu" (the CUDA kernels emulated on the host). A device compares equal
to another device or a string naming the same type; an index that is None on either side
matches any index, so x.device == "cuda" and x.device == "cuda:0" both hold for a cuda tensor.
This module imports nothing from ember: the backends read devices through `parse`.
"""
TYPES = ("numpy", "cpu", "cuda", "cuda-emu")


def parse(spec, index=None):
    """(type, index) from a device string ('cuda', 'cuda:0') or a device, and an optional index."""
    if isinstance(spec, device):
        if index is not None:
            raise TypeError("[device] give the index in the device or as the second argument, not both")
        return spec.type, spec.index
    if not isinstance(spec, str):
        raise TypeError(f"[device] expected a device string such as 'cuda:0', got {type(spec).__name__}")
    name, sep, num = spec.partition(":")
    if name not in TYPES:
        raise ValueError(f"[device] unknown device type '{name}' in '{spec}'; known types: {', '.join(TYPES)}")
    if sep:
        if index is not None:
            raise TypeError(f"[device] '{spec}' already has an index; the second argument {index!r} repeats it")
        if not num.isdigit():
            raise ValueError(f"[device] invalid device string '{spec}': the index after ':' must be a "
                             f"non-negative int")
        return name, int(num)
    if index is not None and (isinstance(index, bool) or not isinstance(index, int)):
        raise TypeError(f"[device] index must be an int, got {type(index).__name__}")
    if index is not None and index < 0:
        raise ValueError(f"[device] index must not be negative, got {index}")
    return name, index


class device:
    """A device type and an optional index, as torch.device.

    Example:
        d = em.device("cuda:0")   # d.type == "cuda", d.index == 0, str(d) == "cuda:0"
    """
    __slots__ = ("_type", "_index")

    def __init__(self, type, index=None):
        self._type, self._index = parse(type, index)

    @property
    def type(self):
        return self._type

    @property
    def index(self):
        return self._index

    def __str__(self):
        return self._type if self._index is None else f"{self._type}:{self._index}"

    def __repr__(self):
        if self._index is None:
            return f"device(type='{self._type}')"
        return f"device(type='{self._type}', index={self._index})"

    def __eq__(self, other):
        if not isinstance(other, device):
            try:
                other = device(other)
            except (TypeError, ValueError):
                return NotImplemented
        return self._type == other._type and (self._index is None or other._index is None
                                              or self._index == other._index)

    def __hash__(self):
        # by type only: devices equal under the index wildcard must hash alike (and like their type string)
        return hash(self._type)
