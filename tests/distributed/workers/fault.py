"""Rank 1 raises while rank 0 waits in a collective with the default (30 minute) timeout."""
import sys

import ember as em
import ember.distributed as dist

dist.init_process_group("mpi")
if dist.get_rank() == 1:
    raise RuntimeError("planted failure on rank 1")
dist.all_reduce(em.ones(3))
print("rank 0 passed a collective that rank 1 never joined", file=sys.stderr)
