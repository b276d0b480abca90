"""The MPI backend: ember's collectives as mpi4py's non-blocking ones (Iallreduce, Ibcast, Iallgather,
Ireduce_scatter_block, Ibarrier) on buffers passed by the buffer protocol, with no pickling."""
import numpy as np

from .ops import ReduceOp
from .staging import Staged, contiguous_host
from .work import Work


def _types(MPI):
    return {"float32": MPI.FLOAT, "float64": MPI.DOUBLE, "int64": MPI.INT64_T, "int32": MPI.INT32_T,
            "int16": MPI.INT16_T, "int8": MPI.INT8_T, "uint8": MPI.UINT8_T, "bool": MPI.C_BOOL}


def _ops(MPI):
    arith = {ReduceOp.SUM: MPI.SUM, ReduceOp.AVG: MPI.SUM, ReduceOp.PRODUCT: MPI.PROD, ReduceOp.MAX: MPI.MAX,
             ReduceOp.MIN: MPI.MIN}
    # MPI reduces C_BOOL only with logical ops: a sum or max of booleans is their "or", as in PyTorch
    logical = {ReduceOp.SUM: MPI.LOR, ReduceOp.MAX: MPI.LOR, ReduceOp.PRODUCT: MPI.LAND, ReduceOp.MIN: MPI.LAND}
    return arith, logical


class MpiBackend:
    def __init__(self, group):
        from mpi4py import MPI
        self.group, self.comm, self.MPI = group, group.comm, MPI
        self.types = _types(MPI)
        self.arith_ops, self.logical_ops = _ops(MPI)

    def close(self):
        pass

    def _work(self, req, what, on_done=None):
        return Work(req.Test, self.group.timeout, f"{what} (rank {self.group.rank} of {self.group.size})", on_done)

    def _typed(self, staged, what):
        a = staged.array
        dt = self.types.get(a.dtype.name)
        if dt is None:
            raise TypeError(f"[{what}] dtype {a.dtype} cannot be reduced over MPI; "
                            f"supported: {', '.join(self.types)}, float16, bfloat16")
        return [a, dt]

    def _op(self, op, dtype):
        return (self.logical_ops if dtype == np.bool_ else self.arith_ops)[op]

    def _finish_reduce(self, staged, op):
        def done():
            if op is ReduceOp.AVG:
                staged.array /= self.group.size
            staged.put()
        return done

    def all_reduce(self, t, op):
        s = Staged(t, reduce=True)
        req = self.comm.Iallreduce(self.MPI.IN_PLACE, self._typed(s, "all_reduce"), self._op(op, s.array.dtype))
        return self._work(req, "all_reduce", self._finish_reduce(s, op))

    def broadcast(self, t, src):
        s = Staged(t, reduce=False)
        req = self.comm.Ibcast([s.bytes(), self.MPI.BYTE], root=src)
        return self._work(req, "broadcast", s.put)

    def all_gather(self, tensor_list, t):
        send = contiguous_host(t)
        recv = np.empty((self.group.size,) + send.shape, dtype=send.dtype)
        req = self.comm.Iallgather([send.reshape(-1).view(np.uint8), self.MPI.BYTE],
                                   [recv.reshape(-1).view(np.uint8), self.MPI.BYTE])

        def done():
            for i, out in enumerate(tensor_list):
                out._data[...] = out._backend.from_host(recv[i])
        return self._work(req, "all_gather", done)

    def reduce_scatter(self, output, input_list, op):
        out = Staged(output, reduce=True)
        send = np.concatenate([Staged(x, reduce=True).array.reshape(-1) for x in input_list])
        dt = self._typed(out, "reduce_scatter")[1]
        req = self.comm.Ireduce_scatter_block([send, dt], [out.array, dt], self._op(op, send.dtype))
        return self._work(req, "reduce_scatter", self._finish_reduce(out, op))

    def barrier(self):
        return self._work(self.comm.Ibarrier(), "barrier")
