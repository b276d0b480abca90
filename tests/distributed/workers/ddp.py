"""DistributedDataParallel on 2 ranks against one process on the concatenated batch."""
import ember as em
import ember.distributed as dist
import numpy as np
from common import close, ok, same_on_all_ranks, start
from ember import nn
from ember.cli import _row_lstm
from ember.nn.parallel import DistributedDataParallel as DDP

rank, size = start()
SEED, LOCAL, STEPS = 1234, 4, 3


def mlp():
    return nn.Sequential(nn.Linear(6, 16), nn.Tanh(), nn.Linear(16, 4))


def cnn():
    return nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(), nn.Linear(64, 4))


def lstm():
    return _row_lstm(nn, 6, 4, hidden=8)


def cnn_bn(bn):
    return nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), bn(4), nn.ReLU(), nn.Flatten(), nn.Linear(256, 4))


INPUTS = {"mlp": (6,), "cnn": (1, 8, 8), "lstm": (5, 6), "cnn_bn": (1, 8, 8)}


def batches(kind, steps, per_step):
    rng = np.random.default_rng(7)
    for _ in range(steps):
        yield (rng.standard_normal((per_step,) + INPUTS[kind]).astype(np.float32),
               rng.integers(0, 4, per_step))


def replica(build):
    """This rank's model (its own init: DDP must replace it by rank 0's) and the reference (rank 0's init)."""
    em.manual_seed(SEED + rank)
    mine = build()
    em.manual_seed(SEED)
    return mine, build()


def step(model, opt, x, y, scale=1.0):
    loss = nn.CrossEntropyLoss()(model(em.tensor(x)), em.tensor(y)) * scale
    loss.backward()
    return loss


def compare(kind, model, ref):
    for (n, p), (_, q) in zip(model.named_parameters(), ref.named_parameters()):
        same_on_all_ranks(p.numpy(), f"{kind} {n}")
        close(p.numpy(), q.numpy(), f"{kind} {n} against one process")


def train_equals_one_process(kind, build, ref_build=None):
    mine, ref = replica(build)
    if ref_build is not None:
        em.manual_seed(SEED)
        ref = ref_build()
    model = DDP(mine)
    opt, ref_opt = em.optim.SGD(model.parameters(), lr=0.1), em.optim.SGD(ref.parameters(), lr=0.1)
    for x, y in batches(kind, STEPS, LOCAL * size):
        part = slice(rank * LOCAL, (rank + 1) * LOCAL)
        opt.zero_grad()
        step(model, opt, x[part], y[part])
        opt.step()
        ref_opt.zero_grad()
        step(ref, ref_opt, x, y)
        ref_opt.step()
    compare(kind, model.module, ref)
    return model, ref


for kind, build in (("mlp", mlp), ("cnn", cnn), ("lstm", lstm)):
    train_equals_one_process(kind, build)
    ok(f"ddp {kind}")

# SyncBatchNorm: statistics over both ranks' halves equal BatchNorm's over the whole batch
model, ref = train_equals_one_process("cnn_bn", lambda: nn.SyncBatchNorm.convert_sync_batchnorm(cnn_bn(nn.BatchNorm2d)),
                                      lambda: cnn_bn(nn.BatchNorm2d))
assert isinstance(model.module[1], nn.SyncBatchNorm)
close(model.module[1].running_mean.numpy(), ref[1].running_mean.numpy(), "SyncBatchNorm running_mean")
close(model.module[1].running_var.numpy(), ref[1].running_var.numpy(), "SyncBatchNorm running_var")
ok("sync batchnorm")

