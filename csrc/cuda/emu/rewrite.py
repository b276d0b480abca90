"""Prepare a .cu file for the CUDA emulator (run by the build, cmake/cuda.cmake).

The output is the same source with its `__shared__` declarations turned into
references to the running block's shared-memory arena, so that static shared
variables are per block (not per host thread) and the checker knows each
variable's name, size and declaration line:

    __shared__ float tile[32][33];
 -> static constexpr ::ember::emu::SharedDecl ember_emu_decl_tile{"tile", __FILE__, __LINE__};
    auto& tile = ::ember::emu::shared_var<float [32][33]>(&ember_emu_decl_tile, 1);

    extern __shared__ __align__(16) unsigned char smem[];
 -> ... unsigned char* const smem = ::ember::emu::dynamic_shared_var<unsigned char>(&..., 16);

Line numbers are kept (a `#line` directive and no added newlines), so reports and
__FILE__/__LINE__ point into the original file. Quoted includes of .cuh files next
to the source (other than common.cuh) are inlined, rewritten the same way, each
once. A declaration this script does not understand is left alone; emu.h then maps
`__shared__` to per-host-thread storage, which still runs but is not checked.

Usage: python rewrite.py INPUT.cu OUTPUT.cpp
"""

import os
import re
import sys

_ALIGN = re.compile(r"(?:alignas|__align__)\s*\(\s*([^()]*)\)")
_EXTERN = re.compile(r"\bextern\s+__shared__\b([^;{}\n]*);")
_STATIC = re.compile(r"(?<![\w])__shared__\b([^;{}()\n]*(?:\([^()\n]*\)[^;{}()\n]*)*);")
_PRAGMA_ONCE = re.compile(r"^[ \t]*#[ \t]*pragma[ \t]+once[ \t]*$", re.M)
_DECL = re.compile(r"^(?P<type>.*?)\b(?P<name>[A-Za-z_]\w*)\s*(?P<dims>(?:\[[^\[\]]*\]\s*)*)$", re.S)
_INCLUDE = re.compile(r'^[ \t]*#[ \t]*include[ \t]*"([^"]+)"[ \t]*$', re.M)


def _split_align(body):
    aligns = [a.strip() for a in _ALIGN.findall(body)]
    body = _ALIGN.sub(" ", body)
    align = "1"
    for a in aligns:
        align = f"(({a}) > ({align}) ? ({a}) : ({align}))"
    return body, align


def _top_level_split(s):
    parts, depth, cur = [], 0, ""
    for ch in s:
        if ch in "<([":
            depth += 1
        elif ch in ">)]":
            depth -= 1
        if ch == "," and depth == 0:
            parts.append(cur)
            cur = ""
        else:
            cur += ch
    parts.append(cur)
    return parts


def _one_line(s):
    return " ".join(s.split())


def _static_decl(body, warn):
    body, align = _split_align(body)
    if "=" in body:
        return None
    parts = _top_level_split(body)
    m = _DECL.match(parts[0].strip())
    if not m or not m.group("type").strip():
        return None
    type_ = _one_line(m.group("type"))
    decls = [(m.group("name"), _one_line(m.group("dims")))]
    for p in parts[1:]:
        m2 = re.match(r"^\s*([A-Za-z_]\w*)\s*((?:\[[^\[\]]*\]\s*)*)$", p)
        if not m2:
            return None
        decls.append((m2.group(1), _one_line(m2.group(2))))
    out = []
    for name, dims in decls:
        key = f"ember_emu_decl_{name}"
        out.append(
            f'static constexpr ::ember::emu::SharedDecl {key}{{"{name}", __FILE__, __LINE__}}; '
            f"auto& {name} = ::ember::emu::shared_var<{type_} {dims}>(&{key}, {align});"
        )
    return " ".join(out)


def _extern_decl(body):
    body, align = _split_align(body)
    m = re.match(r"^(?P<type>.*?)\b(?P<name>[A-Za-z_]\w*)\s*\[\s*\]\s*$", body.strip(), re.S)
    if not m or not m.group("type").strip():
        return None
    type_, name = _one_line(m.group("type")), m.group("name")
    key = f"ember_emu_decl_{name}"
    return (
        f'static constexpr ::ember::emu::SharedDecl {key}{{"{name}", __FILE__, __LINE__}}; '
        f"{type_}* const {name} = ::ember::emu::dynamic_shared_var<{type_}>(&{key}, {align});"
    )


def _keep_lines(original, replacement):
    return replacement + "\n" * original.count("\n")


def rewrite_text(text, path, warn):
    def in_comment(m):
        line_start = m.string.rfind("\n", 0, m.start()) + 1
        return "//" in m.string[line_start : m.start()]

    def ext(m):
        if in_comment(m):
            return m.group(0)
        r = _extern_decl(m.group(1))
        if r is None:
            warn(f"{path}: cannot rewrite '{_one_line(m.group(0))}'")
            return m.group(0)
        return _keep_lines(m.group(0), r)

    def sta(m):
        if in_comment(m):
            return m.group(0)
        r = _static_decl(m.group(1), warn)
        if r is None:
            warn(f"{path}: cannot rewrite '{_one_line(m.group(0))}'; it stays per host thread and unchecked")
            return m.group(0)
        return _keep_lines(m.group(0), r)

    text = _EXTERN.sub(ext, text)
    return _STATIC.sub(sta, text)


def process(path, seen, warn):
    path = os.path.abspath(path)
    with open(path, encoding="utf-8") as f:
        text = f.read()
    text = rewrite_text(text, path, warn)
    here = os.path.dirname(path)
    out, pos = [], 0
    lines_before = 0
    for m in _INCLUDE.finditer(text):
        target = os.path.join(here, m.group(1))
        if not target.endswith(".cuh") or os.path.basename(target) == "common.cuh" or not os.path.exists(target):
            continue
        out.append(text[pos : m.start()])
        lines_before += text[pos : m.start()].count("\n")
        target = os.path.abspath(target)
        if target not in seen:
            seen.add(target)
            inner = _PRAGMA_ONCE.sub("", process(target, seen, warn))
            out.append(f'#line 1 "{target}"\n{inner}\n#line {lines_before + 2} "{path}"')
        pos = m.end()
    out.append(text[pos:])
    return "".join(out)


def main(argv):
    if len(argv) != 3:
        sys.stderr.write(__doc__)
        return 2
    src, dst = argv[1], argv[2]
    warnings = []
    body = process(src, {os.path.abspath(src)}, warnings.append)
    for w in warnings:
        sys.stderr.write(f"cuda-emu rewrite: warning: {w}\n")
    text = f'#line 1 "{os.path.abspath(src)}"\n{body}'
    tmp = dst + ".tmp"
    with open(tmp, "w", encoding="utf-8") as f:
        f.write(text)
    os.replace(tmp, dst)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
