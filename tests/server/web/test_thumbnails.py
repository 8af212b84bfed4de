"""Task thumbnails: real frames of the game, rendered by ale-py, served as cacheable PNGs."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import cv2
import numpy as np
import pytest
from ale_py import ALEInterface, LoggerMode
from numpy.typing import NDArray
from quart import Quart
from quart.typing import TestClientProtocol as Client

from crowdplay import roms
from crowdplay.errors import ConfigError
from crowdplay.server import Settings, create_app, load_tasks
from crowdplay.server.web.thumbnails import (
    HOLD_FRAMES,
    PATTERN,
    SEED,
    ThumbnailError,
    ThumbnailKey,
    encode_png,
    render_screen,
)

# The CrowdPlay paper's six games (the shipped demo tasks).
GAMES = ["space_invaders", "riverraid", "montezuma_revenge", "qbert", "breakout", "beam_rider"]


def tasks_file(folder: Path, extra: str = "") -> Path:
    """A tasks file with one task per game of :data:`GAMES` (id = game), plus ``extra``."""
    path = folder / "tasks.toml"
    path.write_text(
        "".join(
            f'[[task]]\nid = "{g}"\ntitle = "{g}"\ngame = "{g}"\ndescription = "d"\n'
            'instructions = "i"\nsession_minutes = 10\n'
            for g in GAMES
        )
        + extra
    )
    return path


@pytest.fixture
async def app(tmp_path: Path) -> AsyncIterator[Quart]:
    """The real app on a SQLite file, with a tasks file of this module's own."""
    settings = Settings(
        db_path=tmp_path / "db.sqlite",
        tasks_file=tasks_file(tmp_path),
        secret_key="s" * 40,
        admin_token="a" * 24,
    )
    app = create_app(settings)
    async with app.test_app():
        yield app


@pytest.fixture
def client(app: Quart) -> Client:
    return app.test_client()


