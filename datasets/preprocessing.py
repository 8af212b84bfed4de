"""Processed trajectories: DeepMind-style preprocessing, pixel-identical to Gymnasium's.

:func:`processed_trajectory` replays a log and returns ``(observations, actions, rewards,
terminals)`` as numpy arrays, one entry per *step* of ``downsample_frequency`` frames, ready for
offline RL (d3rlpy's ``MDPDataset`` takes them as they are). Frames are read in ALE's grayscale
palette (``getScreenGrayscale``, as Gymnasium does: no RGB-to-gray formula), max-pooled over the
last two frames of each step, resized to 84x84 with OpenCV's ``INTER_AREA`` and stacked.

:class:`Preprocessing` holds the options (agent, stacking, downsampling, checkpoint check) as one
value, validated when built; the trajectory cache (:mod:`crowdplay.datasets.cache`) and the
exports (:mod:`crowdplay.datasets.export`) take the same value. The guide's
``EpisodeModel.get_processed_trajectory(agent=..., stack_n=..., ...)`` builds it from its keywords.

What matches Gymnasium, and where we deliberately differ
---------------------------------------------------------
Reference: ``FrameStackObservation(AtariPreprocessing(env, noop_max=0, frame_skip=4,
screen_size=84, grayscale_obs=True), stack_size=4)`` over ``gymnasium.make("ALE/<Game>-v5",
frameskip=1, repeat_action_probability=0.25, full_action_space=True)``, reset with ``seed=X``,
then stepped with the log's action at the first frame of each group of four. Our episode must
have the ALE seed that reset sets: ``np.random.SeedSequence(X).generate_state(2)[1]`` (cast to
int32 by ale-py; only reset seeds for which that is non-negative fit a log's seed).

* ``observations[0]`` is the reset screen, not pooled, repeated ``stack_n`` times: Gymnasium
  pools the reset screen with a zeroed buffer (so it is the screen itself) and pads the stack with
  the reset observation. Equal (tests/datasets/test_preprocessing.py compares with
  ``np.array_equal``).
* ``observations[i]`` for ``i >= 1`` stacks the pooled frames after steps ``i-3 .. i`` (padded
  with ``observations[0]``'s frame at the start); step ``i``'s pooled frame is the maximum of the
  screens after its frames ``4i-1`` and ``4i``. Equal to Gymnasium's observation returned by step
  ``i``.
* The observation after the last step is not returned: each of our observations is the state in
  which its action was taken, so there are as many observations as actions. Gymnasium returns one
  after the terminal step, but it is stale: ``AtariPreprocessing.step`` leaves the loop on
  termination before it reads the screen, so that observation is built from the previous step's
  buffers (a mixture of the previous pooled frame and the screen before the last, or an exact
  repeat of the previous frame when the game ends on a group's first or second frame).
* ``actions[i]`` is the action of the group's first frame (Gymnasium repeats one action over the
  group; a human's log need not, and the actions on the other frames are not represented).
  ``rewards[i]`` is the sum over the group's frames, ``terminals[i]`` is game over (not
  truncation) after its last frame. A game that ends inside a group ends that (shorter) group,
  as Gymnasium's step stops early.
* ``downsample_offset`` > 0 (the paper's augmentation: four datasets from one episode) drops the
  first ``offset`` frames and their rewards; ``observations[0]`` then pools the screens after
  frames ``offset-1`` and ``offset`` like any other step. Gymnasium has no equivalent.
* A trailing group the log does not complete (a participant who stopped, not a game over or
  truncation) is dropped: its action would be held for frames nobody played.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import NamedTuple

import cv2
import numpy as np
from numpy.typing import NDArray

from crowdplay.episode import DEFAULT_AGENT, EpisodeLog, player_index
from crowdplay.errors import InvalidArgument
from crowdplay.verifier import initial_screen, transitions

__all__ = ["SCREEN_SIZE", "Preprocessing", "ProcessedTrajectory", "processed_trajectory"]

SCREEN_SIZE = 84
"""Side of the square observations, in pixels (DeepMind's and Gymnasium's default)."""


class ProcessedTrajectory(NamedTuple):
    """One agent's episode, preprocessed, one entry per step (``N`` of them) in each array.

    Unpacks as ``observations, actions, rewards, terminals``.

    Attributes:
        observations: ``uint8``, ``(N, 84, 84, stack_n)``, or ``(N, stack_n, 84, 84)`` with
            ``framestack_axis_first``; oldest frame first along the stack axis. A read-only view
            in which consecutive observations share their frames (an hour of play takes 380 MB,
            not ``stack_n`` times that); ``np.array(observations)`` makes a writable copy.
        actions: ``int64``, ``(N,)``, ALE action ids (0-17).
        rewards: ``int64``, ``(N,)``, the agent's reward summed over each step.
        terminals: ``bool``, ``(N,)``, game over after the step.
    """

    observations: NDArray[np.uint8]
    actions: NDArray[np.int64]
    rewards: NDArray[np.int64]
    terminals: NDArray[np.bool_]


@dataclass(frozen=True, slots=True, kw_only=True)
class Preprocessing:
    """How a trajectory is regenerated and preprocessed: every option of one processed trajectory.

    Validated when built, before any replay; numpy integers are stored as ``int``. The defaults
    are the dataset guide's: player 0, ``(N, 84, 84, 4)`` observations, four frames per step.
    Each export format has its own defaults (``crowdplay.datasets.export.FORMATS``).

    Example:
        >>> Preprocessing(framestack_axis_first=True, stack_n=1).observation_shape
        (1, 84, 84)
        >>> Preprocessing(downsample_offset=4)  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        ...
        crowdplay.errors.InvalidArgument: downsample_offset must be an integer in [0, 3] ...

    Attributes:
        agent: whose trajectory: ``"game_0>player_0"`` or, in two-player episodes,
            ``"game_0>player_1"`` (checked against the episode when it is replayed).
        stack_n: frames per observation (1 for no stacking, e.g. when d3rlpy stacks).
        framestack_axis_first: ``(stack_n, 84, 84)`` observations (d3rlpy's layout) instead of
            ``(84, 84, stack_n)``.
        downsample_frequency: frames per step (4, DeepMind's frame skip).
        downsample_offset: frames dropped at the start, ``0 .. downsample_frequency - 1``.
        check: compare the replay with the log's checkpoints and raise at the first difference.

    Raises:
        InvalidArgument: a field is of the wrong type or out of range (named, with what is
            accepted).
    """

    agent: str = DEFAULT_AGENT
    stack_n: int = 4
    framestack_axis_first: bool = False
    downsample_frequency: int = 4
    downsample_offset: int = 0
    check: bool = True

    def __post_init__(self) -> None:
        if not isinstance(self.agent, str):
            raise InvalidArgument(
                f"agent must be a string like 'game_0>player_0', got {self.agent!r}"
            )
        for name in ("stack_n", "downsample_frequency"):
            value = getattr(self, name)
            if not _is_int(value) or value < 1:
                raise InvalidArgument(f"{name} must be a positive integer, got {value!r}")
            object.__setattr__(self, name, int(value))
        offset, frequency = self.downsample_offset, self.downsample_frequency
        if not _is_int(offset) or not 0 <= offset < frequency:
            raise InvalidArgument(
                f"downsample_offset must be an integer in [0, {frequency - 1}] "
                f"(below downsample_frequency = {frequency}), got {offset!r}"
            )
        object.__setattr__(self, "downsample_offset", int(offset))
        for name in ("framestack_axis_first", "check"):
            if not isinstance(getattr(self, name), bool):
                raise InvalidArgument(f"{name} must be True or False, got {getattr(self, name)!r}")

    @property
    def observation_shape(self) -> tuple[int, int, int]:
        """The shape of one observation."""
        if self.framestack_axis_first:
            return (self.stack_n, SCREEN_SIZE, SCREEN_SIZE)
        return (SCREEN_SIZE, SCREEN_SIZE, self.stack_n)

    def as_dict(self) -> dict[str, object]:
        """The options by name (recorded in every export's metadata)."""
        return asdict(self)


def _is_int(value: object) -> bool:
    return isinstance(value, int | np.integer) and not isinstance(value, bool)


def processed_trajectory(
    log: EpisodeLog, preprocessing: Preprocessing | None = None
) -> ProcessedTrajectory:
    """Replay ``log`` and return its preprocessed trajectory (see the module docstring).

    Example:
        >>> from crowdplay.verifier import make_env, record
        >>> log = record(make_env("pong"), 1, (bytes(400),), episode_id="doc")
        >>> o, a, r, t = processed_trajectory(log)
        >>> o.shape, a.shape
        ((100, 84, 84, 4), (100,))
        >>> d3rlpy_layout = Preprocessing(framestack_axis_first=True, stack_n=1)
        >>> processed_trajectory(log, d3rlpy_layout).observations.shape
        (100, 1, 84, 84)

    Args:
        log: the episode.
        preprocessing: whose trajectory and how to preprocess it; None for the defaults
            (``Preprocessing()``: player 0, ``(N, 84, 84, 4)``, four frames per step).

    Raises:
        InvalidArgument: ``preprocessing`` is not a :class:`Preprocessing` (raised before any
            replay; its fields were checked when it was built).
        UnknownAgent: ``preprocessing.agent`` is not one of the episode's agents.
        ReplayDiverged: with ``preprocessing.check``, the replay differs from a checkpoint.
        UnknownRom, RomMismatch, UnsupportedEnvironment: see
            :func:`crowdplay.verifier.open_emulator`.
    """
    if preprocessing is None:
        preprocessing = Preprocessing()
    elif not isinstance(preprocessing, Preprocessing):
        raise InvalidArgument(
            f"preprocessing must be a Preprocessing (or None for the defaults), "
            f"got {preprocessing!r}"
        )
    player = player_index(log, preprocessing.agent)
    frames, actions, rewards, terminals = _steps(log, player, preprocessing)
    return ProcessedTrajectory(
        observations=_stack(frames, preprocessing),
        actions=np.array(actions, dtype=np.int64),
        rewards=np.array(rewards, dtype=np.int64),
        terminals=np.array(terminals, dtype=np.bool_),
    )


def _steps(
    log: EpisodeLog, player: int, preprocessing: Preprocessing
) -> tuple[list[NDArray[np.uint8]], list[int], list[int], list[bool]]:
    """Replay once: each step's pooled, resized frame before it, action, reward and terminal."""
    frequency, offset = preprocessing.downsample_frequency, preprocessing.downsample_offset
    frames: list[NDArray[np.uint8]] = []
    actions: list[int] = []
    rewards: list[int] = []
    terminals: list[bool] = []
    if log.num_frames < offset:
        return frames, actions, rewards, terminals
    screen = initial_screen(log, screens="grayscale")
    if offset == 0:
        frames.append(_downsample(screen))
    action = reward = 0
    for t in transitions(log, screens="grayscale", check=preprocessing.check):
        assert t.screen is not None  # asked for above; narrows the type
        previous, screen = screen, t.screen
        position = t.frame - offset - 1  # the frame's index in its group, once past the offset
        if position < 0:
            if position == -1:
                frames.append(_downsample(_pool(previous, screen, frequency)))
            continue
        position %= frequency
        if position == 0:
            action, reward = t.actions[player], 0
        reward += t.rewards[player]
        ended = t.terminated or t.truncated
        if position == frequency - 1 or ended:
            actions.append(action)
            rewards.append(reward)
            terminals.append(t.terminated)
            if not ended:
                frames.append(_downsample(_pool(previous, screen, frequency)))
    # The frame after the last complete step is the observation of a step nobody played.
    return frames[: len(actions)], actions, rewards, terminals


def _pool(
    previous: NDArray[np.uint8], screen: NDArray[np.uint8], frequency: int
) -> NDArray[np.uint8]:
    """The maximum of a step's last two screens (its only screen when a step is one frame)."""
    return screen if frequency == 1 else np.maximum(previous, screen)


def _downsample(screen: NDArray[np.uint8]) -> NDArray[np.uint8]:
    """A 210x160 grayscale screen resized to 84x84 by area averaging, as Gymnasium does."""
    resized = cv2.resize(screen, (SCREEN_SIZE, SCREEN_SIZE), interpolation=cv2.INTER_AREA)
    return np.asarray(resized, dtype=np.uint8)  # already uint8; types OpenCV's MatLike


def _stack(frames: list[NDArray[np.uint8]], preprocessing: Preprocessing) -> NDArray[np.uint8]:
    """Observation ``i`` stacks frames ``i - stack_n + 1 .. i``, padded with frame 0 at the start.

    The result is a read-only view on one copy of the frames.
    """
    n = preprocessing.stack_n
    if not frames:
        return np.empty((0, *preprocessing.observation_shape), dtype=np.uint8)
    padded = np.stack([frames[0]] * (n - 1) + frames)
    windows = np.lib.stride_tricks.sliding_window_view(padded, n, axis=0)  # (N, 84, 84, n)
    return np.moveaxis(windows, -1, 1) if preprocessing.framestack_axis_first else windows
