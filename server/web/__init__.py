"""The web layer: the app, the participant's pages and API, the episode WebSocket, the research API.

Every route validates what it receives and answers errors through :mod:`.errors`.
"""

from crowdplay.server.web.app import create_app

__all__ = ["create_app"]
