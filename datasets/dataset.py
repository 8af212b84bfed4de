"""Opening and creating datasets: folders holding one SQLite file (docs/dataset-format.md).

A dataset is named either by a *name*, resolved under the data root, or by a *path*:

* a name (``crowdplay_atari-v0``: letters, digits, ``.``, ``_``, ``-``, no separator) is the
  folder ``$CROWDPLAY_DATA/<name>``, the data root defaulting to ``~/.crowdplay/datasets``;
* anything holding a path separator, or naming an existing directory, is used as the folder.

Public API (stable):

* :func:`get_engine_and_session` — ``(engine, session)`` on a dataset, as in the dataset guide;
  ``create=True`` creates a missing dataset.
* :func:`open_dataset` — the same as a context manager that closes the session and disposes the
  engine.
* :func:`dataset_path`, :func:`data_root` — where a name or path resolves.
* :func:`get_info`, :func:`set_info` — the dataset's own key/value table, e.g. for a sync cursor.
* :data:`FORMAT`, :data:`SUPPORTED_FORMATS`, :data:`DATABASE_FILE`, :data:`DATA_ENV_VAR`.

Example:
    >>> from crowdplay.datasets import EpisodeModel, get_engine_and_session
    >>> engine, session = get_engine_and_session("crowdplay_atari-v0")  # doctest: +SKIP
    >>> episodes = session.query(EpisodeModel).all()  # doctest: +SKIP
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event, inspect, select
from sqlalchemy.orm import Session

from crowdplay.datasets.models import DATASET_PATH_KEY, Base, DatasetInfoModel
from crowdplay.errors import DatasetNotFound, InvalidArgument, UnsupportedDatasetFormat

__all__ = [
    "FORMAT",
    "SUPPORTED_FORMATS",
    "DATABASE_FILE",
    "CACHE_DIR",
    "DATA_ENV_VAR",
    "DEFAULT_DATA_ROOT",
    "data_root",
    "dataset_path",
    "get_engine_and_session",
    "open_dataset",
    "get_info",
    "set_info",
]

FORMAT = "crowdplay.dataset/1"
"""The format version this code writes, stored under the ``format`` key of ``dataset_info``."""

SUPPORTED_FORMATS = frozenset({FORMAT})
"""The format versions this code reads."""

DATABASE_FILE = "dataset.sqlite"
"""The SQLite file inside a dataset folder."""

CACHE_DIR = "cache"
"""The trajectory cache inside a dataset folder (safe to delete)."""

DATA_ENV_VAR = "CROWDPLAY_DATA"
"""The environment variable naming the folder under which dataset names resolve."""

DEFAULT_DATA_ROOT = "~/.crowdplay/datasets"
"""The data root when :data:`DATA_ENV_VAR` is unset or empty."""

_RESERVED_KEYS = frozenset({"format"})
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,127}")
_BUSY_TIMEOUT_MS = 30_000


def data_root() -> Path:
    """The folder under which dataset names resolve: ``$CROWDPLAY_DATA`` or the default."""
    return Path(os.environ.get(DATA_ENV_VAR) or DEFAULT_DATA_ROOT).expanduser()


def dataset_path(name_or_path: str | os.PathLike[str]) -> Path:
    """The folder a dataset name or path stands for (see the module docstring).

    Raises:
        InvalidArgument: neither a name (letters, digits, ``.``, ``_``, ``-``) nor a path.
    """
    if isinstance(name_or_path, os.PathLike):
        return Path(name_or_path)
    if not isinstance(name_or_path, str) or not name_or_path:
        raise InvalidArgument(f"a dataset is a name or a folder path, got {name_or_path!r}")
    separators = {os.sep} | ({os.altsep} if os.altsep else set())
    if any(sep in name_or_path for sep in separators) or Path(name_or_path).is_dir():
        return Path(name_or_path)
    if not _NAME.fullmatch(name_or_path) or name_or_path in (".", ".."):
        raise InvalidArgument(
            f"dataset name {name_or_path!r} is not valid: a name is up to 128 letters, digits, "
            "'.', '_' or '-' (starting with a letter or digit); give a folder path with a "
            "separator (./my-dataset) otherwise"
        )
    return data_root() / name_or_path


def get_engine_and_session(
    name_or_path: str | os.PathLike[str], *, create: bool = False
) -> tuple[Engine, Session]:
    """Open the dataset ``name_or_path`` and return a SQLAlchemy engine and ORM session on it.

    The session is synchronous (``session.query(EpisodeModel)`` works as in the guide). Close
    the session and ``engine.dispose()`` when done, or use :func:`open_dataset`.

    Args:
        name_or_path: a dataset name (under ``$CROWDPLAY_DATA``) or folder path.
        create: create the dataset (folder, database, tables) if it does not exist.

    Raises:
        DatasetNotFound: the dataset does not exist and ``create`` is false, the folder
            exists but holds no dataset, or the path is a file.
        UnsupportedDatasetFormat: the dataset declares a format this code does not read.
        InvalidArgument: ``name_or_path`` is neither a valid name nor a path.
    """
    folder = dataset_path(name_or_path)
    if folder.exists() and not folder.is_dir():
        hint = (
            f"; name its folder, {folder.parent}"
            if folder.name == DATABASE_FILE
            else f" (a dataset is a folder holding {DATABASE_FILE})"
        )
        raise DatasetNotFound(f"{folder} is a file, not a dataset folder{hint}")
    database = folder / DATABASE_FILE
    new = not database.is_file()
    if new and not create:
        what = f"has no {DATABASE_FILE}" if folder.is_dir() else "does not exist"
        raise DatasetNotFound(
            f"no dataset at {folder} ({name_or_path!s} resolved under ${DATA_ENV_VAR} or as a "
            f"path): the folder {what}; `crowdplay dataset import` and `sync` create datasets"
        )
    if new:
        folder.mkdir(parents=True, exist_ok=True)
    engine = _engine(database)
    try:
        if new:
            _initialize(engine)
        _check_format(engine, database)
    except BaseException:
        engine.dispose()
        raise
    session = Session(engine, info={DATASET_PATH_KEY: folder.resolve()})
    return engine, session


@contextmanager
def open_dataset(
    name_or_path: str | os.PathLike[str], *, create: bool = False
) -> Iterator[Session]:
    """:func:`get_engine_and_session` as a context manager yielding the session.

    Example:
        >>> with open_dataset("crowdplay_atari-v0") as session:  # doctest: +SKIP
        ...     print(session.query(EpisodeModel).count())
    """
    engine, session = get_engine_and_session(name_or_path, create=create)
    try:
        yield session
    finally:
        session.close()
        engine.dispose()


def get_info(session: Session, key: str) -> str | None:
    """The value stored under ``key`` in the dataset's ``dataset_info`` table, or None."""
    row = session.get(DatasetInfoModel, key)
    return None if row is None else row.value


