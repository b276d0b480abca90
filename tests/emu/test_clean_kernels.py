"""Correct kernels give the NumPy answer under every schedule, with the memory
checks on, and the emulator reports nothing (tests/emu/kernels/clean_*.cu)."""
import numpy as np
import pytest

from conftest import SCHEDULES


@pytest.fixture(params=SCHEDULES)
def checked(request, controls):
    controls.set_schedule(request.param)
    controls.set_check(True)
    return controls


def lanes_ref(v, fn):
    out = v.copy()
    for i in range(len(v)):
        base, lane = i // 32 * 32, i % 32
        out[i] = v[base + fn(lane)]
    return out


def shuffle_refs(v, arg, width):
    seg = lambda lane: lane // width * width  # noqa: E731
    idx = lanes_ref(v, lambda lane: seg(lane) + ((lane * 7 + arg) % 32) % width)
    up = lanes_ref(v, lambda lane: lane - arg if lane % width >= arg else lane)
    down = lanes_ref(v, lambda lane: lane + arg if lane % width + arg < width else lane)
    xor = lanes_ref(v, lambda lane: lane ^ arg if (lane ^ arg) < seg(lane) + width else lane)
    return np.stack([idx, up, down, xor], axis=1).ravel()


def test_barrier_order(checked):
    x = np.random.default_rng(0).standard_normal(192).astype(np.float32)
    out = np.zeros_like(x)
    checked.run("barrier_order", [x, out], grid=3, block=64)
    xb = x.reshape(3, 64)
    t = np.arange(64)
    np.testing.assert_array_equal(out.reshape(3, 64), 2 * xb[:, (t + 1) % 64] + 2 * xb[:, 63 - t])


def test_barrier_variants(checked):
    x = np.r_[np.ones(40), -np.ones(24)].astype(np.float32)
    counts = np.zeros(3, np.int32)
    checked.run("barrier_variants", [x, counts], block=64)
    assert counts.tolist() == [40, 0, 1]


