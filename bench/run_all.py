"""Run every bench_*.py in this folder; each prints its table and writes bench/results/<name>.json.

    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE python bench/run_all.py [name ...]
"""
import glob
import os
import runpy
import sys

HERE = os.path.dirname(os.path.abspath(__file__))


def main(names):
    sys.path.insert(0, HERE)
    for path in sorted(glob.glob(os.path.join(HERE, "bench_*.py"))):
        stem = os.path.basename(path)[6:-3]
        if names and stem not in names:
            continue
        runpy.run_path(path, run_name="__main__")


if __name__ == "__main__":
    main(sys.argv[1:])
