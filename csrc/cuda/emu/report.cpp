// Turns a Fault into the message the host sees. Code addresses from the
// instrumented loads and stores are mapped to file:line with addr2line (the
// kernel translation units carry line tables, -g1); the frame reported is the
// innermost one outside the emulator's own headers.
#include <dlfcn.h>

#include <cstdio>
#include <map>
#include <mutex>
#include <string>

#include "cuda/emu/internal.h"

namespace ember::emu {

std::string short_path(const char* file) {
  if (!file) return "?";
  std::string f = file;
  for (const char* root : {"/csrc/", "/tests/"}) {
    auto pos = f.rfind(root);
    if (pos != std::string::npos) return f.substr(pos + 1);
  }
  return f;
}

static std::string shell_quote(const std::string& s) {
  std::string q = "'";
  for (char c : s) q += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return q + "'";
}

static std::string symbolize(uintptr_t pc) {
  static std::mutex mu;
  static std::map<uintptr_t, std::string> cache;
  std::lock_guard<std::mutex> lock(mu);
  auto it = cache.find(pc);
  if (it != cache.end()) return it->second;
  Dl_info info{};
  std::string out;
  if (dladdr(reinterpret_cast<void*>(pc), &info) && info.dli_fname) {
    uintptr_t off = pc - 1 - reinterpret_cast<uintptr_t>(info.dli_fbase);
    char addr[32];
    std::snprintf(addr, sizeof addr, "0x%lx", static_cast<unsigned long>(off));
    std::string cmd = "addr2line -C -f -i -e " + shell_quote(info.dli_fname) + " " + addr + " 2>/dev/null";
    if (FILE* p = popen(cmd.c_str(), "r")) {
      char line[4096];
      std::string func, fallback;
      bool want_func = true;
      while (std::fgets(line, sizeof line, p)) {
        std::string s = line;
        while (!s.empty() && (s.back() == '\n' || s.back() == '\r')) s.pop_back();
        if (want_func) {
          func = s;
        } else if (s.rfind("??", 0) != 0) {
          auto disc = s.find(" (discriminator");
          if (disc != std::string::npos) s.resize(disc);
          std::string loc = short_path(s.c_str()) + " (in " + func + ")";
          if (fallback.empty()) fallback = loc;
          if (out.empty() && s.find("/cuda/emu/") == std::string::npos && s.rfind("/usr/", 0) != 0) out = loc;
        }
        want_func = !want_func;
      }
      pclose(p);
      if (out.empty()) out = fallback;
    }
    if (out.empty()) {
      char buf[64];
      std::snprintf(buf, sizeof buf, "+0x%lx", static_cast<unsigned long>(off));
      out = std::string(info.dli_sname ? info.dli_sname : "?") + " in " + info.dli_fname + buf +
            " (no line table: build the kernels with -g1)";
    }
  } else {
    char buf[32];
    std::snprintf(buf, sizeof buf, "pc 0x%lx", static_cast<unsigned long>(pc));
    out = buf;
  }
  cache[pc] = out;
  return out;
}

std::string describe(Loc loc) {
  if (loc.empty()) return "?";
  if (loc.line > 0) return short_path(reinterpret_cast<const char*>(loc.v)) + ":" + std::to_string(loc.line);
  return symbolize(loc.v);
}

std::string format_fault(const Block& b, const Fault& f, int tid) {
  const LaunchSpec& s = *b.L->spec;
  auto dims = [](uint3 d) {
    return "(" + std::to_string(d.x) + "," + std::to_string(d.y) + "," + std::to_string(d.z) + ")";
  };
  std::string msg = "cuda-emu: " + f.kind + " in kernel " + s.kernel + ", block " + dims(b.bidx);
  if (tid >= 0) msg += ", thread " + tid_str(b, tid);
  if (!f.at.empty()) msg += ", at " + describe(f.at);
  msg += "\n  " + f.detail;
  if (!f.other.empty()) msg += "\n  " + f.other_what + " at " + describe(f.other);
  msg += "\n  launched at " + short_path(s.site.file) + ":" + std::to_string(s.site.line) + " with grid " +
         dims(s.grid) + ", block " + dims(s.block) + ", " + std::to_string(s.smem) + " bytes of dynamic shared memory";
  return msg;
}

}  // namespace ember::emu
