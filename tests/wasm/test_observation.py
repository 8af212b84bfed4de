"""The browser's processed observations (client/js/observation.mjs) equal crowdplay.datasets'.

``wasm/observations.mjs`` replays a log recorded through ale-py in the WebAssembly emulator, as the
browser plays it, and turns the RGBA screen after the reset and after every frame into ALE's
grayscale and then into observations with the browser's module. Both are compared byte for byte:
the grayscale screens with ale-py's ``getScreenGrayscale`` (through ``crowdplay.verifier``), the
observations with :func:`crowdplay.datasets.processed_trajectory` over the same log. The resize
alone is also compared with ``cv2.resize(..., INTER_AREA)`` on images unlike real frames (noise,
every constant), where float32 rounding and ties to even decide many pixels, and the grayscale
alone with every colour of ALE's palette tables, read from the pinned ale-py sdist the WebAssembly
build is compiled from.
"""

from __future__ import annotations

import base64
import json
import re
import subprocess
import tarfile
from typing import NamedTuple

import ale_py
import cv2
import numpy as np
import pytest
from numpy.typing import NDArray

from crowdplay.datasets import SCREEN_SIZE, Preprocessing, processed_trajectory
from crowdplay.episode import EpisodeLog, to_dict
from crowdplay.verifier import initial_screen, make_env, record, transitions
from tests.conftest import REPO, random_actions
from tests.wasm.conftest import NodeTools

pytestmark = pytest.mark.wasm

SCREEN = (210, 160)
FRAMES = 800


class Observed(NamedTuple):
    """What wasm/observations.mjs wrote for a log."""

    frames: int
    screens: NDArray[np.uint8]  # (frames + 1, 210, 160)
    observations: NDArray[np.uint8]  # (n, *preprocessing.observation_shape)


def _observe(node_tools: NodeTools, log: EpisodeLog, preprocessing: Preprocessing) -> Observed:
    spec = {
        "log": to_dict(log),
        "stack_n": preprocessing.stack_n,
        "downsample_frequency": preprocessing.downsample_frequency,
        "framestack_axis_first": preprocessing.framestack_axis_first,
    }
    result = node_tools.run("observations.mjs", spec, ".bin")
    assert result.returncode == 0, result.stderr.decode()
    head, _, body = result.stdout.partition(b"\n")
    header = json.loads(head)
    frames, count = header["frames"], header["observations"]
    assert header["observation_bytes"] == np.prod(preprocessing.observation_shape)
    data = np.frombuffer(body, dtype=np.uint8)
    screen_bytes = (frames + 1) * SCREEN[0] * SCREEN[1]
    assert data.size == screen_bytes + count * header["observation_bytes"]
    return Observed(
        frames=frames,
        screens=data[:screen_bytes].reshape(frames + 1, *SCREEN),
        observations=data[screen_bytes:].reshape(count, *preprocessing.observation_shape),
    )


def _grayscale_screens(log: EpisodeLog) -> NDArray[np.uint8]:
    """ale-py's grayscale screen after the reset and after every frame of ``log``."""
    screens = [initial_screen(log, screens="grayscale")]
    screens += [t.screen for t in transitions(log, screens="grayscale") if t.screen is not None]
    return np.stack(screens)


def assert_identical(actual: NDArray[np.uint8], expected: NDArray[np.uint8], what: str) -> None:
    """Equal shapes and bytes; otherwise fail saying how many bytes differ and by how much."""
    assert actual.shape == expected.shape, f"{what}: shape {actual.shape} != {expected.shape}"
    difference = np.abs(actual.astype(np.int16) - expected.astype(np.int16))
    if difference.any():
        where = np.unravel_index(int(np.argmax(difference)), difference.shape)
        message = (
            f"{what}: {np.count_nonzero(difference)} of {difference.size} bytes differ, "
            f"largest difference {int(difference.max())} at {tuple(map(int, where))} "
            f"(browser {int(actual[where])}, Python {int(expected[where])})"
        )
        print(message)
        pytest.fail(message)


