"""Outputs written to a temporary name beside the target and moved into place.

A job that fails while writing (a full disk, a kill) never leaves a half-written output under its real
name, and its temporary file is removed; os.replace is atomic on one file system, so readers see the old
file or the complete new one.
"""

from __future__ import annotations

import contextlib
import errno
import os
import uuid
from pathlib import Path

from .errors import OutputError

_SUFFIX = ".writing"


def temporary_name(path: Path) -> Path:
    return path.with_name(f".{path.name}.{os.getpid()}-{uuid.uuid4().hex[:8]}{_SUFFIX}")


def describe_os_error(path, error: OSError) -> str:
    """What went wrong while writing `path`, and what to do, in one line."""
    if error.errno in (errno.ENOSPC, errno.EDQUOT):
        return (f"no space left on the disk (or quota) while writing it; nothing was left behind; "
                f"free space where '{Path(path).parent}' lives and run snakemake again (finished steps are kept)")  # fmt: skip
    if error.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
        return f"cannot be written ({error.strerror}); make its folder writable and run snakemake again"
    return f"cannot be written ({error.strerror or error}); check the disk and run snakemake again"


@contextlib.contextmanager
def atomic_path(path):
    """Yield a temporary path beside `path`; on success it replaces `path`, on failure it is removed.

    Leftovers of an earlier killed write of the same target are removed first. An OSError while
    writing becomes an OutputError naming the target."""
    path = Path(path)
    for stale in path.parent.glob(f".{path.name}.*{_SUFFIX}"):
        with contextlib.suppress(OSError):
            stale.unlink()
    temporary = temporary_name(path)
    try:
        yield temporary
        os.replace(temporary, path)
    except OSError as error:
        raise OutputError(path, describe_os_error(path, error)) from None
    finally:
        with contextlib.suppress(OSError):
            temporary.unlink()


def write_text(path, text: str, durable: bool = False) -> None:
    """Write `text` atomically. `durable`: flushed to the disk before the rename, so a power cut after the
    rename cannot leave an empty file under the real name (the alert history and the outbox need it; the
    results can be made again, so they skip the cost)."""
    with atomic_path(path) as temporary, open(temporary, "w", encoding="utf-8") as handle:
        handle.write(text)
        if durable:
            handle.flush()
            os.fsync(handle.fileno())


def write_text_if_changed(path, text: str) -> bool:
    """write_text, unless `path` already holds exactly `text` (then it is left as it is: a reader that syncs
    changed files sees only the changed ones). True when written."""
    path = Path(path)
    data = text.encode("utf-8")
    with contextlib.suppress(OSError):
        if path.stat().st_size == len(data) and path.read_bytes() == data:
            return False
    write_text(path, text)
    return True
