"""Host staging for MPI: a tensor's data as a C-contiguous host array that MPI can read and write.

A contiguous cpu tensor is handed to MPI as is (its own memory, through the buffer protocol); a
non-contiguous one, a cuda one, or a dtype MPI cannot reduce (float16, bfloat16: widened to float32)
goes through a copy that put() writes back.
"""
import numpy as np

WIDENED = ("float16", "bfloat16")


class Staged:
    def __init__(self, t, reduce):
        a, self.t, self.copied = t._data, t, False
        if not t._backend.host:
            a, self.copied = t._backend.to_host(a), True
        elif not a.flags.c_contiguous:
            a, self.copied = np.ascontiguousarray(a), True
        if reduce and a.dtype.name in WIDENED:
            a, self.copied = a.astype(np.float32), True
        self.array = a

    def bytes(self):
        """The array's memory as bytes (broadcast and gather move any dtype as raw bytes)."""
        return self.array.reshape(-1).view(np.uint8)

    def put(self):
        """Write the (communicated) array back into the tensor, when it was a copy."""
        if self.copied:
            t = self.t
            t._data[...] = t._backend.from_host(self.array.astype(t.dtype, copy=False))


def contiguous_host(t):
    a = t._backend.to_host(t._data)
    return np.ascontiguousarray(a)