def set_info(session: Session, key: str, value: str) -> None:
    """Store ``value`` under ``key`` in ``dataset_info`` and commit the session.

    For tools keeping state in the dataset (a sync's resume cursor); use a key that names the
    tool, e.g. ``sync:<server URL>``.

    Raises:
        InvalidArgument: ``key`` is reserved (``format``), empty or longer than 128 characters,
            or ``value`` is not a string.
    """
    if not isinstance(key, str) or not 0 < len(key) <= 128 or key in _RESERVED_KEYS:
        raise InvalidArgument(
            f"dataset_info key must be a string of 1-128 characters other than "
            f"{sorted(_RESERVED_KEYS)}, got {key!r}"
        )
    if not isinstance(value, str):
        raise InvalidArgument(f"dataset_info values are strings, got {type(value).__name__}")
    session.merge(DatasetInfoModel(key=key, value=value))
    session.commit()


def _engine(database: Path) -> Engine:
    """A SQLite engine on ``database`` with foreign keys enforced and a generous busy timeout."""
    engine = create_engine(
        f"sqlite:///{database}", connect_args={"timeout": _BUSY_TIMEOUT_MS / 1000}
    )

    @event.listens_for(engine, "connect")
    def _pragmas(connection: Any, _record: Any) -> None:
        cursor = connection.cursor()
        cursor.execute("PRAGMA foreign_keys = ON")
        cursor.execute(f"PRAGMA busy_timeout = {_BUSY_TIMEOUT_MS}")
        cursor.close()

    return engine


def _initialize(engine: Engine) -> None:
    """Create the tables and the format row if missing; WAL lets readers in while one writes."""
    with engine.begin() as connection:
        connection.exec_driver_sql("PRAGMA journal_mode = WAL")
    Base.metadata.create_all(engine)
    with Session(engine) as session, session.begin():
        if session.get(DatasetInfoModel, "format") is None:
            session.add(DatasetInfoModel(key="format", value=FORMAT))


def _check_format(engine: Engine, database: Path) -> None:
    """Raise unless ``database`` declares a format in :data:`SUPPORTED_FORMATS`."""
    if not inspect(engine).has_table(DatasetInfoModel.__tablename__):
        raise UnsupportedDatasetFormat(
            f"{database} is not a CrowdPlay dataset: it has no "
            f"{DatasetInfoModel.__tablename__} table"
        )
    with Session(engine) as session:
        declared = session.scalar(
            select(DatasetInfoModel.value).where(DatasetInfoModel.key == "format")
        )
    if declared not in SUPPORTED_FORMATS:
        raise UnsupportedDatasetFormat(
            f"{database} declares dataset format {declared!r}; this version of crowdplay reads "
            f"{', '.join(sorted(SUPPORTED_FORMATS))}"
        )