@pytest.mark.parametrize("block", [64, 256])
def test_shared_tree_reduction(checked, block):
    x = np.random.default_rng(1).standard_normal(1000)
    nblocks = -(-1000 // block)
    out = np.zeros(nblocks)
    checked.run("reduce_sum", [x, out], grid=nblocks, block=block, ints=[1000])
    ref = np.add.reduceat(x, np.arange(0, 1000, block))
    np.testing.assert_allclose(out, ref, rtol=1e-12)


def test_tiled_matmul(checked):
    rng = np.random.default_rng(2)
    M, N, K = 37, 21, 45  # tails in every dimension
    A = rng.standard_normal((M, K)).astype(np.float32)
    B = rng.standard_normal((K, N)).astype(np.float32)
    C = np.zeros((M, N), np.float32)
    checked.run("matmul_tiled", [A, B, C], ints=[M, N, K])
    np.testing.assert_allclose(C, A.astype(np.float64) @ B, rtol=1e-4, atol=1e-4)


def test_dynamic_shared_memory(checked):
    n = 100
    x = np.arange(n, dtype=np.float32)
    out, flags = np.zeros(n, np.float32), np.zeros(n, np.int32)
    checked.run("dyn_reverse", [x, out, flags], grid=4, block=32, ints=[n])
    full = np.r_[x, -np.ones(28, np.float32)].reshape(4, 32)[:, ::-1].ravel()
    np.testing.assert_array_equal(out, full[:n])
    np.testing.assert_array_equal(flags, (31 - np.tile(np.arange(32), 4))[:n])


def test_dynamic_shared_memory_after_opt_in(controls):
    n = 64
    x = np.arange(n, dtype=np.float32)
    out, flags = np.zeros(n, np.float32), np.zeros(n, np.int32)
    controls.set_check(True)
    controls.run("big_dyn_smem", [x, out, flags], grid=2, block=32, ints=[n])
    np.testing.assert_array_equal(out, x.reshape(2, 32)[:, ::-1].ravel())


def test_3d_thread_and_block_indices(checked):
    grid, block = (2, 3, 2), (4, 2, 3)
    nt, nb = 24, 12
    ids = np.zeros(nt * nb, np.int32)
    checked.run("ids", [ids], grid=grid, block=block)
    np.testing.assert_array_equal(ids, (np.arange(nt)[None, :] + 1000 * np.arange(nb)[:, None]).ravel())


def test_block_scan(checked):
    x = np.random.default_rng(3).integers(-5, 5, 200).astype(np.int32)
    out = np.zeros_like(x)
    checked.run("block_scan", [x, out], block=256, ints=[200])
    np.testing.assert_array_equal(out, np.cumsum(x))


def test_zero_size_grid_runs_nothing(checked):
    out = np.zeros(1, np.float32)
    before = checked.emu_stats()["launches"]
    checked.run("zero_grid", [out])
    assert out[0] == 0 and checked.emu_stats()["launches"] == before


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("width", [32, 16, 8, 4, 2, 1])
@pytest.mark.parametrize("arg", [1, 3, 5])
def test_shuffles(controls, dtype, width, arg):
    controls.set_check(True)
    x = np.random.default_rng(4).standard_normal(64).astype(dtype)
    out = np.zeros(4 * 64, dtype)
    controls.run("shuffles_f32" if dtype == np.float32 else "shuffles_f64", [x, out], block=64, ints=[arg, width])
    np.testing.assert_array_equal(out, shuffle_refs(x, arg, width))


def test_shuffles_under_every_schedule(checked):
    x = np.random.default_rng(5).standard_normal(64).astype(np.float32)
    out = np.zeros(4 * 64, np.float32)
    checked.run("shuffles_f32", [x, out], block=64, ints=[3, 8])
    np.testing.assert_array_equal(out, shuffle_refs(x, 3, 8))


def test_votes_with_a_partial_warp(checked):
    x = np.random.default_rng(6).standard_normal(48).astype(np.float32)
    x[32:] = np.abs(x[32:]) + 1  # the partial warp votes all-true
    votes = np.zeros(3 * 48, np.uint32)
    checked.run("votes", [x, votes], block=48)
    p = x > 0
    for w, lanes in [(0, range(0, 32)), (1, range(32, 48))]:
        ballot = sum(1 << (i - 32 * w) for i in lanes if p[i])
        for i in lanes:
            assert votes[3 * i : 3 * i + 3].tolist() == [ballot, int(p[list(lanes)].any()), int(p[list(lanes)].all())]


def test_warp_sum_and_atomics_under_contention(checked):
    n = 2000
    x = np.random.default_rng(7).integers(-3, 4, n).astype(np.float32)
    out, out_i = np.zeros(1, np.float32), np.zeros(1, np.int32)
    checked.run("warp_sum", [x, out, out_i], grid=-(-n // 128), block=128, ints=[n])
    assert out[0] == x.sum() and out_i[0] == int(x.sum())


def test_histogram_with_shared_and_global_atomics(checked):
    n, nbins = 3000, 37
    bins = np.random.default_rng(8).integers(0, nbins, n).astype(np.int32)
    hist = np.zeros(nbins, np.int32)
    extremes = np.array([-1, 1 << 30], np.int32)
    cas = np.zeros(1, np.uint64)
    checked.run("histogram", [bins, hist, extremes, cas], grid=5, block=64, ints=[n, nbins])
    np.testing.assert_array_equal(hist, np.bincount(bins, minlength=nbins))
    assert extremes.tolist() == [bins.max(), bins.min()] and cas[0] == n


def test_syncwarp_orders_lanes(checked):
    x = np.arange(64, dtype=np.float32)
    out = np.zeros(64, np.float32)
    checked.run("syncwarp_exchange", [x, out], block=64)
    np.testing.assert_array_equal(out, x[np.arange(64) ^ 1])


def test_warp_scan_8_byte_shuffles(checked):
    x = np.random.default_rng(9).standard_normal(96)
    out = np.zeros(96)
    checked.run("warp_scan", [x, out], grid=1, block=96)
    np.testing.assert_allclose(out, np.cumsum(x.reshape(3, 32), axis=1).ravel(), rtol=1e-12)
