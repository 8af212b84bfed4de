"""The server's WebSockets decline per-message deflate (server/web/compression.py)."""

from __future__ import annotations

from hypercorn.protocol.ws_stream import Handshake
from wsproto.events import TextMessage

from crowdplay.server.web.compression import decline_per_message_deflate

_OFFER = [
    (b"connection", b"Upgrade"),
    (b"upgrade", b"websocket"),
    (b"sec-websocket-key", b"dGhlIHNhbXBsZSBub25jZQ=="),
    (b"sec-websocket-version", b"13"),
    (b"sec-websocket-extensions", b"permessage-deflate; client_max_window_bits"),
]


def test_hypercorns_handshake_declines_a_browsers_deflate_offer() -> None:
    """A browser offers permessage-deflate on every socket; the answer must not agree to it."""
    assert decline_per_message_deflate()
    status, headers, connection = Handshake(_OFFER, "1.1").accept(None, [])
    assert status == 101
    names = [name for name, _ in headers]
    assert b"sec-websocket-accept" in names
    assert b"sec-websocket-extensions" not in names, headers
    frames = connection.send(TextMessage(data='{"type":"ping"}'))
    assert b'{"type":"ping"}' in frames  # sent as it is, not compressed