def _recorded(game: str, seed: int, **env: int) -> EpisodeLog:
    actions = random_actions(FRAMES, seed, hold=4)
    return record(make_env(game, **env), seed, (actions,), episode_id=f"observation-{game}")


def _compare(node_tools: NodeTools, log: EpisodeLog, preprocessing: Preprocessing) -> int:
    """Run both pipelines on ``log``; return how many observations were compared."""
    observed = _observe(node_tools, log, preprocessing)
    assert observed.frames == log.num_frames
    assert_identical(observed.screens, _grayscale_screens(log), "grayscale screens")

    expected = processed_trajectory(log, preprocessing).observations
    # The browser also has the observation after the last complete step, which Python drops.
    frequency = preprocessing.downsample_frequency
    assert len(observed.observations) == log.num_frames // frequency + 1
    assert len(expected) <= len(observed.observations)
    assert_identical(observed.observations[: len(expected)], expected, "observations")
    return len(expected)


@pytest.mark.parametrize(
    ("game", "seed", "env"),
    [
        ("space_invaders", 3, {}),
        ("breakout", 5, {}),
        ("pong", 7, {}),
        ("riverraid", 9, {}),
        ("seaquest", 11, {"max_num_frames_per_episode": 501}),  # truncated inside a step
    ],
)
def test_observations_equal_processed_trajectories(
    node_tools: NodeTools, game: str, seed: int, env: dict[str, int]
) -> None:
    log = _recorded(game, seed, **env)
    if env:
        assert log.end is not None and log.end.reason == "truncated" and log.num_frames == 501
    else:
        assert log.num_frames == FRAMES  # no game over: every step is a complete one
    steps = _compare(node_tools, log, Preprocessing())
    assert steps >= 125
    # The frames change from step to step: a pipeline that froze or dropped them would differ.
    newest = processed_trajectory(log).observations[:, :, :, -1].reshape(steps, -1)
    assert len(np.unique(newest, axis=0)) > 10


@pytest.mark.parametrize(
    ("stack_n", "frequency", "axis_first"), [(4, 4, True), (2, 3, False), (1, 1, True)]
)
def test_options_equal_python_options(
    node_tools: NodeTools, stack_n: int, frequency: int, axis_first: bool
) -> None:
    log = _recorded("space_invaders", 13)
    preprocessing = Preprocessing(
        stack_n=stack_n, downsample_frequency=frequency, framestack_axis_first=axis_first
    )
    assert _compare(node_tools, log, preprocessing) >= FRAMES // frequency


def _noise_and_constants() -> NDArray[np.uint8]:
    rng = np.random.default_rng(2026)
    noise = rng.integers(0, 256, (200, *SCREEN), dtype=np.uint8)
    black_and_white = rng.choice(np.array([0, 255], dtype=np.uint8), (50, *SCREEN))
    four_levels = rng.integers(0, 4, (50, *SCREEN), dtype=np.uint8) * 85
    constants = np.broadcast_to(np.arange(256, dtype=np.uint8)[:, None, None], (256, *SCREEN))
    return np.concatenate([noise, black_and_white, four_levels, constants])


def test_downsample_equals_opencv_inter_area(node_tools: NodeTools) -> None:
    screens = _noise_and_constants()
    result = node_tools.run(
        "observations.mjs", {"screens": base64.b64encode(screens.tobytes()).decode()}, ".bin"
    )
    assert result.returncode == 0, result.stderr.decode()
    head, _, body = result.stdout.partition(b"\n")
    assert json.loads(head) == {"frames": len(screens)}
    ours = np.frombuffer(body, dtype=np.uint8).reshape(len(screens), SCREEN_SIZE, SCREEN_SIZE)
    expected = np.stack(
        [cv2.resize(s, (SCREEN_SIZE, SCREEN_SIZE), interpolation=cv2.INTER_AREA) for s in screens]
    )
    assert_identical(ours, expected, "resized frames")


