"""The canonical JSON form of an episode log: the interchange form every tool reads.

``to_dict``/``from_dict`` map between :class:`EpisodeLog` and plain JSON values; ``dumps``/``loads``
add the text encoding. Reading checks the format version first and then every field, naming the
field that is wrong.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from crowdplay.episode.events import Event, EventWarning
from crowdplay.episode.model import (
    DEFAULT_CHECKPOINT_INTERVAL,
    FORMAT,
    FORMAT_WITH_EVENTS,
    NUM_ACTIONS,
    SUPPORTED_FORMATS,
    Checkpoint,
    ControllerRun,
    End,
    EnvSpec,
    EpisodeLog,
)
from crowdplay.errors import ActionOutOfRange, MalformedLog, UnsupportedFormat

__all__ = ["to_dict", "from_dict", "from_parts", "dumps", "loads", "read", "write"]

_KNOWN = {
    "format",
    "episode_id",
    "env",
    "seed",
    "checkpoint_interval",
    "actions",
    "controllers",
    "checkpoints",
    "end",
    "client",
    "events",
}
_ENV_FIELDS = (
    "game",
    "rom_md5",
    "ale_version",
    "mode",
    "difficulty",
    "repeat_action_probability",
    "frameskip",
    "max_num_frames_per_episode",
    "players",
)


def to_dict(log: EpisodeLog) -> dict[str, Any]:
    """The log as JSON-ready values, fields in the documented order."""
    out: dict[str, Any] = {
        "format": log.format,
        "episode_id": log.episode_id,
        "env": {name: getattr(log.env, name) for name in _ENV_FIELDS},
        "seed": log.seed,
        "checkpoint_interval": log.checkpoint_interval,
        "actions": [list(actions) for actions in log.actions],
    }
    if log.controllers is not None:
        out["controllers"] = [
            [{"controller": run.controller, "frames": run.frames} for run in runs]
            for runs in log.controllers
        ]
    out["checkpoints"] = [
        {"frame": c.frame, "digest": c.digest, "rewards": list(c.rewards)} for c in log.checkpoints
    ]
    if log.events:
        out["events"] = [_event_dict(e) for e in log.events]
    if log.end is not None:
        out["end"] = {"frame": log.end.frame, "reason": log.end.reason}
    if log.client is not None:
        out["client"] = dict(log.client)
    out.update(log.extra)
    return out


def from_dict(data: object) -> EpisodeLog:
    """Build a log from JSON values, checking the format version and every field.

    Raises:
        UnsupportedFormat: ``format`` is missing or not one of :data:`SUPPORTED_FORMATS`.
        MalformedLog: a field is missing or has the wrong type; the message names it.
        InconsistentLog: fields contradict each other.
        ActionOutOfRange: an action id is not in 0-17.
    """
    doc = _object(data, "the log")
    _check_format(doc)
    checkpoints = _list(doc.get("checkpoints", []), "checkpoints")
    return from_parts(
        doc,
        _actions(_field(doc, "actions", "the log")),
        tuple(_checkpoint(c, i) for i, c in enumerate(checkpoints)),
    )


def from_parts(
    doc: Mapping[str, Any], actions: tuple[bytes, ...], checkpoints: tuple[Checkpoint, ...]
) -> EpisodeLog:
    """Build a log from its JSON fields but with actions and checkpoints already decoded.

    The compact form stores those two in binary; everything else goes through here, so both
    forms check the same things.
    """
    doc = _object(doc, "the log")
    _check_format(doc)
    env = _object(_field(doc, "env", "the log"), "env")
    controllers = doc.get("controllers")
    end = doc.get("end")
    client = doc.get("client")
    return EpisodeLog(
        episode_id=_field(doc, "episode_id", "the log"),
        env=EnvSpec(**{name: _field(env, name, "env") for name in _ENV_FIELDS}),
        seed=_field(doc, "seed", "the log"),
        actions=actions,
        checkpoints=checkpoints,
        end=None if end is None else _end(end),
        controllers=None if controllers is None else _controllers(controllers),
        checkpoint_interval=doc.get("checkpoint_interval", DEFAULT_CHECKPOINT_INTERVAL),
        client=None if client is None else _object(client, "client"),
        events=_events(doc),
        extra={k: v for k, v in doc.items() if k not in _KNOWN},
    )


def dumps(log: EpisodeLog, *, indent: int | None = None) -> str:
    """The canonical JSON text of ``log``."""
    return json.dumps(to_dict(log), indent=indent, separators=None if indent else (",", ":"))


def loads(text: str | bytes) -> EpisodeLog:
    """Parse canonical JSON text into a log.

    Raises:
        MalformedLog: the text is not JSON; otherwise as :func:`from_dict`.
    """
    try:
        data = json.loads(text)
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise MalformedLog(f"the log is not valid JSON: {err}") from None
    return from_dict(data)


def read(path: str | Path) -> EpisodeLog:
    """Read a log from a JSON file."""
    return loads(Path(path).read_bytes())


def write(log: EpisodeLog, path: str | Path) -> None:
    """Write ``log`` as canonical JSON to ``path``."""
    Path(path).write_text(dumps(log))


def _check_format(doc: Mapping[str, Any]) -> None:
    fmt = doc.get("format")
    if fmt not in SUPPORTED_FORMATS:
        supported = ", ".join(SUPPORTED_FORMATS)
        raise UnsupportedFormat(f"log format {fmt!r} is not supported; this reads {supported}")


def _object(value: object, where: str) -> Mapping[str, Any]:
    if not isinstance(value, dict):
        raise MalformedLog(f"{where} must be a JSON object, got {type(value).__name__}")
    return value


def _list(value: object, where: str) -> list[Any]:
    if not isinstance(value, list):
        raise MalformedLog(f"{where} must be a JSON array, got {type(value).__name__}")
    return value


def _field(doc: Mapping[str, Any], name: str, where: str) -> Any:
    if name not in doc:
        raise MalformedLog(f"{where} has no field {name!r}")
    return doc[name]


def _actions(value: object) -> tuple[bytes, ...]:
    per_player = _list(value, "actions")
    out = []
    for player, actions in enumerate(per_player):
        actions = _list(actions, f"actions[{player}]")
        for frame, a in enumerate(actions, start=1):
            if not isinstance(a, int) or isinstance(a, bool):
                raise MalformedLog(
                    f"actions[{player}] on frame {frame} must be an integer, got {a!r}"
                )
            if not 0 <= a < NUM_ACTIONS:
                raise ActionOutOfRange(
                    f"player {player} action on frame {frame} is {a}; "
                    f"ALE action ids are 0-{NUM_ACTIONS - 1}"
                )
        out.append(bytes(actions))
    return tuple(out)


def _checkpoint(value: object, index: int) -> Checkpoint:
    where = f"checkpoints[{index}]"
    c = _object(value, where)
    rewards = _list(_field(c, "rewards", where), f"{where}.rewards")
    return Checkpoint(
        frame=_field(c, "frame", where),
        digest=_field(c, "digest", where),
        rewards=tuple(rewards),
    )


def _end(value: object) -> End:
    e = _object(value, "end")
    return End(frame=_field(e, "frame", "end"), reason=_field(e, "reason", "end"))


def _controllers(value: object) -> tuple[tuple[ControllerRun, ...], ...]:
    per_player = _list(value, "controllers")
    out = []
    for player, runs in enumerate(per_player):
        where = f"controllers[{player}]"
        out.append(
            tuple(
                ControllerRun(
                    controller=_field(_object(r, where), "controller", where),
                    frames=_field(_object(r, where), "frames", where),
                )
                for r in _list(runs, where)
            )
        )
    return tuple(out)


def _event_dict(event: Event) -> dict[str, Any]:
    out: dict[str, Any] = {"frame": event.frame, "kind": event.kind}
    if event.kind == "ram_write":
        out["writes"] = [list(pair) for pair in event.writes]
    else:
        out["text"] = event.text
    if event.warning is not None:
        out["warning"] = {"frames": event.warning.frames, "text": event.warning.text}
    if event.name is not None:
        out["name"] = event.name
    return out


_EVENT_FIELDS = {"frame", "kind", "writes", "text", "warning", "name"}


def _events(doc: Mapping[str, Any]) -> tuple[Event, ...]:
    """The log's ``events``, checked against its format: ``/2`` has events, ``/1`` has none."""
    if doc.get("format") == FORMAT:
        if "events" in doc:
            raise MalformedLog(
                f"events needs format {FORMAT_WITH_EVENTS!r}: a {FORMAT} reader would replay the "
                "log without applying them"
            )
        return ()
    events = tuple(_event(e, i) for i, e in enumerate(_list(doc.get("events", []), "events")))
    if not events:
        raise MalformedLog(
            f"a {FORMAT_WITH_EVENTS} log must have at least one event; one without is {FORMAT}"
        )
    return events


