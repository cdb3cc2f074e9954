"""Bytes -> text: find the encoding of each file, or refuse it with a precise reason.

Input files come from many tools: UTF-8 with or without a BOM, UTF-16 from Windows editors
(sometimes without a BOM), and legacy Arabic Windows-1256. Deciding needs evidence, never a
guess: Windows-1256 decodes *any* byte string, so it is accepted only when the result reads
like Arabic prose, and random binary is refused instead of becoming mojibake in the warehouse.
"""

from __future__ import annotations

import codecs
import re
from dataclasses import dataclass

import polars as pl

from transforms.frame import REJECTED, alive, label

UTF8 = "utf-8"
UTF8_SIG = "utf-8-sig"
UTF16_LE = "utf-16-le"
UTF16_BE = "utf-16-be"
UTF32_LE = "utf-32-le"
UTF32_BE = "utf-32-be"
CP1256 = "windows-1256"
ENCODINGS = (UTF8, UTF8_SIG, UTF16_LE, UTF16_BE, UTF32_LE, UTF32_BE, CP1256)

# Longest BOM first: the UTF-32-LE BOM starts with the UTF-16-LE one.
_BOMS: tuple[tuple[bytes, str], ...] = (
    (codecs.BOM_UTF32_LE, UTF32_LE),
    (codecs.BOM_UTF32_BE, UTF32_BE),
    (codecs.BOM_UTF8, UTF8_SIG),
    (codecs.BOM_UTF16_LE, UTF16_LE),
    (codecs.BOM_UTF16_BE, UTF16_BE),
)
_PYTHON_CODEC = {UTF8_SIG: "utf-8", CP1256: "cp1256"}

# High bytes of the UTF-16 code units news text is made of: ASCII/Latin-1 (0x00), Arabic
# (0x06), general punctuation such as quotes and dashes (0x20), presentation forms (0xFB, 0xFE).
_UTF16_HIGH_BYTES = (0x00, 0x06, 0x20, 0xFB, 0xFE)

# Control characters that never occur in text (TAB, LF, VT, FF and CR do).
_CONTROL = r"[\x00-\x08\x0e-\x1f\x7f-\x9f]"
# Anything but whitespace and characters that are invisible on their own.
_VISIBLE = r"[^\s\x{200B}-\x{200F}\x{2060}\x{FEFF}]"

# Windows-1256 evidence, measured on the decoded text.
_CORE_ARABIC = re.compile("[\u0621-\u063a\u0641-\u064a]")
_LETTER = re.compile(r"[^\W\d_]")
_NON_SPACE = re.compile(r"\S")
_SPACE = re.compile(r"\s")
# What bytes 0x80-0xBF decode to, less the characters that real Arabic prose uses. UTF-8 Arabic
# misread as Windows-1256 is full of these (every letter's second byte lands here).
_CP1256_ODD = re.compile(
    "["
    + re.escape(
        "".join(
            ch
            for ch in bytes(range(0x80, 0xC0)).decode("cp1256")
            if ch not in "،؛؟«»\u00a0“”‘’–—…\u200c\u200d\u200e\u200f" and not ("\u0600" <= ch <= "\u06ff")
        )
    )
    + "]"
)


@dataclass(frozen=True)
class ReadConfig:
    max_bytes: int = 50 * 1024 * 1024  # larger files are hashed unread and refused (the one place for this limit)
    max_control_share: float = 0.10  # a larger share of control characters means binary
    # Windows-1256 is accepted only for text that reads like Arabic prose:
    cp1256_min_arabic_of_letters: float = 0.60  # core Arabic letters among all letters
    cp1256_min_arabic_of_visible: float = 0.40  # core Arabic letters among non-space characters
    cp1256_max_odd_share: float = 0.02  # symbols that only mojibake or binary produce
    cp1256_min_space_share: float = 0.03  # prose has spaces (checked from 40 characters on)


@dataclass(frozen=True)
class _Decoded:
    text: str | None
    encoding: str | None
    note: str | None
    refusal: str | None


def _refuse(reason: str) -> _Decoded:
    return _Decoded(None, None, None, reason)


def _decode_tolerating_truncation(data: bytes, encoding: str) -> tuple[str, str | None]:
    """Strict decode; an incomplete sequence at the very end (a cut-off copy) is dropped with a note.

    Raises UnicodeDecodeError for invalid bytes anywhere else.
    """
    codec = _PYTHON_CODEC.get(encoding, encoding)
    try:
        return data.decode(codec), None
    except UnicodeDecodeError as error:
        if error.end < len(data) or error.reason not in ("unexpected end of data", "truncated data"):
            raise
        dropped = len(data) - error.start
        text = data[: error.start].decode(codec)
        unit = "multi-byte sequence" if encoding.startswith("utf-8") else "code unit"
        return text, f"truncated {unit} at end of file: {dropped} byte{'s' if dropped != 1 else ''} dropped"


def _sniff_utf16(data: bytes) -> str | None:
    """UTF-16 without a BOM, told by where the high bytes of its code units sit.

    In UTF-16-LE text nearly every odd byte is 0x00 (Latin) or 0x06 (Arabic); the even bytes
    vary. Random binary, UTF-8 and Windows-1256 show no such parity pattern.
    """
    if len(data) < 4 or (data.count(0) + data.count(6)) * 4 < len(data):
        return None  # cheap exit: UTF-16 news text is at least half 0x00/0x06 bytes in one parity
    even, odd = data[0::2], data[1::2]

    def share(part: bytes) -> float:
        return sum(part.count(byte) for byte in _UTF16_HIGH_BYTES) / len(part)

    for high, low, encoding in ((odd, even, UTF16_LE), (even, odd, UTF16_BE)):
        # The other parity must not be mostly NUL too (that is zero padding, not text).
        if share(high) >= 0.9 and low.count(0) * 2 < len(low) and (high.count(0) + high.count(6)) * 2 >= len(high):
            return encoding
    return None