def _palettes() -> dict[str, list[int]]:
    """ALE's palette tables (common/Palettes.hpp) from the sdist that wasm/build.py compiles.

    Each has 256 entries: the colour of index ``2i``, and its grayscale (a gray) at ``2i + 1``.
    """
    sdist = REPO / ".cache" / "wasm" / f"ale_py-{ale_py.__version__}.tar.gz"
    if not sdist.is_file():
        pytest.fail(f"{sdist} is missing: run ./just wasm")
    member = f"ale_py-{ale_py.__version__}/src/ale/common/Palettes.hpp"
    with tarfile.open(sdist) as tar:
        source = tar.extractfile(member)
        assert source is not None, member
        text = source.read().decode()
    tables = {
        name: [int(v, 16) for v in re.findall(r"0x[0-9a-fA-F]+", body)]
        for name, body in re.findall(r"uint32_t (\w+)\[256\] = \{(.*?)\};", text, re.DOTALL)
    }
    assert len(tables) == 6 and all(len(t) == 256 for t in tables.values()), list(tables)
    return tables


def test_grayscale_is_ales_for_every_palette_colour(node_tools: NodeTools) -> None:
    rgba, expected = bytearray(), bytearray()
    for table in _palettes().values():
        for colour, gray in zip(table[0::2], table[1::2], strict=True):
            assert gray == (gray & 0xFF) * 0x010101, f"{gray:06x} is not gray"
            rgba += bytes([colour >> 16 & 0xFF, colour >> 8 & 0xFF, colour & 0xFF, 255])
            expected.append(gray & 0xFF)
    result = node_tools.run("observations.mjs", {"rgba": base64.b64encode(rgba).decode()}, ".bin")
    assert result.returncode == 0, result.stderr.decode()
    head, _, body = result.stdout.partition(b"\n")
    assert json.loads(head) == {"pixels": len(expected)}
    assert_identical(
        np.frombuffer(body, dtype=np.uint8), np.frombuffer(bytes(expected), dtype=np.uint8), "grays"
    )


def test_bad_input_is_refused_with_a_message(node_tools: NodeTools) -> None:
    result = node_tools.run(
        "observations.mjs", {"screens": base64.b64encode(b"x" * 100).decode()}, ".bin"
    )
    assert result.returncode == 2
    assert b"whole number of 33600-byte screens" in result.stderr


def test_module_refuses_misuse_with_a_message(node: str) -> None:
    script = """
    import { ObservationStack, downsample } from "./client/js/observation.mjs";
    const attempts = [
      () => new ObservationStack({ stackSize: 0 }),
      () => new ObservationStack({ frameSkip: 2.5 }),
      () => new ObservationStack({ axisFirst: 1 }),
      () => new ObservationStack().push(new Uint8Array(210 * 160)),
      () => new ObservationStack().reset(new Uint8Array(84 * 84)),
      () => downsample([0, 1, 2]),
    ];
    for (const attempt of attempts) {
      try { attempt(); console.log("accepted"); } catch (e) { console.log(e.message); }
    }
    """
    result = subprocess.run(
        [node, "--input-type=module", "-e", script],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    assert result.stdout.splitlines() == [
        "ObservationStack: stackSize must be a positive integer, got 0",
        "ObservationStack: frameSkip must be a positive integer, got 2.5",
        "ObservationStack: axisFirst must be true or false, got 1",
        "ObservationStack.push before reset: reset with the first screen",
        "ObservationStack.reset expects a grayscale screen, a Uint8Array of 210*160 = 33600 bytes, "
        "got Uint8Array of 7056 elements",
        "downsample expects a grayscale screen, a Uint8Array of 210*160 = 33600 bytes, got [0,1,2]",
    ]