def ale_screen(game: str, frames: int) -> NDArray[np.uint8]:
    """The screen after ``frames`` of the thumbnail pattern, straight from ale-py (no CrowdPlay)."""
    ALEInterface.setLoggerMode(LoggerMode.Error)
    ale = ALEInterface()
    ale.setInt("random_seed", SEED)
    ale.setFloat("repeat_action_probability", 0.0)
    ale.setInt("frame_skip", 1)
    ale.setInt("max_num_frames_per_episode", 108_000)
    ale.loadROM(roms.rom_path(game))
    ale.setMode(ale.getAvailableModes()[0])
    difficulties = list(ale.getAvailableDifficulties())
    ale.setDifficulty(0 if 0 in difficulties else difficulties[0])
    ale.reset_game()
    for frame in range(frames):
        ale.act(PATTERN[(frame // HOLD_FRAMES) % len(PATTERN)])
        if ale.game_over():
            break
    screen: NDArray[np.uint8] = ale.getScreenRGB()
    return screen


def decode_png(data: bytes) -> NDArray[np.uint8]:
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    bgr = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
    assert bgr is not None, "the PNG does not decode"
    rgb: NDArray[np.uint8] = cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)
    return rgb


async def test_the_endpoint_serves_the_ale_py_screen_as_a_cacheable_png(client: Client) -> None:
    response = await client.get("/api/tasks/breakout/thumbnail.png")
    assert response.status_code == 200
    assert response.content_type == "image/png"
    assert "max-age=" in response.headers["Cache-Control"]
    assert "public" in response.headers["Cache-Control"]
    image = decode_png(await response.get_data())
    assert image.shape == (210, 160, 3)
    assert np.array_equal(image, ale_screen("breakout", 600))


async def test_a_current_copy_is_answered_304_and_a_stale_one_gets_the_png(client: Client) -> None:
    first = await client.get("/api/tasks/qbert/thumbnail.png")
    etag = first.headers["ETag"]
    assert etag.startswith('"') and etag.endswith('"')
    again = await client.get("/api/tasks/qbert/thumbnail.png", headers={"If-None-Match": etag})
    assert again.status_code == 304
    assert await again.get_data() == b""
    stale = await client.get("/api/tasks/qbert/thumbnail.png", headers={"If-None-Match": '"x"'})
    assert stale.status_code == 200
    assert await stale.get_data() == await first.get_data()


async def test_thumbnails_are_rendered_once_per_game_and_settings(
    app: Quart, client: Client
) -> None:
    cache = app.extensions["crowdplay.thumbnails"]
    for _ in range(3):
        assert (await client.get("/api/tasks/beam_rider/thumbnail.png")).status_code == 200
    assert (await client.get("/api/tasks/breakout/thumbnail.png")).status_code == 200
    assert len(cache) == 2


async def test_an_unknown_task_has_no_thumbnail(client: Client) -> None:
    response = await client.get("/api/tasks/tetris/thumbnail.png")
    assert response.status_code == 404
    assert "tetris" in (await response.get_json())["error"]


@pytest.mark.parametrize("game", GAMES)
def test_every_paper_game_thumbnail_shows_the_game_in_play(game: str) -> None:
    """Not the black or static title screen: many colours, and a different picture than at reset."""
    key = ThumbnailKey.of(game, None, None, 600)
    screen = render_screen(key)
    at_reset = render_screen(ThumbnailKey.of(game, None, None, 0))
    assert np.array_equal(decode_png(encode_png(screen)), screen)
    colours = np.unique(screen.reshape(-1, 3), axis=0)
    assert len(colours) >= 4, f"{game}: only {len(colours)} colours"
    assert (screen != 0).any(axis=2).mean() > 0.05, f"{game}: the screen is nearly black"
    assert not np.array_equal(screen, at_reset), f"{game}: nothing moved in 600 frames"


def test_the_frame_and_the_settings_make_the_key() -> None:
    a = ThumbnailKey.of("space_invaders", None, None, 600)
    assert a == ThumbnailKey.of("space_invaders", 0, 0, 600)
    assert a.etag != ThumbnailKey.of("space_invaders", None, None, 300).etag
    assert a.etag != ThumbnailKey.of("space_invaders", None, 1, 600).etag
    with pytest.raises(ThumbnailError, match="no_such_game"):
        ThumbnailKey.of("no_such_game", None, None, 600)
    with pytest.raises(ThumbnailError, match="negative"):
        ThumbnailKey.of("breakout", None, None, -1)
    with pytest.raises(ThumbnailError, match="mode"):
        render_screen(ThumbnailKey("breakout", a.rom_md5, 99, 0, 10))


async def test_a_task_thumbnail_frame_from_the_tasks_file_is_used(tmp_path: Path) -> None:
    tasks = tasks_file(
        tmp_path,
        '[[task]]\nid = "early"\ntitle = "T"\ngame = "riverraid"\ndescription = "d"\n'
        'instructions = "i"\nsession_episodes = 1\nthumbnail_frame = 200\n',
    )
    settings = Settings(
        db_path=tmp_path / "db.sqlite",
        tasks_file=tasks,
        secret_key="s" * 40,
        admin_token="a" * 24,
    )
    app = create_app(settings)
    async with app.test_app():
        response = await app.test_client().get("/api/tasks/early/thumbnail.png")
        image = decode_png(await response.get_data())
    assert np.array_equal(image, ale_screen("riverraid", 200))
    assert not np.array_equal(image, ale_screen("riverraid", 600))


@pytest.mark.parametrize("value", [-1, 1.5, "600", 100_001, True])
def test_a_bad_thumbnail_frame_is_refused_naming_task_and_field(
    tmp_path: Path, value: object
) -> None:
    tasks = tmp_path / "tasks.toml"
    literal = f'"{value}"' if isinstance(value, str) else str(value).lower()
    tasks.write_text(
        '[[task]]\nid = "bad"\ntitle = "T"\ngame = "breakout"\ndescription = "d"\n'
        f'instructions = "i"\nsession_episodes = 1\nthumbnail_frame = {literal}\n'
    )
    with pytest.raises(ConfigError, match=r"task 'bad': field 'thumbnail_frame'"):
        load_tasks(tasks)
