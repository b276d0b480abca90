"""The NCCL backend: ember's collectives on cuda tensors through CuPy's NCCL bindings
(cupy.cuda.nccl.NcclCommunicator), one GPU per rank, launched on CuPy's current stream (ember's).

The unique id that joins the ranks' communicators is made on rank 0 and shared over MPI. A collective's
Work records a CUDA event after the launch and polls it against the group's timeout.
"""
from .ops import ReduceOp
from .work import Work


def _nccl():
    try:
        from cupy.cuda import nccl
    except ImportError as e:
        raise RuntimeError(f"the nccl backend needs CuPy with NCCL (pip install 'ember[cuda]' nvidia-nccl-cu13): {e}"
                           ) from None
    if not getattr(nccl, "available", True):
        raise RuntimeError("the nccl backend: CuPy was built without NCCL")
    return nccl


class NcclBackend:
    def __init__(self, group):
        import cupy
        nccl = _nccl()
        self.group, self.cupy, self.nccl = group, cupy, nccl
        cupy.cuda.Device(group.local_rank % cupy.cuda.runtime.getDeviceCount()).use()
        uid = nccl.get_unique_id() if group.rank == 0 else None
        uid = group.comm.bcast(uid, root=0)  # 128 bytes, once: the only pickled message
        self.comm = nccl.NcclCommunicator(group.size, uid, group.rank)
        self.types = {"float32": nccl.NCCL_FLOAT32, "float64": nccl.NCCL_FLOAT64, "float16": nccl.NCCL_FLOAT16,
                      "int64": nccl.NCCL_INT64, "int32": nccl.NCCL_INT32, "int8": nccl.NCCL_INT8,
                      "uint8": nccl.NCCL_UINT8}
        if hasattr(nccl, "NCCL_BFLOAT16"):
            self.types["bfloat16"] = nccl.NCCL_BFLOAT16
        self.avg = getattr(nccl, "NCCL_AVG", None)  # NCCL >= 2.10; else a sum, then a division
        self.ops = {ReduceOp.SUM: nccl.NCCL_SUM, ReduceOp.PRODUCT: nccl.NCCL_PROD, ReduceOp.MAX: nccl.NCCL_MAX,
                    ReduceOp.MIN: nccl.NCCL_MIN, ReduceOp.AVG: self.avg if self.avg is not None else nccl.NCCL_SUM}

    def close(self):
        self.comm.destroy()

    # ---- helpers ---------------------------------------------------------------------
    def _device_array(self, t, what):
        """(contiguous cupy array of t, whether it is a copy to write back)."""
        if t._backend.host:
            raise TypeError(f"[{what}] the nccl backend works on cuda tensors, got one on {t.device}; "
                            "use backend='mpi' for host tensors")
        a = t._data
        if a.flags.c_contiguous:
            return a, False
        return self.cupy.ascontiguousarray(a), True

    def _dtype(self, a, op, what):
        """(array NCCL can take, its NCCL type, the op): booleans travel as uint8 (sum/max = or)."""
        if a.dtype == bool:
            a = a.view(self.cupy.uint8)
            if op is not None:
                op = ReduceOp.MAX if op in (ReduceOp.SUM, ReduceOp.MAX) else ReduceOp.MIN
        dt = self.types.get(a.dtype.name)
        if dt is None:
            raise TypeError(f"[{what}] dtype {a.dtype} is not supported by NCCL; supported: {', '.join(self.types)}")
        return a, dt, op

    def _work(self, what, on_done=None):
        event = self.cupy.cuda.Event(block=False, disable_timing=True)
        event.record()
        return Work(lambda: event.done, self.group.timeout, f"{what} (rank {self.group.rank} of {self.group.size})",
                    on_done)

    @staticmethod
    def _stream():
        import cupy
        return cupy.cuda.get_current_stream().ptr

    def _finish(self, t, a, copied, op):
        def done():
            if op is ReduceOp.AVG and self.avg is None:
                a[...] = a / self.group.size
            if copied:
                t._data[...] = a
        return done

    # ---- collectives -----------------------------------------------------------------
    def all_reduce(self, t, op):
        a, copied = self._device_array(t, "all_reduce")
        buf, dt, nop = self._dtype(a, op, "all_reduce")
        self.comm.allReduce(buf.data.ptr, buf.data.ptr, buf.size, dt, self.ops[nop], self._stream())
        return self._work("all_reduce", self._finish(t, a, copied, op))

    def broadcast(self, t, src):
        a, copied = self._device_array(t, "broadcast")
        buf = a.reshape(-1).view(self.cupy.uint8)
        self.comm.broadcast(buf.data.ptr, buf.data.ptr, buf.size, self.nccl.NCCL_UINT8, src, self._stream())
        return self._work("broadcast", self._finish(t, a, copied, None))

    def all_gather(self, tensor_list, t):
        a, _ = self._device_array(t, "all_gather")
        recv = self.cupy.empty((self.group.size,) + a.shape, dtype=a.dtype)
        send_bytes, recv_bytes = a.reshape(-1).view(self.cupy.uint8), recv.reshape(-1).view(self.cupy.uint8)
        self.comm.allGather(send_bytes.data.ptr, recv_bytes.data.ptr, send_bytes.size, self.nccl.NCCL_UINT8,
                            self._stream())

        def done():
            for i, out in enumerate(tensor_list):
                out._data[...] = recv[i]
        return self._work("all_gather", done)

    def reduce_scatter(self, output, input_list, op):
        a, copied = self._device_array(output, "reduce_scatter")
        send = self.cupy.concatenate([self._device_array(x, "reduce_scatter")[0].reshape(-1) for x in input_list])
        out, dt, nop = self._dtype(a, op, "reduce_scatter")
        send = self._dtype(send, op, "reduce_scatter")[0]
        self.comm.reduceScatter(send.data.ptr, out.data.ptr, out.size, dt, self.ops[nop], self._stream())
        return self._work("reduce_scatter", self._finish(output, a, copied, op))

    def barrier(self):
        # NCCL has no barrier: a one-element all-reduce orders every rank's stream the same way
        token = self.cupy.zeros(1, dtype=self.cupy.float32)
        self.comm.allReduce(token.data.ptr, token.data.ptr, 1, self.nccl.NCCL_FLOAT32, self.nccl.NCCL_SUM,
                            self._stream())
        return self._work("barrier")
