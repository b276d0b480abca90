"""Run every bench_*.py in this folder, then print one summary table of all their rows.

Each bench prints its own table and writes bench/results/<name>.json; the summary
lists every case with its ember time and its time ratio against each peer (ember/<peer> time).

    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE python bench/run_all.py [stem ...]
"""
import glob
import json
import os
import runpy
import sys

HERE = os.path.dirname(os.path.abspath(__file__))


def summary(names):
    rows = []
    for path in sorted(glob.glob(os.path.join(HERE, "results", "*.json"))):
        data = json.load(open(path))
        if names and not any(n in data["bench"] for n in names):
            continue
        for r in data["rows"]:
            keys = list(r)
            case = " ".join(str(r[k]) for k in keys[:2] if not isinstance(r[k], float))
            ratios = {k: v for k, v in r.items()
                      if isinstance(v, float) and k.startswith("ember/") and k.endswith(" time")}
            ember = next((v for k, v in r.items() if k.startswith("ember_us")), None)
            rows.append((data["bench"], case, ember, ratios))
    print("\nsummary (ember/<peer> time: ember's time over the peer's, < 1 = ember faster)")
    for bench, case, ember, ratios in rows:
        rs = "  ".join(f"{k}={v:.2f}" for k, v in ratios.items())
        print(f"{bench:24s} {case:28s} {'' if ember is None else f'{ember:10.1f} us'}  {rs}")


def main(names):
    sys.path.insert(0, HERE)
    for path in sorted(glob.glob(os.path.join(HERE, "bench_*.py"))):
        stem = os.path.basename(path)[6:-3]
        if names and stem not in names:
            continue
        sys.argv = [path]
        runpy.run_path(path, run_name="__main__")
    summary(names)


if __name__ == "__main__":
    main(sys.argv[1:])
