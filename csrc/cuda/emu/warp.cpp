// The warp operations (__syncwarp, the four shuffles, the votes, __reduce_*_sync,
// __activemask). A lane that reaches one waits (yields to the scheduler) until every
// lane named in its mask that has not exited waits at a warp operation with the same
// mask; the group then completes at once, with PTX's rules (a shuffle source outside
// the lane's segment leaves its value as is). Lanes of one group at different
// operations are reported, and, with checks on, shuffles that read a lane that exited
// or is not in the mask. The scheduler (scheduler.cpp) also tries a group when one of
// its lanes exits.
#include <algorithm>
#include <cstring>
#include <string>
#include <vector>

#include "cuda/emu/internal.h"

namespace ember::emu {

const char* warp_op_name(int op) {
  switch (WarpOp(op)) {
    case WarpOp::sync: return "__syncwarp";
    case WarpOp::shfl_idx: return "__shfl_sync";
    case WarpOp::shfl_up: return "__shfl_up_sync";
    case WarpOp::shfl_down: return "__shfl_down_sync";
    case WarpOp::shfl_xor: return "__shfl_xor_sync";
    case WarpOp::ballot: return "__ballot_sync";
    case WarpOp::any: return "__any_sync";
    case WarpOp::all: return "__all_sync";
    case WarpOp::reduce_add: return "__reduce_add_sync";
    case WarpOp::reduce_min: return "__reduce_min_sync";
    case WarpOp::reduce_max: return "__reduce_max_sync";
  }
  return "warp operation";
}

// PTX shfl.sync: the source lane, or -1 when the lane keeps its own value.
static int shuffle_source(WarpOp op, int lane, int arg, int width) {
  int segmask = (32 - width) & 31;  // the lanes' segment bits
  int cval = op == WarpOp::shfl_up ? 0 : 31;
  int max_lane = (lane & segmask) | (cval & ~segmask);
  int min_lane = lane & segmask;
  int j = lane;
  bool ok = false;
  switch (op) {
    case WarpOp::shfl_up: j = lane - arg; ok = j >= max_lane; break;
    case WarpOp::shfl_down: j = lane + arg; ok = j <= max_lane; break;
    case WarpOp::shfl_xor: j = lane ^ arg; ok = j <= max_lane; break;
    case WarpOp::shfl_idx: j = min_lane | (arg & ~segmask & 31); ok = j <= max_lane; break;
    default: break;
  }
  return ok && j >= 0 && j < 32 ? j : -1;
}

static bool is_shuffle(int op) { return op >= int(WarpOp::shfl_idx) && op <= int(WarpOp::shfl_xor); }

// Completes the warp operation of the lanes named in `mask` if all of them
// (that exist and have not exited) are waiting at it. `runner` is the lane that
// goes on without a switch (-1: all are queued). A mismatch becomes a Fault.
bool try_complete(Block& b, int warp, unsigned mask, int runner) {
  int base = warp * 32;
  int op = -1;
  const Thread* first = nullptr;
  for (int lane = 0; lane < 32; ++lane) {
    int tid = base + lane;
    if (!(mask >> lane & 1u) || tid >= b.n) continue;
    Thread& x = b.th[size_t(tid)];
    if (x.st == St::done) continue;
    if (x.st != St::warp || x.mask != mask) return false;
    if (op < 0) {
      op = x.kind;
      first = &x;
    } else if (x.kind != op) {
      Fault f;
      f.kind = "divergent warp operation";
      f.detail = "lanes named in mask " + hex(mask) + " reach different warp operations: thread " + tid_str(b, first->tid) +
                 " at " + warp_op_name(first->kind) + " " + site_str(first->site) + ", thread " + tid_str(b, tid) +
                 " at " + warp_op_name(x.kind) + " " + site_str(x.site);
      f.at = Loc::site(x.site);
      f.other_what = "the other warp operation";
      f.other = Loc::site(first->site);
      f.tid = tid;
      throw f;
    }
  }
  if (op < 0) return false;
  // Every participant is here: compute the results.
  uint64_t ballot = 0;
  int64_t acc_s = 0;
  uint64_t acc_u = 0;
  bool first_val = true;
  int members = 0, votes = 0;
  for (int lane = 0; lane < 32; ++lane) {
    int tid = base + lane;
    if (!(mask >> lane & 1u) || tid >= b.n || b.th[size_t(tid)].st == St::done) continue;
    Thread& x = b.th[size_t(tid)];
    ++members;
    if (x.bits) ballot |= 1ull << lane, ++votes;
    if (op >= int(WarpOp::reduce_add)) {
      bool is_signed = x.size < 0;
      int64_t sv = int64_t(int32_t(uint32_t(x.bits)));
      uint64_t uv = uint32_t(x.bits);
      if (WarpOp(op) == WarpOp::reduce_add) {
        acc_u += uv;
      } else if (first_val) {
        acc_s = sv, acc_u = uv;
      } else if (WarpOp(op) == WarpOp::reduce_min) {
        acc_s = std::min(acc_s, sv), acc_u = std::min(acc_u, uv);
      } else {
        acc_s = std::max(acc_s, sv), acc_u = std::max(acc_u, uv);
      }
      if (WarpOp(op) != WarpOp::reduce_add && is_signed) acc_u = uint64_t(uint32_t(int32_t(acc_s)));
      first_val = false;
    }
  }
  bool check = b.L->ctl.check;
  std::vector<int> released;
  for (int lane = 0; lane < 32; ++lane) {
    int tid = base + lane;
    if (!(mask >> lane & 1u) || tid >= b.n || b.th[size_t(tid)].st == St::done) continue;
    Thread& x = b.th[size_t(tid)];
    switch (WarpOp(op)) {
      case WarpOp::sync: x.result = 0; break;
      case WarpOp::ballot: x.result = ballot; break;
      case WarpOp::any: x.result = votes > 0; break;
      case WarpOp::all: x.result = votes == members; break;
      case WarpOp::reduce_add:
      case WarpOp::reduce_min:
      case WarpOp::reduce_max: x.result = acc_u & 0xffffffffull; break;
      default: {
        int j = shuffle_source(WarpOp(op), lane, x.arg, x.width);
        x.result = x.bits;  // CUDA: a source outside the lane's segment leaves the value as is
        if (j < 0 || j == lane) break;
        int src = base + j;
        const char* why = nullptr;
        if (src >= b.n)
          why = "does not exist (the block has fewer threads)";
        else if (b.th[size_t(src)].st == St::done)
          why = "has exited";
        else if (!(mask >> j & 1u))
          why = "is not named in the mask";
        if (!why) {
          x.result = b.th[size_t(src)].bits;
        } else if (check) {
          Fault f;
          f.kind = "undefined shuffle";
          f.detail = std::string(warp_op_name(op)) + " in thread " + tid_str(b, tid) + " (lane " + std::to_string(lane) +
                     ") reads lane " + std::to_string(j) + ", which " + why + "; CUDA leaves the value undefined";
          f.at = Loc::site(x.site);
          f.tid = tid;
          throw f;
        }
      }
    }
    if (tid != runner) released.push_back(tid);
  }
  b.warp_sync[size_t(warp)]++;
  enqueue(b, released);
  return true;
}

uint64_t warp_op(const char* file, int line, WarpOp op, unsigned mask, uint64_t bits, int size, int arg, int width) {
  Site site{file, line};
  Block& b = block_or_throw(warp_op_name(int(op)));
  Thread& t = b.current();
  int lane = t.tid & 31;
  if (!(mask >> lane & 1u))
    throw_fault("warp mask", std::string(warp_op_name(int(op))) + " with mask " + hex(mask) +
                                 " leaves out the calling lane " + std::to_string(lane) + "; every calling lane must be in the mask",
                site);
  if (is_shuffle(int(op)) && (width < 1 || width > 32 || (width & (width - 1))))
    throw_fault("invalid shuffle width", "width " + std::to_string(width) + " is not a power of two in [1, 32]", site);
  t.st = St::warp;
  t.site = site;
  t.kind = int(op);
  t.mask = mask;
  t.bits = bits;
  t.size = size;
  t.arg = arg;
  t.width = width;
  if (!try_complete(b, t.tid / 32, mask, t.tid)) yield(b, t);
  t.st = St::running;
  return t.result;
}

unsigned activemask() {
  Block& b = block_or_throw("__activemask()");
  int base = b.current().tid / 32 * 32;
  unsigned m = 0;
  for (int lane = 0; lane < 32 && base + lane < b.n; ++lane)
    if (b.th[size_t(base + lane)].st != St::done) m |= 1u << lane;
  return m;
}

}  // namespace ember::emu
