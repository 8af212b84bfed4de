"""Process pools and Ray give exactly the output of a single process."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from crowdplay.datasets.export import export, load_npz
from crowdplay.datasets.export.npz import NpzExport
from crowdplay.episode import EpisodeLog
from crowdplay.errors import ExportError
from tests.datasets.export.conftest import doctored


def _assert_same(a: NpzExport, b: NpzExport) -> None:
    for name in ("observations", "actions", "rewards", "terminals", "timeouts", "episode_starts"):
        assert np.array_equal(getattr(a, name), getattr(b, name)), name
    assert list(a.episode_ids) == list(b.episode_ids)
    assert a.metadata == b.metadata


@pytest.fixture(scope="module")
def single(tmp_path_factory: pytest.TempPathFactory, logs: list[EpisodeLog]) -> NpzExport:
    path = tmp_path_factory.mktemp("single") / "out.npz"
    export(logs * 2, path, workers=1, progress=False)
    return load_npz(path)


def test_two_worker_processes_write_what_one_process_writes(
    tmp_path: Path, logs: list[EpisodeLog], single: NpzExport
) -> None:
    # Six episodes of unequal length through two workers: results come back out of order.
    path = tmp_path / "out.npz"
    summary = export(iter(logs * 2), path, workers=2, progress=False)
    assert summary.episodes == 6
    _assert_same(load_npz(path), single)


def test_a_failure_in_a_worker_names_the_episode(tmp_path: Path, logs: list[EpisodeLog]) -> None:
    with pytest.raises(ExportError, match="episode doctored could not be regenerated: Replay"):
        export([*logs, doctored(logs[1])], tmp_path / "x.npz", workers=2, progress=False)
    assert list(tmp_path.iterdir()) == []


@pytest.fixture(scope="module")
def ray_instance(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """A real single-CPU Ray instance on this machine (Ray has no local mode any more).

    Its files go to a temporary folder; token authentication is off so that Ray writes no
    token into the home folder (the instance serves this test only).
    """
    import ray

    with pytest.MonkeyPatch.context() as env:
        env.setenv("RAY_AUTH_MODE", "disabled")
        ray.init(
            num_cpus=1,
            include_dashboard=False,
            log_to_driver=False,
            _temp_dir=str(tmp_path_factory.mktemp("ray")),
        )
        try:
            yield
        finally:
            ray.shutdown()


@pytest.mark.slow
def test_ray_writes_what_one_process_writes(
    ray_instance: None, tmp_path: Path, logs: list[EpisodeLog], single: NpzExport
) -> None:
    path = tmp_path / "out.npz"
    summary = export(logs * 2, path, ray=True, progress=False)
    assert summary.episodes == 6
    _assert_same(load_npz(path), single)