# no_sync: two local micro-batches accumulate, the second backward averages the sum
mine, ref = replica(mlp)
model = DDP(mine)
opt, ref_opt = em.optim.SGD(model.parameters(), lr=0.1), em.optim.SGD(ref.parameters(), lr=0.1)
for x, y in batches("mlp", STEPS, 2 * LOCAL * size):
    opt.zero_grad()
    mine_rows = [slice((2 * rank + m) * LOCAL, (2 * rank + m + 1) * LOCAL) for m in range(2)]
    with model.no_sync():
        step(model, opt, x[mine_rows[0]], y[mine_rows[0]], 0.5)
    local = [p.grad.numpy().copy() for p in model.parameters()]
    step(model, opt, x[mine_rows[1]], y[mine_rows[1]], 0.5)
    opt.step()
    ref_opt.zero_grad()
    step(ref, ref_opt, x, y)
    ref_opt.step()
compare("no_sync", model.module, ref)
everyone = dist.default_group().comm.allgather(local[0])
assert not np.array_equal(everyone[0], everyone[1]), "no_sync averaged the gradients"
ok("no_sync")


class Branchy(nn.Module):
    """A trunk, a head only rank 1 uses, and a layer nobody uses."""

    def __init__(self):
        super().__init__()
        self.trunk, self.head_a, self.head_b, self.unused = nn.Linear(6, 8), nn.Linear(8, 4), nn.Linear(8, 4), \
            nn.Linear(8, 4)

    def forward(self, x, use_b):
        h = self.trunk(x).tanh()
        return self.head_b(h) if use_b else self.head_a(h)


mine, ref = replica(Branchy)
model = DDP(mine)
opt, ref_opt = em.optim.SGD(model.parameters(), lr=0.1), em.optim.SGD(ref.parameters(), lr=0.1)
loss_fn = nn.CrossEntropyLoss()
for x, y in batches("mlp", STEPS, LOCAL * size):
    opt.zero_grad()
    part = slice(rank * LOCAL, (rank + 1) * LOCAL)
    loss_fn(model(em.tensor(x[part]), rank == 1), em.tensor(y[part])).backward()
    opt.step()
    ref_opt.zero_grad()
    halves = [loss_fn(ref(em.tensor(x[r * LOCAL:(r + 1) * LOCAL]), r == 1), em.tensor(y[r * LOCAL:(r + 1) * LOCAL]))
              for r in range(size)]
    ((halves[0] + halves[1]) * 0.5).backward()
    ref_opt.step()
    assert model.module.unused.weight.grad is None, "a parameter no rank used got a gradient"
compare("unused branch", model.module, ref)
ok("unused branch")

# overlap: bucket 0's all-reduce starts while backward still has later buckets' gradients to compute
em.manual_seed(SEED)
deep = DDP(nn.Sequential(*[layer for _ in range(6) for layer in (nn.Linear(64, 64), nn.Tanh())]), bucket_cap_mb=0.02)
buckets = deep._reducer.buckets
assert len(buckets) >= 3, [b.nbytes() for b in buckets]
deep._reducer.trace = []
deep(em.randn(8, 64)).sum().backward()
trace = deep._reducer.trace
first_start = next(t for e, b, t in trace if e == "start" and b == 0)
last_ready = max(t for e, b, t in trace if e == "ready" and b == len(buckets) - 1)
assert first_start < last_ready, trace
assert [b for e, b, _ in trace if e == "start"] == list(range(len(buckets))), "buckets started out of order"
assert all(b.flat.numel() > 0 for b in buckets)
ok(f"overlap: bucket 0 started {1e3 * (last_ready - first_start):.3f} ms before the last gradient was ready")

# state_dict: the wrapped model's names
assert list(model.state_dict()) == list(model.module.state_dict())
model.load_state_dict({f"module.{k}": v for k, v in model.state_dict().items()})
ok("state_dict names")

# ranks whose models differ get a clear error instead of a hang
em.manual_seed(SEED)
try:
    DDP(nn.Linear(5, 3 + rank))
    raise AssertionError("different models on the ranks did not raise")
except ValueError as e:
    assert "differs from rank 0" in str(e), e
ok("fingerprint")
