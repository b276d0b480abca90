"""A rank raises while the others wait in a collective with the default (30 minute) timeout.

argv: "before" (rank 1 fails before init_process_group, the others wait in it) or "after".
"""
import sys

import ember as em
import ember.distributed as dist

rank = int(__import__("os").environ.get("PMI_RANK", "0"))
if sys.argv[1] == "before" and rank == 1:
    raise RuntimeError("planted failure on rank 1")
dist.init_process_group("mpi")
if dist.get_rank() == 1:
    raise RuntimeError("planted failure on rank 1")
dist.all_reduce(em.ones(3))
print("rank 0 passed a collective that rank 1 never joined", file=sys.stderr)
