"""Job: what a script calls at its start and end."""

from __future__ import annotations

from typing import Any


class Job:
    """`init` and `commit`. On Glue, commit() saves the job's bookmarks; the dynalake jobs keep their
    own incremental state and no bookmarks, so here commit() only records that the run reached it
    (the local runner reports a run that ended without it)."""

    def __init__(self, glue_context: Any) -> None:
        self.glue_context = glue_context
        self.name: str | None = None
        self.arguments: dict[str, str] = {}
        self.committed = False
        glue_context._jobs.append(self)

    def init(self, job_name: str, args: dict[str, str] | None = None) -> None:
        if not job_name:
            raise ValueError("Job.init: the job name is empty")
        self.name = job_name
        self.arguments = dict(args or {})

    def commit(self) -> None:
        if self.name is None:
            raise RuntimeError("Job.commit before Job.init")
        self.committed = True
