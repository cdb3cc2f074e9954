"""The discover and read steps: find what is new or changed under the input folder, and read it safely.

This is the pipeline's only contact with the input folder. Nothing outside the folder is ever
opened: symbolic links are not followed out of it, special files are never opened (a FIFO would
block), and a file whose size or mtime moves while we look at it is left for the next run.

What is not an article is never looked at (``FolderFilter``): hidden files and folders, partial
downloads and editors' temporary files, plus the user's ``--include``/``--exclude`` patterns and
``.akhbarignore`` (gitignore syntax). Such files get no ledger row; the run counts them as ignored.
The folder watcher asks the same filter, so a ``.part`` file never triggers a run.
"""

from __future__ import annotations

import errno
import hashlib
import os
import re
import stat
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pathspec
import polars as pl

from transforms.frame import REASON, REJECTED, STATUS
from transforms.read import ReadConfig
from transforms.schema import CANDIDATES, INPUT_SCHEMA

HASH_CHUNK = 1 << 20

IGNORE_FILE = ".akhbarignore"
# Never articles, in gitignore syntax: hidden files and folders (editor swap files such as
# ``.x.swp``, office locks ``.~lock.x#``, ``.git``), partial downloads (browsers, wget, curl, rsync)
# and temporary or backup files. A ``!pattern`` in ``.akhbarignore`` or ``--exclude`` re-includes.
DEFAULT_IGNORES: tuple[str, ...] = (
    ".*", "*.part", "*.partial", "*.crdownload", "*.download", "*.tmp", "*.temp", "*~", "*.swp", "*.swo",
    r"\#*#", "~$*",
)


@dataclass(frozen=True)
class FolderFilter:
    """Which paths under the input folder are candidate articles (gitignore-syntax patterns).

    A path is ignored when the defaults, ``.akhbarignore`` or ``exclude`` match it (in that order, so a
    later ``!pattern`` re-includes), or when ``include`` is given and does not match it. Folders are
    pruned by the first three only: ``--include '*.txt'`` still finds text files in subfolders.
    """

    include: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()
    ignore_file: str | None = IGNORE_FILE  # read from the input folder's top level when present

    def compile(self, root: Path) -> PathFilter:
        lines = list(DEFAULT_IGNORES)
        if self.ignore_file is not None:
            try:
                lines += (root / self.ignore_file).read_text(encoding="utf-8").splitlines()
            except (FileNotFoundError, NotADirectoryError):
                pass
            except (OSError, UnicodeDecodeError) as error:
                raise IgnoreFileError(f"cannot read {root / self.ignore_file}: {error}") from error
        try:
            ignored = pathspec.GitIgnoreSpec.from_lines([*lines, *self.exclude])
            included = pathspec.GitIgnoreSpec.from_lines(self.include) if self.include else None
        except (ValueError, TypeError, re.error) as error:  # pathspec's GitWildMatchPatternError is a ValueError
            raise IgnoreFileError(f"invalid ignore pattern: {error}") from error
        return PathFilter(ignored, included)


class IgnoreFileError(ValueError):
    """An unreadable ``.akhbarignore`` or an invalid pattern: the run cannot know what to skip."""


@dataclass(frozen=True)
class PathFilter:
    """A compiled ``FolderFilter``: asked per relative, '/'-separated path."""

    ignored: pathspec.GitIgnoreSpec
    included: pathspec.GitIgnoreSpec | None

    def skips_folder(self, rel: str) -> bool:
        return self.ignored.match_file(rel.rstrip("/") + "/")

    def skips_file(self, rel: str) -> bool:
        if self.ignored.match_file(rel):
            return True
        return self.included is not None and not self.included.match_file(rel)

    def skips(self, rel: str) -> bool:
        """A file, judged with every folder on its way (what the watcher asks of an event's path)."""
        parts = rel.split("/")
        return any(self.skips_folder("/".join(parts[:i])) for i in range(1, len(parts))) or self.skips_file(rel)


def patterns(values: Sequence[str] | None) -> tuple[str, ...]:
    """Patterns from repeated options, each of which may hold several separated by commas."""
    return tuple(p.strip() for value in values or () for p in value.split(",") if p.strip())


# Given the paths found in the folder, their ledger rows (LEDGER): a join in the warehouse, so a run
# never loads the ledger of the whole archive.
LedgerLookup = Callable[[pl.Series], pl.DataFrame]


@dataclass(frozen=True)
class Discovery:
    candidates: pl.DataFrame  # new or changed files, in CANDIDATES
    files_seen: int
    files_unchanged: int
    changed_paths: list[str]  # candidates that already had a ledger row (content may have changed)
    files_ignored: int = 0  # skipped by the folder filter (a skipped folder counts once): no ledger row
    # The ledger's sha256 of the changed candidates: one touched without a change in its bytes is not new.
    previous_sha: Mapping[str, str] = field(default_factory=dict)


def _is_utf8(name: str) -> bool:
    try:
        name.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _escaped(rel: str) -> str:
    """A name from another system's encoding, shown faithfully (undecodable bytes as \\xNN)."""
    return rel.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")


