"""Benchmark of the recurrent layers, forward + backward, float32: ember vs PyTorch.

Rows: LSTM, GRU and RNN (tanh), input 28 -> hidden 128, T = 28 steps, batch 64 (the
row-per-step digits/MNIST shape), one layer, a loss on the whole output sequence.
Columns: milliseconds per forward+backward (median), GFLOP/s for ember (the gate GEMMs
only: 3 x 2 T N (I + H) G H, forward plus backward), and ember/torch time (< 1: ember is
faster). Each ember layer is first checked against torch with the same
weights (copied by name). GPU rows (ember cuda vs torch cuda / cuDNN) when a GPU is usable.

Run:  python bench/bench_rnn.py            (OMP_NUM_THREADS=n pins both to n threads)
"""
import os

import numpy as np

from common import RATIO_NOTE, gpu, gpu_timeit, ratio, ratio_col, report, timeit, torch_or_none

import ember as em

torch = torch_or_none()
if torch is not None and os.environ.get("OMP_NUM_THREADS"):
    torch.set_num_threads(int(os.environ["OMP_NUM_THREADS"]))

I, H, T, N = 28, 128, 28, 64  # noqa: E741  (input size, as kernels.h names it)
GATES = {"LSTM": 4, "GRU": 3, "RNN": 1}


def flops(kind):
    return 3 * 2 * T * N * (I + H) * GATES[kind] * H


def ember_step(model, x):
    def run():
        for p in model.parameters():
            p.grad = None
        out, _ = model(x)
        out.sum().backward()
    return run


def torch_step(model, x):
    def run():
        model.zero_grad(set_to_none=True)
        out, _ = model(x)
        out.sum().backward()
    return run


def check(kind, e_model, t_model, x, device):
    out, _ = e_model(em.tensor(x, device=device))
    want, _ = t_model(torch.tensor(x, device="cuda" if device == "cuda" else "cpu"))
    err = np.abs(out.numpy() - want.detach().cpu().numpy()).max()
    assert err < 1e-4, f"{kind} on {device}: max |ember - torch| = {err:.2e}"


def main():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((T, N, I)).astype(np.float32)
    rows = []
    g = gpu()
    for kind in GATES:
        em.manual_seed(0)
        e_model = getattr(em.nn, kind)(I, H).to("cpu")
        row = {"layer": f"{kind}({I}->{H}) T={T} N={N}", "device": "cpu"}
        xe = em.tensor(x, device="cpu")
        t_model = None
        if torch is not None:
            t_model = getattr(torch.nn, kind)(I, H)
            e_model.load_state_dict({k: v.detach().numpy() for k, v in t_model.state_dict().items()})
            check(kind, e_model, t_model, x, "cpu")
        row["ember_ms"] = timeit(ember_step(e_model, xe), repeat=15) * 1e3
        row["GFLOP/s"] = flops(kind) / row["ember_ms"] / 1e6
        if t_model is not None:
            row["torch_ms"] = timeit(torch_step(t_model, torch.tensor(x)), repeat=15) * 1e3
            row[ratio_col("torch")] = ratio(row["ember_ms"], row["torch_ms"])
        rows.append(row)
        if g is not None:
            cupy, _, tcuda = g
            want = e_model(xe)[0].numpy()  # the CPU layer's output, checked above
            e_gpu = e_model.to("cuda")
            xg = em.tensor(x, device="cuda")
            err = np.abs(e_gpu(xg)[0].numpy() - want).max()
            assert err < 1e-4, f"{kind} on cuda: max |ember cuda - ember cpu| = {err:.2e}"
            grow = {"layer": row["layer"], "device": "cuda", "ember_ms": gpu_timeit(ember_step(e_gpu, xg)) * 1e3}
            grow["GFLOP/s"] = flops(kind) / grow["ember_ms"] / 1e6
            if tcuda is not None and t_model is not None:
                t_gpu = t_model.to("cuda")
                grow["torch_ms"] = gpu_timeit(torch_step(t_gpu, torch.tensor(x, device="cuda"))) * 1e3
                grow[ratio_col("torch")] = ratio(grow["ember_ms"], grow["torch_ms"])
            rows.append(grow)
    notes = [f"forward+backward, float32, {os.environ.get('OMP_NUM_THREADS', os.cpu_count())} threads; "
             "torch on cuda uses cuDNN", RATIO_NOTE]
    report("bench_rnn", ["layer", "device", "ember_ms", "torch_ms", ratio_col("torch"), "GFLOP/s"], rows, notes)


if __name__ == "__main__":
    main()
