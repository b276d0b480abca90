"""DataLoader throughput: one epoch of a dataset with CPU work per sample (bench/dataloader_work.py),
in the main process and with 2 worker processes (started per epoch, or persistent), ember vs
torch.utils.data (time per epoch; ember/torch time < 1: ember faster). The batches are checked
against torch's first. On a machine with fewer free cores than workers the speed-up shrinks.

    python bench/bench_dataloader.py
"""
import numpy as np

from common import RATIO_NOTE, check_close, ratio, ratio_col, report, timeit, torch_or_none
from dataloader_work import Work

import ember as em


def epoch(loader):
    return sum(int(y.numpy().sum()) for _, y in loader)


def main():
    torch = torch_or_none()
    data = torch.utils.data if torch is not None else None
    ds = Work()
    cases = {"in process": dict(), "2 workers": dict(num_workers=2),
             "2 persistent workers": dict(num_workers=2, persistent_workers=True)}
    rows = []
    for name, kw in cases.items():
        mine = em.data.DataLoader(ds, batch_size=8, **kw)
        peer = data.DataLoader(ds, batch_size=8, **kw) if data else None
        if peer is not None:
            check_close(name, next(iter(mine))[0], next(iter(peer))[0])
        t = timeit(lambda: epoch(mine), repeat=3, warmup=1, min_time=0)
        tp = timeit(lambda: epoch(peer), repeat=3, warmup=1, min_time=0) if peer else None
        rows.append({"case": name, "ember_ms": t * 1e3, "torch_ms": tp * 1e3 if tp else None,
                     ratio_col("torch"): ratio(t, tp)})
    base = rows[0]["ember_ms"]
    for r in rows:
        r["speed-up"] = base / r["ember_ms"]
    report("dataloader", ["case", "ember_ms", "torch_ms", "speed-up", ratio_col("torch")], rows,
           notes=[f"one epoch: {len(ds)} samples, batch 8; speed-up: in-process time / this time", RATIO_NOTE])
    return rows


if __name__ == "__main__":
    np.seterr(all="ignore")
    main()
