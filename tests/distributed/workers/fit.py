"""Module.fit under a process group: 2 ranks with per-rank batches of B equal one process with 2B.

argv: mode (full | killed | resume | compare) and a directory for checkpoints and results.
"""
import glob
import os
import signal
import sys

import ember as em
import ember.distributed as dist
import numpy as np
from common import ok, start
from ember import nn
from ember.train import LambdaCallback, ModelCheckpoint

mode, out = sys.argv[1], sys.argv[2]
rank, size = start()
EPOCHS, BATCH = 4, 6


def data():
    rng = np.random.default_rng(3)
    x = rng.standard_normal((48, 6)).astype(np.float32)
    y = (x[:, 0] + x[:, 1] > 0).astype(np.int64) + 2 * (x[:, 2] > 0)
    return x, y, x[:7] * 1.5, y[:7]   # 7 validation samples: uneven across 2 ranks


def model(optimizer="sgd"):
    em.manual_seed(5)
    m = nn.Sequential(nn.Linear(6, 16), nn.Tanh(), nn.Linear(16, 4))
    m.compile(optimizer=optimizer, loss="cross_entropy", metrics=["accuracy"], lr=0.2 if optimizer == "sgd" else 0.01)
    return m


def weights(m):
    return np.concatenate([p.numpy().reshape(-1) for p in m.parameters()])


x, y, xv, yv = data()
if mode == "compare":
    # the 2-rank fit against one process: per-rank batches of BATCH, unshuffled shards, equal one process
    # taking 2 * BATCH rows in order; the validation sums over both ranks' shards are exact
    m = model()
    h = m.fit(x, y, epochs=2, batch_size=BATCH, shuffle=False, validation_data=(xv, yv), verbose=2)
    dist.destroy_process_group()
    m1 = model()
    h1 = m1.fit(x, y, epochs=2, batch_size=BATCH * size, shuffle=False, validation_data=(xv, yv), verbose=0)
    np.testing.assert_allclose(weights(m), weights(m1), rtol=1e-5, atol=1e-6)
    for k in ("val_loss", "val_accuracy", "loss"):
        np.testing.assert_allclose(h.history[k], h1.history[k], rtol=1e-5, err_msg=k)
    assert not m.__dict__.get("_ddp_wrappers"), "fit left its DDP hooks on the model"
    os.write(sys.stdout.fileno(), f"OK compare rank {rank}\n".encode())
    sys.exit(0)

m = model("adam")  # the resume restores Adam's moments too
callbacks = [ModelCheckpoint(os.path.join(out, "ckpt-{epoch}.safetensors"), save_optimizer=True)]
if mode == "killed":
    def die(epoch, logs):
        if epoch == 1:
            dist.barrier()   # rank 0 has written the epoch-2 checkpoint
            if rank == 1:
                os.kill(os.getpid(), signal.SIGKILL)
    callbacks.append(LambdaCallback(on_epoch_end=die))
    m.fit(x, y, epochs=EPOCHS, batch_size=BATCH, seed=11, callbacks=callbacks, verbose=0)
    raise AssertionError("the job went on after rank 1 was killed")
if mode == "resume":
    last = max(glob.glob(os.path.join(out, "ckpt-*.safetensors")), key=lambda p: int(p.split("-")[-1].split(".")[0]))
    done = ModelCheckpoint.restore(m, last)
    m.fit(x, y, epochs=EPOCHS, batch_size=BATCH, seed=11, initial_epoch=done, verbose=0)
    resumed = weights(m)
    m = model("adam")
    m.fit(x, y, epochs=EPOCHS, batch_size=BATCH, seed=11, verbose=0)
    np.testing.assert_array_equal(resumed, weights(m))
    ok(f"resumed from epoch {done}")
