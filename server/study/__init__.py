"""The study: tasks, treatments, identities, assignment, progress, pay, the dashboard."""

from crowdplay.server.study.assignment import Assignment, assign
from crowdplay.server.study.charts import ChartCache, chart_data
from crowdplay.server.study.dashboard import overview, participant_sessions
from crowdplay.server.study.identities import Identity, TokenSigner, identify, pseudonym
from crowdplay.server.study.payments import (
    bonus_file,
    exclude_episode,
    include_episode,
    mark_bonus_paid,
    payments_csv,
    settle,
)
from crowdplay.server.study.progress import SessionProgress, session_statistics
from crowdplay.server.study.recompute import Recomputed, recompute
from crowdplay.server.study.scores import cohort_view
from crowdplay.server.study.shocks import Shock, Shocks, parse_shocks
from crowdplay.server.study.tasks import Task, load_tasks
from crowdplay.server.study.viewer import EpisodeView, episode_view

__all__ = [
    "Assignment",
    "ChartCache",
    "EpisodeView",
    "Identity",
    "Recomputed",
    "SessionProgress",
    "Shock",
    "Shocks",
    "Task",
    "TokenSigner",
    "assign",
    "bonus_file",
    "chart_data",
    "cohort_view",
    "episode_view",
    "exclude_episode",
    "identify",
    "include_episode",
    "load_tasks",
    "mark_bonus_paid",
    "overview",
    "parse_shocks",
    "participant_sessions",
    "payments_csv",
    "pseudonym",
    "recompute",
    "session_statistics",
    "settle",
]
