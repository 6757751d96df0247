"""File formats on disk: JSONL with line numbers, atomic writes, append-only logs."""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from kentei import failpoints
from kentei.errors import KenteiError


def read_text(path: Path) -> str:
    """Read a UTF-8 file; a non-UTF-8 file is a clear error, not a traceback."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise KenteiError("file not found", path) from None
    except OSError as e:  # a folder where the file should be, no permission, an I/O error
        raise KenteiError(f"cannot read the file: {e.strerror or e}", path) from None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as e:
        line = data[: e.start].count(b"\n") + 1
        raise KenteiError(f"not valid UTF-8 (byte {e.start}); save the file as UTF-8", path, line) from None


def iter_jsonl(path: Path) -> Iterator[tuple[int, dict[str, Any]]]:
    """Yield (line number, object) for each non-blank line; a bad line is an error naming it.

    Lines end at \n only: JSON written with ensure_ascii=False keeps U+2028, U+0085 etc. raw inside
    strings, and str.splitlines() would cut the line there. A \r before the \n is JSON whitespace.
    """
    for lineno, line in enumerate(read_text(path).split("\n"), start=1):
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as e:
            raise KenteiError(f"invalid JSON: {e.msg} (column {e.colno})", path, lineno) from None
        except (ValueError, RecursionError) as e:
            # Not JSONDecodeError: an integer of more than 4300 digits, or arrays nested thousands deep.
            what = "nested too deeply" if isinstance(e, RecursionError) else str(e).split(":")[0]
            raise KenteiError(f"invalid JSON: {what}", path, lineno) from None
        if not isinstance(obj, dict):
            raise KenteiError(f"expected a JSON object, got {type(obj).__name__}", path, lineno)
        yield lineno, obj


def dumps(obj: Any) -> str:
    """Compact, key-sorted, non-ASCII-preserving JSON (stable for hashing and diffing)."""
    return json.dumps(obj, ensure_ascii=False, sort_keys=True, separators=(",", ":"))


def sha256_text(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


_MODE = 0o666 & ~_umask()


def atomic_write_text(path: Path, text: str) -> None:
    """Write via a temp file in the same folder + fsync + rename: readers never see half a file."""
    try:
        _atomic_write(path, text)
    except OSError as e:
        raise KenteiError(f"cannot write: {e.strerror or e}; the previous version is intact", path) from None


def _atomic_write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.chmod(tmp, _MODE)  # mkstemp makes 0600; records are ordinary files
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        failpoints.hit("atomic_write")  # the new file is complete but not yet in place
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


class RunLock:
    """An exclusive lock on a run folder while a process writes it.

    flock is released by the kernel when the holder dies (even by SIGKILL), so a crashed run never
    leaves a stale lock; a second live process on the same run-id is refused instead of
    interleaving its writes. Holding the lock also makes it safe to delete leftover temp files.
    """

    def __init__(self, run_dir: Path) -> None:
        self.path = run_dir / ".lock"

    def __enter__(self) -> RunLock:
        import fcntl

        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._f = self.path.open("a+")
        try:
            fcntl.flock(self._f.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            self._f.seek(0)
            holder = self._f.read().strip() or "?"
            self._f.close()
            raise KenteiError(
                f"run folder is in use by another kentei process (pid {holder})", self.path.parent
            ) from None
        self._f.seek(0)
        self._f.truncate()
        self._f.write(str(os.getpid()))
        self._f.flush()
        for stale in [*self.path.parent.glob(".*.tmp"), *self.path.parent.glob("*/.*.tmp")]:
            stale.unlink(missing_ok=True)  # an atomic write cut short by a crash
        return self

    def __exit__(self, *exc: object) -> None:
        self._f.close()


def atomic_write_json(path: Path, obj: Any) -> None:
    atomic_write_text(path, json.dumps(obj, ensure_ascii=False, indent=2, sort_keys=False) + "\n")


def atomic_write_jsonl(path: Path, rows: list[dict[str, Any]]) -> None:
    atomic_write_text(path, "".join(dumps(r) + "\n" for r in rows))


class AppendLog:
    """An append-only JSONL log that survives being killed at any byte.

    On open, a torn final line (a write cut short by a crash) is truncated away, so every line
    that remains is a complete record. Each append is flushed and fsynced.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        self._repair()
        self._f = path.open("a", encoding="utf-8")

    def _repair(self) -> None:
        if not self.path.exists():
            return
        data = self.path.read_bytes()
        if data and not data.endswith(b"\n"):
            keep = data.rfind(b"\n") + 1
            with self.path.open("r+b") as f:
                f.truncate(keep)

    def append(self, rows: list[dict[str, Any]]) -> None:
        if not rows:
            return
        data = "".join(dumps(r) + "\n" for r in rows)
        if failpoints.due("torn_append"):
            # Half the batch reaches the disk, cut inside a line: the torn write a crash leaves.
            self._f.write(data[: len(data) // 2])
            self._f.flush()
            failpoints.kill()
        try:
            self._f.write(data)
            self._f.flush()
            os.fsync(self._f.fileno())
        except OSError as e:
            # Lines already on disk stay; a torn last line is cut off when the log is next opened.
            raise KenteiError(f"cannot append to the response log: {e.strerror or e}", self.path) from None

    def close(self) -> None:
        try:
            self._f.close()
        except OSError:
            pass  # the failed write was already reported; its bytes never counted as stored

    def __enter__(self) -> AppendLog:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def read_log(path: Path) -> list[dict[str, Any]]:
    """Read an AppendLog's complete lines, ignoring a torn final line."""
    if not path.exists():
        return []
    rows = []
    text = path.read_bytes().decode("utf-8", errors="replace")
    lines = text.split("\n")
    for line in lines[:-1]:  # the part after the last newline is torn or empty
        if line.strip():
            try:
                rows.append(json.loads(line))
            except json.JSONDecodeError:
                continue
    return rows
