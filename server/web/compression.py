"""No per-message deflate on the server's WebSockets.

Browsers offer ``permessage-deflate`` on every WebSocket and Hypercorn (through wsproto) always
accepts it. Our messages are tiny JSON objects (a relayed ``inputs`` is ~40 bytes, a chunk is
~1 KB of actions): compressing and decompressing each costs the server's one event loop more
than the bytes it saves (about a tenth of the relay's time at 50 pairs, by py-spy), and both
sockets' rate is a few KB/s per participant. Hypercorn has no setting for it, so
:func:`decline_per_message_deflate` replaces the extension it offers with one that declines every
offer: the handshake then answers without ``Sec-WebSocket-Extensions`` and frames go
uncompressed, as RFC 7692 allows.
"""

from __future__ import annotations

import logging

from wsproto.extensions import PerMessageDeflate

__all__ = ["decline_per_message_deflate"]

log = logging.getLogger(__name__)


class _DeclinedDeflate(PerMessageDeflate):
    """``permessage-deflate`` that is never agreed: every offer is declined."""

    def accept(self, offer: str) -> None:
        return None


def decline_per_message_deflate() -> bool:
    """Make Hypercorn's WebSocket handshakes decline compression; whether it could."""
    try:
        from hypercorn.protocol import ws_stream
    except ImportError:  # pragma: no cover - Hypercorn is a dependency
        return False
    if getattr(ws_stream, "PerMessageDeflate", None) not in (PerMessageDeflate, _DeclinedDeflate):
        log.warning("this Hypercorn does not offer wsproto's PerMessageDeflate: left as it is")
        return False
    ws_stream.PerMessageDeflate = _DeclinedDeflate  # type: ignore[attr-defined]
    return True
