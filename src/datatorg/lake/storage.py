"""Where the lake's files live, behind a small interface an object store can stand behind.

Keys are relative, slash-separated names (``datasets/<id>/files/<n>.parquet``); the engine
reads files through ``local_path``. An S3 implementation would download or use DuckDB's
``httpfs`` there; the rest of the lake never touches the file system directly.
"""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Iterator
from functools import lru_cache
from pathlib import Path
from typing import Protocol

_KEY = re.compile(r"^[A-Za-z0-9_\-]+(/[A-Za-z0-9_\-.]+)*$")


class Storage(Protocol):
    """The few operations the lake needs from its file store."""

    def local_path(self, key: str) -> Path: ...

    def put_file(self, key: str, source: Path) -> int: ...

    def exists(self, key: str) -> bool: ...

    def size(self, key: str) -> int: ...

    def delete(self, key: str) -> None: ...

    def keys(self, prefix: str) -> Iterator[str]: ...

    def staging_dir(self, name: str) -> Path: ...


def check_key(key: str) -> str:
    """Refuse keys that could leave the lake (``..``, absolute paths, odd characters)."""
    if not _KEY.match(key) or ".." in key.split("/"):
        raise ValueError(f"bad storage key {key!r}")
    return key


class LocalStorage:
    """A folder on a local disk. ``put_file`` renames, so publishing is cheap and atomic."""

    def __init__(self, root: Path) -> None:
        self.root = root.resolve()

    def local_path(self, key: str) -> Path:
        return self.root / check_key(key)

    def put_file(self, key: str, source: Path) -> int:
        """Move ``source`` to ``key`` (fsynced) and return its size."""
        target = self.local_path(key)
        target.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(source, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
        try:
            os.replace(source, target)
        except OSError:  # another device: copy, then drop the source
            shutil.copyfile(source, target)
            source.unlink()
        dir_fd = os.open(target.parent, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)
        return target.stat().st_size

    def exists(self, key: str) -> bool:
        return self.local_path(key).is_file()

    def size(self, key: str) -> int:
        return self.local_path(key).stat().st_size

    def delete(self, key: str) -> None:
        self.local_path(key).unlink(missing_ok=True)

    def keys(self, prefix: str) -> Iterator[str]:
        base = self.root / check_key(prefix)
        if not base.exists():
            return
        for path in sorted(base.rglob("*")):
            if path.is_file():
                yield path.relative_to(self.root).as_posix()

    def staging_dir(self, name: str) -> Path:
        """A fresh folder for an upload in progress (on the lake's device, so moves are renames)."""
        path = self.root / "staging" / check_key(name)
        path.mkdir(parents=True, exist_ok=True)
        return path


@lru_cache(maxsize=8)
def storage_for(root: Path) -> Storage:
    """The storage behind ``settings.lake_path`` (one per path and process)."""
    return LocalStorage(root)