def _file_entry(entry: os.DirEntry, rel: str, real_root: Path) -> tuple[str, os.stat_result | None, str | None]:
    """(relative path, lstat or stat of the target, refusal reason) of one entry that is not a folder."""
    if not _is_utf8(rel):
        # A name from another system's encoding cannot be stored faithfully: report it, escaped.
        return _escaped(rel), None, "file name is not valid UTF-8; rename the file to load it"
    try:
        info = entry.stat(follow_symlinks=False)
    except OSError as error:
        return rel, None, f"unreadable: {error.strerror or error}"
    if stat.S_ISLNK(info.st_mode):
        try:
            target = Path(entry.path).resolve(strict=True)
        except RuntimeError:  # Python 3.11 reports a loop this way
            return rel, None, "symbolic link loop; not followed"
        except OSError as error:
            reason = ("symbolic link loop; not followed" if error.errno == errno.ELOOP
                      else "symbolic link whose target does not exist; not followed")
            return rel, None, reason
        if not target.is_relative_to(real_root):
            return rel, None, "symbolic link to a location outside the input folder; not followed"
        info = target.stat()
    if not stat.S_ISREG(info.st_mode):
        return rel, None, "not a regular file (device, socket or pipe); not opened"
    return rel, info, None


def _walk(root: Path, keep: PathFilter) -> tuple[list[tuple[str, os.stat_result | None, str | None]], int]:
    """(relative path, lstat or stat of the target, refusal reason) for every entry that is a file, and
    how many entries the filter skipped (a skipped folder is not entered and counts once).

    Top-down in name order, one ``scandir`` per folder (a folder that cannot be listed is skipped, as
    ``os.walk`` does); strings rather than ``Path`` objects per file keep a large folder's rerun cheap.
    """
    entries: list[tuple[str, os.stat_result | None, str | None]] = []
    real_root = root.resolve()
    ignored = 0

    def visit(directory: str, prefix: str) -> None:
        nonlocal ignored
        try:
            with os.scandir(directory) as listing:
                found = sorted(listing, key=lambda entry: entry.name)
        except OSError:
            return
        folders: list[os.DirEntry] = []
        kept: list[os.DirEntry] = []
        for entry in found:
            try:
                is_folder = entry.is_dir()
            except OSError:
                is_folder = False
            skipped = (keep.skips_folder(prefix + entry.name) if is_folder
                       else keep.skips_file(prefix + entry.name))
            if skipped:
                ignored += 1
                continue
            kept.append(entry)
            if is_folder:
                folders.append(entry)
        found = kept
        for entry in folders:
            if entry.is_symlink() and not Path(entry.path).resolve().is_relative_to(real_root):
                # Never walked into; a linked folder inside the input is seen under its real path.
                entries.append((_escaped(prefix + entry.name), None,
                                "symbolic link to a folder outside the input folder; not followed"))
        folder_names = {entry.name for entry in folders}
        entries.extend(_file_entry(entry, prefix + entry.name, real_root)
                       for entry in found if entry.name not in folder_names)
        for entry in folders:
            if not entry.is_symlink():
                visit(entry.path, f"{prefix}{entry.name}/")

    visit(os.fspath(root), "")
    return entries, ignored


def discover(
    input_dir: Path, ledger: pl.DataFrame | LedgerLookup, folder_filter: FolderFilter = FolderFilter()
) -> Discovery:
    """Compare the folder with the ledger (LEDGER: source_path, sha256, size_bytes, mtime_ns, status, reason):
    the whole ledger, or a lookup that returns the rows of the paths found.

    A file whose size and mtime match its ledger row is unchanged without being read. Files that
    were refused before for a reason that depends on the path (links, special files) and still are
    count as unchanged too, so a rerun adds no rows. Paths the filter skips are not looked at.
    """
    if not input_dir.is_dir():
        raise NotADirectoryError(f"input folder {input_dir} does not exist or is not a folder")
    entries, ignored = _walk(input_dir, folder_filter.compile(input_dir))
    found = pl.DataFrame(
        {
            "source_path": [rel for rel, _, _ in entries],
            "size_bytes": [info.st_size if info is not None else None for _, info, _ in entries],
            "mtime_ns": [info.st_mtime_ns if info is not None else None for _, info, _ in entries],
            REASON: [refusal for _, _, refusal in entries],
        },
        schema={name: CANDIDATES.schema[name] for name in ("source_path", "size_bytes", "mtime_ns", REASON)},
    )
    if callable(ledger):
        ledger = ledger(found["source_path"])
    before = ledger.select(
        "source_path",
        pl.col("sha256").alias("_sha"),
        pl.col("size_bytes").alias("_size"),
        pl.col("mtime_ns").alias("_mtime"),
        pl.col(STATUS).alias("_status"),
        pl.col(REASON).alias("_reason"),
        pl.lit(True).alias("_known"),
    ).unique("source_path", keep="last", maintain_order=True)
    refused = pl.col(REASON).is_not_null()
    same = (
        pl.when(refused)
        .then((pl.col("_status") == REJECTED) & (pl.col("_reason") == pl.col(REASON)))
        .otherwise((pl.col("_size") == pl.col("size_bytes")) & (pl.col("_mtime") == pl.col("mtime_ns")))
        .fill_null(False)
    )
    new = found.join(before, on="source_path", how="left", maintain_order="left").filter(~same)
    candidates = CANDIDATES.conform(new.with_columns(pl.when(refused).then(pl.lit(REJECTED)).alias(STATUS)))
    known = new.filter(pl.col("_known").fill_null(False))
    return Discovery(
        candidates,
        files_seen=len(entries),
        files_unchanged=len(entries) - new.height,
        changed_paths=known["source_path"].to_list(),
        files_ignored=ignored,
        previous_sha=dict(known.filter(pl.col("_sha").is_not_null()).select("source_path", "_sha").iter_rows()),
    )


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
