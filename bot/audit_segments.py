"""The audit journal's files on disk: live segments and sealed ones.

A segment is one file of the chain, ``audit-NNNNNN.jsonl`` while it is live. When
the journal rotates (size, or a new UTC day) the segment is sealed: compressed to
``audit-NNNNNN.jsonl.gz`` (written under a temporary name, fsynced, renamed), a
``seal`` record naming it is appended to the live chain, and only then is the raw
file deleted. Each step leaves a state the next start recognises and finishes (a raw
file is the authority until its seal is recorded), so a crash at any moment loses
no record and seals nothing twice.

This module only knows files: names, reading (decompressing) and compressing. What a
seal means, and checking it, is :mod:`bot.audit`'s job.
"""

from __future__ import annotations

import gzip
import hashlib
import os
from pathlib import Path

PREFIX = "audit-"
RAW_SUFFIX = ".jsonl"
SEALED_SUFFIX = ".jsonl.gz"
PARTIAL_SUFFIX = ".tmp"
# gzip level 6 (the default): ~7.5× on the journal (its hashes are random hex), ~25 ms
# per 2 MiB segment; level 1 halves the time for ~6.7×, level 9 doubles it for ~7.6×
COMPRESS_LEVEL = 6


def number_of(path: Path) -> int | None:
    """The segment number in a journal file's name, or None for any other file."""
    name = path.name
    for suffix in (SEALED_SUFFIX, RAW_SUFFIX):
        if name.startswith(PREFIX) and name.endswith(suffix):
            digits = name[len(PREFIX) : -len(suffix)]
            return int(digits) if digits.isdigit() else None
    return None


def raw_name(number: int) -> str:
    return f"{PREFIX}{number:06d}{RAW_SUFFIX}"


def sealed_name(number: int) -> str:
    return f"{PREFIX}{number:06d}{SEALED_SUFFIX}"


def _numbered(directory: Path, suffix: str) -> dict[int, str]:
    """Segment names by number: one ``listdir`` and string tests, no Path per file (a
    year of segments is thousands of files, and start-up lists them a few times)."""
    found: dict[int, str] = {}
    try:
        names = os.listdir(directory)
    except FileNotFoundError:  # no journal yet
        return found
    for name in names:
        if name.startswith(PREFIX) and name.endswith(suffix):
            digits = name[len(PREFIX) : -len(suffix)]
            if digits.isdigit():
                found[int(digits)] = name
    return found


def raw_segments(directory: Path) -> dict[int, Path]:
    """Live (unsealed) segments by number."""
    return {n: directory / name for n, name in _numbered(directory, RAW_SUFFIX).items()}


def sealed_segments(directory: Path) -> dict[int, Path]:
    """Compressed segments by number (some may still have their raw twin after a crash)."""
    return {n: directory / name for n, name in _numbered(directory, SEALED_SUFFIX).items()}


def chain_segments(
    directory: Path, *, oldest: int | None = None, newest: int | None = None
) -> list[Path]:
    """Every segment in chain order (or only the ``oldest`` or ``newest`` few); where a
    raw file and its sealed twin both exist (a seal interrupted by a crash), the raw
    file, which is the authority."""
    by_number = {**_numbered(directory, SEALED_SUFFIX), **_numbered(directory, RAW_SUFFIX)}
    numbers = sorted(by_number)
    if oldest is not None:
        numbers = numbers[:oldest]
    if newest is not None:
        numbers = numbers[-newest:]
    return [directory / by_number[number] for number in numbers]


def newest_sealed_without_raw(directory: Path) -> int | None:
    """The last segment that exists only sealed: where the live part of the chain starts."""
    raw = _numbered(directory, RAW_SUFFIX)
    sealed = [number for number in _numbered(directory, SEALED_SUFFIX) if number not in raw]
    return max(sealed) if sealed else None


def newest_numbers(directory: Path) -> tuple[int, int]:
    """The highest raw and sealed segment numbers (0 for none)."""
    raw = _numbered(directory, RAW_SUFFIX)
    sealed = _numbered(directory, SEALED_SUFFIX)
    return max(raw, default=0), max(sealed, default=0)


def read_segment(path: Path) -> tuple[list[bytes], str]:
    """The segment's lines and the sha256 of the file as stored (compressed when sealed).
    A raw file sealed since it was listed (a running bot rotated) is read from its
    sealed twin. Raises OSError, EOFError or ``zlib.error`` on a file that cannot be read."""
    try:
        stored = path.read_bytes()
    except FileNotFoundError:
        number = number_of(path)
        twin = path.with_name(sealed_name(number)) if number is not None else path
        if twin == path or not twin.exists():
            raise
        path, stored = twin, twin.read_bytes()
    text = gzip.decompress(stored) if path.name.endswith(SEALED_SUFFIX) else stored
    return text.splitlines(), hashlib.sha256(stored).hexdigest()


def first_line(path: Path) -> bytes:
    """The first line of a segment, without reading the rest (b"" if it is empty)."""
    opener = gzip.open if path.name.endswith(SEALED_SUFFIX) else open
    with opener(path, "rb") as handle:
        return bytes(handle.readline()).rstrip(b"\n")


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def fsync_directory(directory: Path) -> None:
    handle = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(handle)
    finally:
        os.close(handle)


def compress(raw: Path) -> Path:
    """Write ``raw``'s sealed twin and return it; the raw file is left alone.

    Deterministic (no name or time in the gzip header), so redoing it after a crash
    writes the same bytes. The twin appears whole or not at all: it is written to a
    temporary name, fsynced and renamed, then the directory is fsynced."""
    number = number_of(raw)
    if number is None:
        raise ValueError(f"{raw} is not a journal segment")
    target = raw.with_name(sealed_name(number))
    partial = target.with_name(target.name + PARTIAL_SUFFIX)
    with raw.open("rb") as source, partial.open("wb") as sink:
        with gzip.GzipFile(
            filename="", mode="wb", fileobj=sink, compresslevel=COMPRESS_LEVEL, mtime=0
        ) as packed:
            while chunk := source.read(1 << 20):
                packed.write(chunk)
        sink.flush()
        os.fsync(sink.fileno())
    os.replace(partial, target)
    fsync_directory(raw.parent)
    return target


def remove_partials(directory: Path) -> None:
    """Temporary files of a compression a crash interrupted (the raw file is intact)."""
    for path in directory.glob(f"{PREFIX}*{SEALED_SUFFIX}{PARTIAL_SUFFIX}"):
        path.unlink(missing_ok=True)
