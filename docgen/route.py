"""Where a build's documents are rendered: this machine's worker processes or a Dask cluster.

Kept apart from build.py so that the CLI can open it first, before it imports the planning
and reporting modules: the workers' server then starts about 60 ms sooner.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

from docgen.job import Job
from docgen.workers import Local, default_jobs

if TYPE_CHECKING:  # imported only when a job names a cluster (Dask is an extra)
    from docgen.cluster import Cluster

    Route = Local | Cluster


@contextmanager
def rendering(job: Job, jobs: int | None = None, *, early: bool = False) -> Iterator[Route]:
    """The one place that chooses where documents are rendered: on the Dask cluster the job
    names (``--cluster``, ``DOCGEN_CLUSTER``, ``[job] cluster``), else in ``jobs`` worker
    processes here (default: one per core). ``early``: the local workers start at once, so
    their imports and template preparation overlap the caller's planning. A cluster is
    reached here, before anything is written: an unreachable one leaves no output folder."""
    if job.cluster:
        from docgen.cluster import Cluster

        route: Route = Cluster(job, job.cluster)
    else:
        route = Local(job, jobs or default_jobs(job.limits), early=early)
    try:
        yield route
    finally:
        route.close()
