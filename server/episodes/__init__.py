"""Episodes on the server: chunks stored, followed live, verified once.

A chunk's way through this package: :meth:`EpisodeStore.ingest` validates it
(:mod:`.chunks`) and commits it, hands it to :class:`LiveReplays` (a worker process replays it
with the task's statistics collectors, for the participant's panel) and, for the final chunk,
asks the :class:`Verifier` for the verdict, which is the live replay's own when it followed the
whole episode; an accepted episode is then audited for how human its play looks
(:class:`Auditor`). A two-player match (:class:`Matches`) stores the chunks both seats agree on
through the same :meth:`EpisodeStore.ingest`.
"""

from crowdplay.server.episodes.audits import Auditor
from crowdplay.server.episodes.chunks import ChunkData, assemble
from crowdplay.server.episodes.live import Followed, LiveReplays
from crowdplay.server.episodes.matches import Match, Matches
from crowdplay.server.episodes.replays import LiveValues
from crowdplay.server.episodes.store import Ack, EpisodeStore
from crowdplay.server.episodes.verification import VerdictListener, Verifier

__all__ = [
    "Ack",
    "Auditor",
    "ChunkData",
    "EpisodeStore",
    "Followed",
    "LiveReplays",
    "LiveValues",
    "Match",
    "Matches",
    "Verifier",
    "VerdictListener",
    "assemble",
]
