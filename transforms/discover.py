"""The discover and read steps: find what is new or changed under the input folder, and read it safely.

This is the pipeline's only contact with the input folder. Nothing outside the folder is ever
opened: symbolic links are not followed out of it, special files are never opened (a FIFO would
block), and a file whose size or mtime moves while we look at it is left for the next run.
"""

from __future__ import annotations

import errno
import hashlib
import os
import stat
from dataclasses import dataclass
from pathlib import Path

import polars as pl

from transforms.frame import REASON, REJECTED, STATUS
from transforms.read import ReadConfig
from transforms.schema import CANDIDATES, INPUT_SCHEMA

HASH_CHUNK = 1 << 20


@dataclass(frozen=True)
class Discovery:
    candidates: pl.DataFrame  # new or changed files, in CANDIDATES
    files_seen: int
    files_unchanged: int
    changed_paths: list[str]  # candidates that already had a ledger row (content may have changed)


def _is_utf8(name: str) -> bool:
    try:
        name.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _walk(root: Path) -> list[tuple[str, os.stat_result | None, str | None]]:
    """(relative path, lstat or stat of the target, refusal reason) for every entry that is a file."""
    entries: list[tuple[str, os.stat_result | None, str | None]] = []
    real_root = root.resolve()
    for directory, dirnames, filenames in os.walk(root, followlinks=False):
        dirnames.sort()
        for name in dirnames:
            full = Path(directory) / name
            if full.is_symlink() and not full.resolve().is_relative_to(real_root):
                # Never walked into; a linked folder inside the input is seen under its real path.
                rel = full.relative_to(root).as_posix()
                rel = rel.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")
                entries.append((rel, None, "symbolic link to a folder outside the input folder; not followed"))
        for name in sorted(filenames):
            full = Path(directory) / name
            rel = full.relative_to(root).as_posix()
            if not _is_utf8(rel):
                # A name from another system's encoding cannot be stored faithfully: report it, escaped.
                shown = rel.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")
                entries.append((shown, None, "file name is not valid UTF-8; rename the file to load it"))
                continue
            try:
                info = full.lstat()
            except OSError as error:
                entries.append((rel, None, f"unreadable: {error.strerror or error}"))
                continue
            if stat.S_ISLNK(info.st_mode):
                try:
                    target = full.resolve(strict=True)
                except RuntimeError:  # Python 3.11 reports a loop this way
                    entries.append((rel, None, "symbolic link loop; not followed"))
                    continue
                except OSError as error:
                    reason = ("symbolic link loop; not followed" if error.errno == errno.ELOOP
                              else "symbolic link whose target does not exist; not followed")
                    entries.append((rel, None, reason))
                    continue
                if not target.is_relative_to(real_root):
                    entries.append((rel, None, "symbolic link to a location outside the input folder; not followed"))
                    continue
                info = target.stat()
            if not stat.S_ISREG(info.st_mode):
                entries.append((rel, None, "not a regular file (device, socket or pipe); not opened"))
                continue
            entries.append((rel, info, None))
    return entries


def discover(input_dir: Path, ledger: pl.DataFrame) -> Discovery:
    """Compare the folder with the ledger (LEDGER: source_path, size_bytes, mtime_ns, status, reason).

    A file whose size and mtime match its ledger row is unchanged without being read. Files that
    were refused before for a reason that depends on the path (links, special files) and still are
    count as unchanged too, so a rerun adds no rows.
    """
    if not input_dir.is_dir():
        raise NotADirectoryError(f"input folder {input_dir} does not exist or is not a folder")
    previous = {row["source_path"]: row for row in ledger.iter_rows(named=True)}
    rows = []
    unchanged = 0
    entries = _walk(input_dir)
    for rel, info, refusal in entries:
        before = previous.get(rel)
        if refusal is not None:
            if before is not None and before["status"] == REJECTED and before["reason"] == refusal:
                unchanged += 1
                continue
            rows.append((rel, None, None, REJECTED, refusal))
            continue
        assert info is not None
        if before is not None and before["size_bytes"] == info.st_size and before["mtime_ns"] == info.st_mtime_ns:
            unchanged += 1
            continue
        rows.append((rel, info.st_size, info.st_mtime_ns, None, None))
    candidates = pl.DataFrame(rows, schema=CANDIDATES.schema, orient="row")
    changed = [p for p in candidates["source_path"].to_list() if p in previous]
    return Discovery(candidates, files_seen=len(entries), files_unchanged=unchanged, changed_paths=changed)


def _hash_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(HASH_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def _as_discovered(info: os.stat_result, size_bytes: int, mtime_ns: int) -> bool:
    return info.st_size == size_bytes and info.st_mtime_ns == mtime_ns


def moved_since_discovery(input_dir: Path, candidates: pl.DataFrame) -> list[str]:
    """The candidates whose size or mtime is no longer what discovery saw, or that cannot be looked at now.

    This is the check ``read_files`` makes after reading, without reading: bytes read earlier in the
    run still stand for a file exactly when it passes.
    """
    moved: list[str] = []
    for rel, size_bytes, mtime_ns in candidates.select("source_path", "size_bytes", "mtime_ns").iter_rows():
        try:
            info = (input_dir / rel).stat()
        except OSError:
            moved.append(rel)
            continue
        if not _as_discovered(info, size_bytes, mtime_ns):
            moved.append(rel)
    return moved


def read_files(
    input_dir: Path, candidates: pl.DataFrame, config: ReadConfig | None = None
) -> tuple[pl.DataFrame, list[str]]:
    """Read the candidates' bytes: (frame in INPUT_SCHEMA, paths deferred because they moved).

    A file whose size or mtime differs from what discovery saw is still being written: it is
    deferred (no row at all) and the next run takes it. Files over ``max_bytes`` are hashed in
    chunks, never held in memory, and rejected with their size.
    """
    config = config or ReadConfig()
    out: dict[str, list] = {name: [] for name in INPUT_SCHEMA}
    deferred: list[str] = []
    for row in candidates.iter_rows(named=True):
        rel = row["source_path"]
        if row[STATUS] is not None:
            for name, value in (("source_path", rel), ("size_bytes", None), ("mtime_ns", None), ("sha256", None),
                                ("raw", None), (STATUS, row[STATUS]), (REASON, row[REASON])):
                out[name].append(value)
            continue
        path = input_dir / rel
        raw: bytes | None = None
        sha: str | None = None
        status = reason = None
        try:
            if row["size_bytes"] > config.max_bytes:
                sha = _hash_file(path)
                status = REJECTED
                reason = (f"file too large: {row['size_bytes']:,} bytes, the limit is {config.max_bytes:,} "
                          "(AKHBAR_MAX_FILE_BYTES)")
            else:
                raw = path.read_bytes()
                sha = hashlib.sha256(raw).hexdigest()
            after = path.stat()
        except FileNotFoundError:
            deferred.append(rel)  # vanished since discovery: whatever replaces it is the next run's
            continue
        except OSError as error:
            after = None
            status, reason = REJECTED, f"unreadable: {error.strerror or error}"
        if after is not None and not _as_discovered(after, row["size_bytes"], row["mtime_ns"]):
            deferred.append(rel)
            continue
        for name, value in (("source_path", rel), ("size_bytes", row["size_bytes"]), ("mtime_ns", row["mtime_ns"]),
                            ("sha256", sha), ("raw", raw), (STATUS, status), (REASON, reason)):
            out[name].append(value)
    return pl.DataFrame(out, schema=INPUT_SCHEMA), deferred
