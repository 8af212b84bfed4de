"""The participant server: tasks, sessions, episode ingestion and verification (Quart).

Example:
    >>> from crowdplay.server import Settings, create_app
    >>> app = create_app(Settings.from_env(db_path="/tmp/cp.sqlite"))  # doctest: +SKIP
"""

from crowdplay.server.settings import DEMO_TASKS, Settings
from crowdplay.server.study.tasks import Task, load_tasks
from crowdplay.server.web.app import create_app

__all__ = ["create_app", "Settings", "DEMO_TASKS", "Task", "load_tasks"]
