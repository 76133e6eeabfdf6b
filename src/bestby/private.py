"""Files and folders only their owner can read: mode 0600 for files, 0700 for folders.

The store, its ``-wal`` and ``-shm`` files, the secret key, uploads and
backups hold every deal and every session of the workspace; a file left at
the usual 0644 lets any local user copy a session key out of the database and
sign in as its owner. Everything bestby writes beside the database therefore
goes through these helpers (no Django here, so the command line, the web app
and the backup command share them):

* :func:`private_dir` makes a folder 0700, or tightens one that exists;
* :func:`private_file` makes sure a file exists with mode 0600 (created
  empty, or tightened);
* :func:`open_private` opens a file for writing that is created 0600 (and
  tightened when it existed), so there is no moment at which another user
  could open it.

The process umask can only remove permissions, never add them, so a file
created 0600 stays 0600 whatever the umask. Each helper returns what it
changed as a note (``None`` when nothing needed changing), so a caller can
say so once.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path
from typing import IO

FILE_MODE = 0o600
DIR_MODE = 0o700


def private_dir(path: Path, *, tighten: bool = True) -> str | None:
    """Make the folder ``path`` (and its missing parents, those 0700 too) or tighten it to 0700.

    ``tighten=False`` leaves the mode of a folder that already exists (for a
    folder that is not bestby's own, such as the current directory). A folder
    with the sticky bit (``/tmp``) or owned by someone else is never changed.
    Returns a note when an existing folder was tightened.
    """
    path = Path(path)
    if not path.exists():
        missing = [path, *(p for p in path.parents if not p.exists())]
        for folder in reversed(missing):  # Path.mkdir(parents=True) would give the parents the umask's mode
            folder.mkdir(mode=DIR_MODE, exist_ok=True)
        return None
    if not path.is_dir():
        raise NotADirectoryError(f"{path} is not a folder")
    return _tighten(path, DIR_MODE) if tighten else None


def private_file(path: Path) -> str | None:
    """Make sure the file ``path`` exists with mode 0600: create it empty, or tighten it; a note if tightened."""
    path = Path(path)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, FILE_MODE)
    except FileExistsError:
        if not path.is_file():
            raise IsADirectoryError(f"{path} is not a regular file") from None
        return _tighten(path, FILE_MODE)
    os.close(fd)
    return None


def open_private(path: Path, mode: str = "wb", **kwargs) -> IO:
    """Open ``path`` for writing (``mode`` "wb", "w", "ab" or "a"), created 0600, or tightened to 0600 first."""
    if not mode.startswith(("w", "a")) or "+" in mode:
        raise ValueError(f"open_private writes: mode {mode!r} must be w, wb, a or ab")
    flags = os.O_WRONLY | os.O_CREAT | (os.O_APPEND if mode.startswith("a") else os.O_TRUNC)
    fd = os.open(path, flags, FILE_MODE)
    try:
        os.fchmod(fd, FILE_MODE)  # an existing file keeps its mode through os.open: tighten it
        return os.fdopen(fd, mode, **kwargs)
    except BaseException:
        os.close(fd)
        raise


def _tighten(path: Path, mode: int) -> str | None:
    st = path.stat()
    current = stat.S_IMODE(st.st_mode)
    if current & ~mode & 0o777 == 0:
        return None  # already private (perhaps stricter still)
    if st.st_mode & stat.S_ISVTX or (hasattr(os, "getuid") and st.st_uid != os.getuid()):
        return None  # a shared folder such as /tmp, or someone else's: not ours to change
    os.chmod(path, current & mode)
    return f"{path}: permissions tightened from {current:04o} to {current & mode:04o} (readable by its owner only)"
