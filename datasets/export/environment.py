"""The Gymnasium environment whose observations an export's are: ale-py's v5 env, preprocessed.

Processed trajectories are pixel-identical to ``FrameStackObservation(AtariPreprocessing(
gymnasium.make("ALE/<Game>-v5", frameskip=1, ...), noop_max=0, ...), stack_n)``
(``crowdplay.datasets.preprocessing`` says where and why they deliberately differ: the
observation after a terminal step, and ``downsample_offset``). :func:`gymnasium_spec` writes that
environment, with an episode's emulator settings, as a Gymnasium ``EnvSpec``: ``gymnasium.make``
of it is the environment, and the Minari export stores it so that Minari's
``recover_environment()`` and d3rlpy's ``get_minari`` find it.

The spec names only ale-py and Gymnasium (no CrowdPlay code), so it can be made wherever those two
are installed. Its ``max_episode_steps`` is the episode's frame limit (``TimeLimit`` sits below the
preprocessing wrappers and counts emulator frames, so it truncates on the frame ALE does).

Example:
    >>> import gymnasium
    >>> from crowdplay.datasets import Preprocessing
    >>> from crowdplay.verifier import make_env
    >>> spec = gymnasium_spec(make_env("pong"), Preprocessing(framestack_axis_first=True))
    >>> spec.id, [w.name for w in spec.additional_wrappers]
    ('ALE/Pong-v5', ['AtariPreprocessing', 'FrameStackObservation'])
    >>> gymnasium.make(spec).observation_space.shape
    (4, 84, 84)
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from crowdplay.datasets import SCREEN_SIZE, Preprocessing
from crowdplay.episode import EnvSpec
from crowdplay.errors import UnsupportedEnvironment

if TYPE_CHECKING:
    from gymnasium.envs.registration import EnvSpec as GymnasiumEnvSpec

__all__ = ["gymnasium_spec"]


def gymnasium_spec(env: EnvSpec, preprocessing: Preprocessing) -> GymnasiumEnvSpec:
    """The Gymnasium environment of episodes played with ``env``, preprocessed as asked.

    Args:
        env: the episodes' emulator settings (game, mode, difficulty, sticky actions, frame
            limit).
        preprocessing: how their observations were preprocessed.

    Raises:
        UnsupportedEnvironment: no Gymnasium environment gives these observations: two-player
            episodes (ale-py's Gymnasium environment has one player), observations stacked on
            the last axis (``FrameStackObservation`` stacks on the first), or a game ale-py
            registers no v5 environment for.
    """
    if env.players != 1:
        raise UnsupportedEnvironment(
            f"{env.game} was played by {env.players} players; ale-py's Gymnasium environment "
            "has one"
        )
    if not preprocessing.framestack_axis_first and preprocessing.stack_n > 1:
        raise UnsupportedEnvironment(
            f"observations {preprocessing.observation_shape} stack frames on the last axis; "
            "Gymnasium's FrameStackObservation stacks them on the first (framestack_axis_first)"
        )
    import gymnasium
    from ale_py.registration import rom_id_to_name
    from gymnasium.envs.registration import EnvSpec as GymnasiumEnvSpec
    from gymnasium.wrappers import AtariPreprocessing, FrameStackObservation

    # The id ale-py registers, made from its entry point: ale-py 0.12 registers nothing under
    # Gymnasium 1.0 (its vector env needs a newer Gymnasium), and the spec must not need it.
    env_id = f"ALE/{rom_id_to_name(env.game)}-v5"
    base_spec = GymnasiumEnvSpec(
        id=env_id,
        entry_point="ale_py.env:AtariEnv",
        max_episode_steps=env.max_num_frames_per_episode or None,
        kwargs={
            "game": env.game,
            "mode": env.mode,
            "difficulty": env.difficulty,
            "repeat_action_probability": env.repeat_action_probability,
            "full_action_space": True,
            "frameskip": 1,
            "max_num_frames_per_episode": env.max_num_frames_per_episode,
        },
    )
    try:
        base = gymnasium.make(base_spec)
    except gymnasium.error.Error as err:
        raise UnsupportedEnvironment(f"ale-py cannot make {env_id}: {err}") from None
    made: gymnasium.Env[object, object] = AtariPreprocessing(
        base,
        noop_max=0,
        frame_skip=preprocessing.downsample_frequency,
        screen_size=SCREEN_SIZE,
        grayscale_obs=True,
        grayscale_newaxis=not preprocessing.framestack_axis_first,
    )
    if preprocessing.framestack_axis_first:
        made = FrameStackObservation(made, stack_size=preprocessing.stack_n)
    try:
        shape = made.observation_space.shape
        spec = made.spec
    finally:
        made.close()
    if spec is None or shape != preprocessing.observation_shape:
        raise UnsupportedEnvironment(  # a Gymnasium release that preprocesses differently
            f"{env_id} preprocessed by Gymnasium {gymnasium.__version__} gives observations "
            f"{shape}, not {preprocessing.observation_shape}"
        )
    return spec