def _event(value: object, index: int) -> Event:
    where = f"events[{index}]"
    e = _object(value, where)
    unknown = sorted(set(e) - _EVENT_FIELDS)
    if unknown:
        raise MalformedLog(f"{where} has unknown fields {unknown}; known: {sorted(_EVENT_FIELDS)}")
    kind = _field(e, "kind", where)
    writes: tuple[tuple[int, int], ...] = ()
    if kind == "ram_write":
        pairs = _list(_field(e, "writes", where), f"{where}.writes")
        writes = tuple(
            tuple(_list(pair, f"{where}.writes[{i}]"))  # length and values checked by Event
            for i, pair in enumerate(pairs)
        )
    elif "writes" in e and kind == "prompt":
        raise MalformedLog(f"{where}: only a ram_write has writes, this is {kind!r}")
    warning = e.get("warning")
    if warning is not None:
        w = _object(warning, f"{where}.warning")
        warning = EventWarning(
            frames=_field(w, "frames", f"{where}.warning"),
            text=_field(w, "text", f"{where}.warning"),
        )
    try:
        return Event(
            frame=_field(e, "frame", where),
            kind=kind,
            writes=writes,
            text=e.get("text"),
            warning=warning,
            name=e.get("name"),
        )
    except MalformedLog as err:
        raise MalformedLog(f"{where}: {err}") from None
