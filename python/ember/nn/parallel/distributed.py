"""DistributedDataParallel: one model replica per rank, gradients averaged across ranks during backward."""
import contextlib

from ...distributed import broadcast, default_group, get_world_size
from ...tensor import Tensor
from ..module import Module
from .reducer import Reducer


def _broadcast_coalesced(tensors, src=0):
    """Broadcast tensors from src, one flat message per dtype and device instead of one per tensor."""
    groups = {}
    for t in tensors:
        groups.setdefault((t.dtype, t._backend.name), []).append(t)
    for ts in groups.values():
        xp, be = ts[0]._backend.xp, ts[0]._backend
        flat = Tensor._wrap(xp.concatenate([t._data.reshape(-1) for t in ts]), be)
        broadcast(flat, src)
        off = 0
        for t in ts:
            n = t.numel()
            t._data[...] = flat._data[off:off + n].reshape(t.shape)
            off += n


def _check_same_layout(names, params, reducer):
    """Every rank must have the same parameters and buckets, else collectives would pair wrong buffers."""
    mine = {"params": [(n, tuple(p.shape), p.dtype.str) for n, p in zip(names, params)],
            "buckets": [(len(b.params), b.buffer.size, b.buffer.dtype.str) for b in reducer.buckets]}
    everyone = default_group().comm.allgather(mine)
    for rank, theirs in enumerate(everyone):
        if theirs == everyone[0]:
            continue
        diff = next((f"parameter {i}: {a} on rank 0, {b} on rank {rank}"
                     for i, (a, b) in enumerate(zip(everyone[0]["params"], theirs["params"])) if a != b),
                    f"{len(everyone[0]['params'])} parameters on rank 0, {len(theirs['params'])} on rank {rank}")
        raise ValueError(
            f"[DistributedDataParallel] rank {rank}'s model differs from rank 0's ({diff}); buckets "
            f"(count, elements, dtype) rank 0 {everyone[0]['buckets']}, rank {rank} {theirs['buckets']}. "
            "Every rank must build the same model.")


class DistributedDataParallel(Module):
    """Data parallelism: every rank runs `module` on its own batch; backward averages the gradients.

    Rank 0's parameters and buffers are copied to every rank at construction. During backward the
    gradients are averaged in buckets of about bucket_cap_mb, each bucket's all-reduce starting as
    soon as its last gradient is ready, so communication overlaps the rest of backward.

    Args:
        module: the model (the same on every rank).
        bucket_cap_mb: the bucket size in MiB.
        broadcast_buffers: copy rank 0's buffers (BatchNorm's running statistics) to every rank at each
            training forward.
        device_ids, output_device, find_unused_parameters: accepted for PyTorch compatibility; parameters
            without a gradient in a step are always handled (they take part as zeros).
    Example:
        model = DistributedDataParallel(model)
        loss_fn(model(x), y).backward()   # .grad is averaged over the ranks when backward returns
    """

    def __init__(self, module, device_ids=None, output_device=None, broadcast_buffers=True, bucket_cap_mb=25,
                 find_unused_parameters=False):
        super().__init__()
        if not isinstance(module, Module):
            raise TypeError(f"[DistributedDataParallel] module must be an ember.nn.Module, got {type(module).__name__}")
        if not isinstance(bucket_cap_mb, (int, float)) or bucket_cap_mb <= 0:
            raise ValueError(f"[DistributedDataParallel] bucket_cap_mb must be positive, got {bucket_cap_mb!r}")
        default_group()  # raises when no process group is initialized
        self.module = module
        self.broadcast_buffers = broadcast_buffers
        named, seen = [], set()
        for n, p in module.named_parameters():
            if p.requires_grad and id(p) not in seen:
                seen.add(id(p))
                named.append((n, p))
        named.reverse()
        names, params = [n for n, _ in named], [p for _, p in named]
        self._reducer = Reducer(params, int(bucket_cap_mb * 2 ** 20))
        try:
            _check_same_layout(names, params, self._reducer)
        except ValueError:
            self._reducer.remove()
            raise
        _broadcast_coalesced(list(module.state_dict().values()))
        module_attached = module.__dict__.setdefault("_ddp_wrappers", [])
        module_attached.append(self)

    def forward(self, *args, **kwargs):
        if self.broadcast_buffers and self.training and get_world_size() > 1:
            buffers = list(self.module.buffers())
            if buffers:
                _broadcast_coalesced(buffers)
        return self.module(*args, **kwargs)

    @contextlib.contextmanager
    def no_sync(self):
        """Inside, backward accumulates gradients locally; the first backward after it averages the sum."""
        before, self._reducer.enabled = self._reducer.enabled, False
        try:
            yield
        finally:
            self._reducer.enabled = before

    def state_dict(self):
        """The wrapped model's state_dict, with its own names (no "module." prefix)."""
        return self.module.state_dict()

    def load_state_dict(self, state_dict, strict=True):
        """Load into the wrapped model; keys saved from a PyTorch DDP ("module.x") are accepted too."""
        if state_dict and all(k.startswith("module.") for k in state_dict):
            state_dict = {k[len("module."):]: v for k, v in state_dict.items()}
        return self.module.load_state_dict(state_dict, strict)

    def detach_hooks(self):
        """Stop averaging gradients (the module trains alone again)."""
        self._reducer.remove()
        wrappers = self.module.__dict__.get("_ddp_wrappers", [])
        if self in wrappers:
            wrappers.remove(self)

    def extra_repr(self):
        sizes = [b.nbytes() for b in self._reducer.buckets]
        return f"buckets={len(sizes)}, bucket_bytes={sizes}"
