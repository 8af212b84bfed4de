"""CrowdPlay: crowdsourced human demonstrations in Atari games, verified by replay.

Packages: :mod:`crowdplay.episode` (the episode log), :mod:`crowdplay.verifier` (replay and
verdicts), :mod:`crowdplay.roms` (the ROM catalogue), :mod:`crowdplay.errors`.
"""

__version__ = "0.1.0"
__all__ = ["__version__"]
