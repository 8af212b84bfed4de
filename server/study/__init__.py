"""The study: tasks and their treatments, participants' identities, assignment, progress, pay."""

from crowdplay.server.study.assignment import Assignment, assign
from crowdplay.server.study.identities import Identity, TokenSigner, identify, pseudonym
from crowdplay.server.study.payments import payments_csv, settle
from crowdplay.server.study.progress import SessionProgress, session_statistics
from crowdplay.server.study.recompute import Recomputed, recompute
from crowdplay.server.study.scores import cohort_view
from crowdplay.server.study.tasks import Task, load_tasks

__all__ = [
    "Assignment",
    "Identity",
    "Recomputed",
    "SessionProgress",
    "Task",
    "TokenSigner",
    "assign",
    "cohort_view",
    "identify",
    "load_tasks",
    "payments_csv",
    "pseudonym",
    "recompute",
    "session_statistics",
    "settle",
]
