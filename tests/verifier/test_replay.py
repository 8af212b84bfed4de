"""Screens in a replay: RGB as before, grayscale from ALE's palette, and the reset screen."""

from __future__ import annotations

import numpy as np
import pytest

from crowdplay.episode import EpisodeLog
from crowdplay.errors import InvalidArgument
from crowdplay.verifier import initial_screen, make_env, record, transitions
from tests.conftest import bare_ale_for, random_actions


@pytest.fixture(scope="module")
def log() -> EpisodeLog:
    return record(make_env("breakout"), 9, (random_actions(200, 9, hold=2),), episode_id="screens")


def test_grayscale_and_rgb_screens_are_ale_py_s(log: EpisodeLog) -> None:
    ale = bare_ale_for(log)
    assert np.array_equal(initial_screen(log), ale.getScreenRGB())
    assert np.array_equal(initial_screen(log, screens="grayscale"), ale.getScreenGrayscale())
    gray = transitions(log, screens="grayscale")
    rgb = transitions(log, screens="rgb")
    legacy = transitions(log, screens=True)
    for g, c, old, action in zip(gray, rgb, legacy, log.actions[0], strict=True):
        ale.act(action)
        assert g.screen is not None and g.screen.shape == (210, 160)
        assert np.array_equal(g.screen, ale.getScreenGrayscale())
        assert c.screen is not None and old.screen is not None
        assert np.array_equal(c.screen, ale.getScreenRGB())
        assert np.array_equal(old.screen, c.screen)


def test_no_screens_by_default(log: EpisodeLog) -> None:
    assert all(t.screen is None for t in transitions(log))


@pytest.mark.parametrize("screens", ["gray", "RGB", 1, None])
def test_an_unknown_screen_kind_is_refused_before_replay(log: EpisodeLog, screens: object) -> None:
    with pytest.raises(InvalidArgument, match="screens must be False, True, 'rgb' or 'grayscale'"):
        transitions(log, screens=screens)  # type: ignore[arg-type]
    with pytest.raises(InvalidArgument):
        initial_screen(log, screens=screens)  # type: ignore[arg-type]
