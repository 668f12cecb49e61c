"""CPU seconds of a full index build (all processes), and the builders' peak memory.

    .venv/bin/python bench/build_cpu.py STORE.sqlite WORKDIR [--procs 2] [--runs 2] [--keep]

Each run builds a new index at WORKDIR/idx-<run> with index.build.rebuild and prints the CPU seconds
of this process and its children (resource.getrusage), the wall seconds, the load average and the
largest ru_maxrss among the children (the builder processes)."""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import time
from pathlib import Path


def cpu() -> tuple[float, float]:
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime, children.ru_utime + children.ru_stime


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("store")
    parser.add_argument("workdir")
    parser.add_argument("--procs", type=int, default=2)
    parser.add_argument("--runs", type=int, default=2)
    parser.add_argument("--keep", action="store_true", help="keep the last index built")
    args = parser.parse_args()

    from index import build
    from kb.store import Store

    store = Store(Path(args.store))
    workdir = Path(args.workdir)
    workdir.mkdir(parents=True, exist_ok=True)
    for run in range(args.runs):
        target = workdir / f"idx-{run}"
        shutil.rmtree(target, ignore_errors=True)
        own0, child0 = cpu()
        wall0 = time.perf_counter()
        count = build.rebuild(store, target, procs=args.procs)
        wall = time.perf_counter() - wall0
        own1, child1 = cpu()
        peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
        print(
            f"run {run + 1}: {count} documents, CPU {own1 - own0 + child1 - child0:.1f} s "
            f"(parent {own1 - own0:.1f}, children {child1 - child0:.1f}), wall {wall:.1f} s, "
            f"load {os.getloadavg()[0]:.2f}, children's peak RSS {peak:.0f} MB, "
            f"own peak RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB",
            flush=True,
        )
        if not args.keep or run < args.runs - 1:
            shutil.rmtree(target, ignore_errors=True)
    store.close()


if __name__ == "__main__":
    main()