def _looks_like_cp1256_arabic(text: str, config: ReadConfig) -> bool:
    visible = len(_NON_SPACE.findall(text))
    letters = len(_LETTER.findall(text))
    if visible == 0 or letters == 0:
        return False
    arabic = len(_CORE_ARABIC.findall(text))
    odd = len(_CP1256_ODD.findall(text))
    spaces = len(_SPACE.findall(text))
    return (
        arabic / letters >= config.cp1256_min_arabic_of_letters
        and arabic / visible >= config.cp1256_min_arabic_of_visible
        and odd / visible <= config.cp1256_max_odd_share
        and (len(text) < 40 or spaces / len(text) >= config.cp1256_min_space_share)
    )


def _decode_one(data: bytes | None, size_bytes: int | None, config: ReadConfig) -> _Decoded:
    """Decide the encoding of one file's bytes, or why it is not text.

    Order: size limits; a BOM (UTF-32, UTF-8, UTF-16) settles it; else BOM-less UTF-16 by its
    byte pattern; else NUL bytes mean binary; else strict UTF-8 (a sequence cut off at the end
    is dropped with a note); else Windows-1256 if the result reads like Arabic prose.
    """
    if data is None:
        if size_bytes is not None and size_bytes > config.max_bytes:
            return _refuse(f"file too large: {size_bytes:,} bytes, the limit is {config.max_bytes:,}")
        return _refuse("no content: the file's bytes were not read")
    if len(data) > config.max_bytes:
        return _refuse(f"file too large: {len(data):,} bytes, the limit is {config.max_bytes:,}")
    if not data:
        return _refuse("empty file (0 bytes)")

    for bom, encoding in _BOMS:
        if data.startswith(bom):
            try:
                text, note = _decode_tolerating_truncation(data[len(bom) :], encoding)
            except UnicodeDecodeError as error:
                return _refuse(
                    f"undecodable: {encoding} byte-order mark, but invalid {encoding} at byte "
                    f"{error.start + len(bom)} ({error.reason})"
                )
            return _Decoded(text, encoding, note, None)

    sniffed = _sniff_utf16(data[: len(data) - len(data) % 2])
    if sniffed is not None:
        try:
            text, note = _decode_tolerating_truncation(data, sniffed)
        except UnicodeDecodeError:
            pass  # the pattern lied: fall through to the other checks
        else:
            found = f"no byte-order mark; {sniffed} detected from the byte pattern"
            return _Decoded(text, sniffed, f"{found}; {note}" if note else found, None)

    nul = data.count(0)
    if nul:
        return _refuse(f"binary content: {nul:,} NUL byte{'s' if nul != 1 else ''} and not UTF-16 text")

    try:
        text, note = _decode_tolerating_truncation(data, UTF8)
        return _Decoded(text, UTF8, note, None)
    except UnicodeDecodeError as error:
        utf8_error = f"invalid UTF-8 (byte 0x{data[error.start]:02x} at offset {error.start})"

    legacy = data.decode("cp1256", errors="replace")  # cp1256 maps all 256 byte values
    if "\ufffd" not in legacy and _looks_like_cp1256_arabic(legacy, config):
        return _Decoded(legacy, CP1256, None, None)
    return _refuse(f"undecodable: {utf8_error} and not Windows-1256 Arabic text")


def decode_files(frame: pl.DataFrame, config: ReadConfig = ReadConfig()) -> pl.DataFrame:
    """Add ``text``, ``encoding`` and ``read_note``; refuse what is not text.

    Rows already refused keep their status and get null text.
    """
    live = frame.select(alive().alias("live"))["live"].to_list()
    # A per-file loop is the point of this step: byte decoding and BOM/codec choice are
    # inherently per file, and Python's codecs are the fast path for them.
    decoded = [
        _decode_one(data, size, config) if ok else _Decoded(None, None, None, None)
        for data, size, ok in zip(frame["raw"].to_list(), frame["size_bytes"].to_list(), live, strict=True)
    ]
    out = frame.with_columns(
        pl.Series("text", [d.text for d in decoded], dtype=pl.String),
        pl.Series("encoding", [d.encoding for d in decoded], dtype=pl.String),
        pl.Series("read_note", [d.note for d in decoded], dtype=pl.String),
        pl.Series("_refusal", [d.refusal for d in decoded], dtype=pl.String),
    )
    out = label(out, pl.col("_refusal").is_not_null(), REJECTED, pl.col("_refusal"))

    # Text-level refusals are vectorized over the decoded column.
    chars = pl.col("text").str.len_chars()
    control_share = pl.col("text").str.count_matches(_CONTROL) / chars
    size = pl.col("raw").bin.size()
    size_text = pl.format("{} byte{}", size, pl.when(size == 1).then(pl.lit("")).otherwise(pl.lit("s")))
    out = label(
        out,
        ~pl.col("text").str.contains(_VISIBLE),
        REJECTED,
        pl.when(chars == 0)
        .then(pl.format("no text: only a byte-order mark or a cut-off character ({})", size_text))
        .otherwise(pl.format("whitespace-only file ({})", size_text)),
    )
    out = label(
        out,
        control_share > config.max_control_share,
        REJECTED,
        pl.format("binary content: {}% control characters", (control_share * 100).round(0).cast(pl.Int64)),
    )
    refused = ~alive()
    return out.with_columns(
        pl.when(refused).then(None).otherwise(pl.col(name)).alias(name) for name in ("text", "encoding", "read_note")
    ).drop("_refusal")
