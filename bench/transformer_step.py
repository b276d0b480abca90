"""The Transformer-encoder rows of bench_attention.py: one training step, float32, ember vs PyTorch.

A step: forward through an nn.TransformerEncoder (pre-norm layers, batch_first, causal mask,
dropout 0 so both compute the same thing), a loss on the whole output, backward, Adam's update.
Rows: the model sizes below (layers, d_model, heads, feed-forward, batch N, length T).
Columns: milliseconds per step (median), ember's GFLOP/s (the layers' matrix products and
attention, forward + backward = 3x forward), and ember/torch time (< 1: ember is faster).
Ember's encoder is first checked against torch's with the same weights (copied by name), output
and gradients. GPU rows (ember cuda vs torch cuda) when a GPU is usable.

Run:  python bench/bench_attention.py (these rows come after its tables), or on their own
      python bench/transformer_step.py [--small]     (OMP_NUM_THREADS=n pins both to n threads)
"""
import argparse
import os

import numpy as np

from common import RATIO_NOTE, check_close, gpu, gpu_timeit, ratio, ratio_col, report, timeit, torch_or_none

import ember as em

torch = torch_or_none()
if torch is not None and os.environ.get("OMP_NUM_THREADS"):
    torch.set_num_threads(int(os.environ["OMP_NUM_THREADS"]))

# (layers, d_model, heads, feed-forward, N, T)
SIZES = [(2, 256, 8, 1024, 16, 128), (2, 512, 8, 2048, 8, 256)]
SMALL = [(1, 32, 4, 64, 2, 16)]


def flops(layers, d, heads, ff, n, t):
    proj = 2 * n * t * d * (4 * d + 2 * ff)   # q, k, v, out projections and the two feed-forward products
    attn = 2 * 2 * n * t * t * d              # Q K^T and P V over all heads
    return 3 * layers * (proj + attn)


def build(mod, size):
    layers, d, heads, ff, _, _ = size
    layer = mod.nn.TransformerEncoderLayer(d, heads, dim_feedforward=ff, dropout=0.0, batch_first=True,
                                           norm_first=True)
    return mod.nn.TransformerEncoder(layer, layers, norm=mod.nn.LayerNorm(d), **(
        {"enable_nested_tensor": False} if mod is torch else {}))


def step(mod, model, opt, x, mask, weight):
    def run():
        opt.zero_grad()
        loss = (model(x, mask=mask, is_causal=True) * weight).sum()
        loss.backward()
        opt.step()
    return run


def check(e_model, t_model, x, device):
    """ember's output and input gradient equal torch's (same weights), before anything is timed."""
    t = x.shape[1]
    w = np.random.default_rng(1).standard_normal(x.shape).astype(np.float32)
    xe = em.tensor(x, device=device, requires_grad=True)
    xt = torch.tensor(x, requires_grad=True)
    me = em.nn.Transformer.generate_square_subsequent_mask(t, device=device)
    mt = torch.nn.Transformer.generate_square_subsequent_mask(t)
    oe, ot = e_model(xe, mask=me, is_causal=True), t_model(xt, mask=mt, is_causal=True)
    check_close("encoder output", oe, ot, rtol=1e-3, atol=1e-4)
    (oe * em.tensor(w, device=device)).sum().backward()
    (ot * torch.from_numpy(w)).sum().backward()
    check_close("input gradient", xe.grad, xt.grad, rtol=1e-3, atol=1e-4)


def time_step(run, device):
    return gpu_timeit(run, repeat=10) if device == "cuda" else timeit(run, repeat=5, warmup=1)


def case(size, device, rows, g):
    layers, d, heads, ff, n, t = size
    rng = np.random.default_rng(0)
    x = rng.standard_normal((n, t, d)).astype(np.float32)
    w = rng.standard_normal((n, t, d)).astype(np.float32)
    em.manual_seed(0)
    e_model = build(em, size).to(device)
    t_model = None
    if torch is not None:
        torch.manual_seed(0)
        t_model = build(torch, size)
        e_model.load_state_dict({k: v.detach().numpy() for k, v in t_model.state_dict().items()})
        check(e_model, t_model, x, device)
    row = {"model": f"L={layers} d={d} h={heads} ff={ff} N={n} T={t}", "device": device}
    mask = em.nn.Transformer.generate_square_subsequent_mask(t, device=device)
    e_run = step(em, e_model, em.optim.Adam(e_model.parameters(), lr=1e-4), em.tensor(x, device=device), mask,
                 em.tensor(w, device=device))
    row["ember_ms"] = time_step(e_run, device) * 1e3
    row["GFLOP/s"] = flops(*size) / row["ember_ms"] / 1e6
    tdev = "cuda" if device == "cuda" else "cpu"
    if t_model is not None and (device != "cuda" or (g is not None and g[2] is not None)):
        t_model = t_model.to(tdev)
        t_run = step(torch, t_model, torch.optim.Adam(t_model.parameters(), lr=1e-4),
                     torch.tensor(x, device=tdev), torch.nn.Transformer.generate_square_subsequent_mask(t, device=tdev),
                     torch.tensor(w, device=tdev))
        row["torch_ms"] = time_step(t_run, device) * 1e3
        row[ratio_col("torch")] = ratio(row["ember_ms"], row["torch_ms"])
    rows.append(row)


COLUMNS = ["model", "device", "ember_ms", "torch_ms", ratio_col("torch"), "GFLOP/s"]


def encoder_rows(sizes):
    """One row per size on the CPU, and on the GPU when one is usable."""
    rows, g = [], gpu()
    for size in sizes:
        case(size, "cpu", rows, g)
        if g is not None:
            case(size, "cuda", rows, g)
    return rows


def report_rows(rows):
    notes = [f"one Transformer-encoder training step (forward, backward, Adam), float32, causal, "
             f"{os.environ.get('OMP_NUM_THREADS', os.cpu_count())} threads", RATIO_NOTE]
    report("bench_attention_encoder", COLUMNS, rows, notes)


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--small", action="store_true", help="one tiny model, for a smoke run")
    args = p.parse_args(argv)
    rows = encoder_rows(SMALL if args.small else SIZES)
    report_rows(rows)
    return rows


if __name__ == "__main__":
    main()
