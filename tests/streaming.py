"""What a client streams, made from a recorded log: the chunk messages of docs/protocol.md.

Test and bench helper (simulated participants), not part of the server.
"""

from __future__ import annotations

from typing import Any

from crowdplay.episode import EpisodeLog

__all__ = ["split_log"]


def split_log(log: EpisodeLog) -> list[dict[str, Any]]:
    """Cut a recorded log into the chunk messages a client would send: one per checkpoint.

    A complete log's last chunk carries its ``end``; a partial log's frames past its last
    checkpoint are left out (a client sends them only with the checkpoint that closes them).
    """
    messages = []
    start = 0
    for seq, checkpoint in enumerate(log.checkpoints):
        last = checkpoint.frame
        final = log.end is not None and last == log.end.frame
        messages.append(
            {
                "type": "chunk",
                "seq": seq,
                "start": start,
                "actions": [list(a[start:last]) for a in log.actions],
                "checkpoints": [
                    {
                        "frame": last,
                        "digest": checkpoint.digest,
                        "rewards": list(checkpoint.rewards),
                    }
                ],
                "end": {"frame": last, "reason": log.end.reason} if final and log.end else None,
                "client": None,
            }
        )
        start = last
    return messages
