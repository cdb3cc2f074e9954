"""Bytes -> text: encodings, truncation, and refusals with precise reasons."""

from __future__ import annotations

import codecs
import hashlib
import random
from pathlib import Path

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from transforms.frame import REJECTED
from transforms.read import ENCODINGS, ReadConfig, decode_files
from transforms.schema import INPUT_SCHEMA

SEEDS = Path(__file__).resolve().parents[1] / "seeds"
ARABIC = "قال وزير الخارجية إن المحادثات «مثمرة»، وأضاف: سنواصل العمل معاً حتى النهاية.\nفقرة ثانية؟"


def input_frame(*raws: bytes | None, status: str | None = None, reason: str | None = None) -> pl.DataFrame:
    return pl.DataFrame(
        {
            "source_path": [f"in/{i}.txt" for i in range(len(raws))],
            "size_bytes": [None if raw is None else len(raw) for raw in raws],
            "mtime_ns": [0] * len(raws),
            "sha256": [None if raw is None else hashlib.sha256(raw).hexdigest() for raw in raws],
            "raw": list(raws),
            "status": [status] * len(raws),
            "reason": [reason] * len(raws),
        },
        schema=INPUT_SCHEMA,
    )


def decode_one(raw: bytes | None, config: ReadConfig | None = None) -> dict:
    return decode_files(input_frame(raw), config or ReadConfig()).row(0, named=True)


def assert_text(raw: bytes, text: str, encoding: str, note: str | None = None) -> None:
    row = decode_one(raw)
    assert (row["status"], row["reason"]) == (None, None)
    assert (row["text"], row["encoding"], row["read_note"]) == (text, encoding, note)


def assert_rejected(raw: bytes | None, reason: str, config: ReadConfig | None = None) -> None:
    row = decode_one(raw, config)
    assert (row["status"], row["reason"]) == (REJECTED, reason)
    assert row["text"] is None and row["encoding"] is None


# --- encodings -------------------------------------------------------------------------------


def test_utf8() -> None:
    assert_text(ARABIC.encode(), ARABIC, "utf-8")


def test_plain_ascii_is_utf8() -> None:
    assert_text(b"Hello, world\n", "Hello, world\n", "utf-8")


def test_utf8_with_bom() -> None:
    assert_text(codecs.BOM_UTF8 + ARABIC.encode(), ARABIC, "utf-8-sig")


@pytest.mark.parametrize(
    ("codec", "bom", "name"),
    [
        ("utf-16-le", codecs.BOM_UTF16_LE, "utf-16-le"),
        ("utf-16-be", codecs.BOM_UTF16_BE, "utf-16-be"),
        ("utf-32-le", codecs.BOM_UTF32_LE, "utf-32-le"),
        ("utf-32-be", codecs.BOM_UTF32_BE, "utf-32-be"),
    ],
)
def test_utf16_and_utf32_with_bom(codec: str, bom: bytes, name: str) -> None:
    assert_text(bom + ARABIC.encode(codec), ARABIC, name)


@pytest.mark.parametrize("codec", ["utf-16-le", "utf-16-be"])
def test_utf16_without_bom_is_told_by_the_byte_pattern(codec: str) -> None:
    assert_text(ARABIC.encode(codec), ARABIC, codec, f"no byte-order mark; {codec} detected from the byte pattern")


def test_utf16_without_bom_latin_text() -> None:
    text = "Plain English text, as Notepad saves it."
    assert_text(
        text.encode("utf-16-le"), text, "utf-16-le", "no byte-order mark; utf-16-le detected from the byte pattern"
    )


def test_windows_1256_arabic() -> None:
    assert_text(ARABIC.encode("cp1256"), ARABIC, "windows-1256")


@pytest.mark.parametrize("seed", sorted(SEEDS.glob("*.txt")), ids=lambda p: p.name[:3])
def test_every_seed_decodes_identically_in_every_encoding(seed: Path) -> None:
    text = seed.read_text(encoding="utf-8")
    variants = {
        "utf-8": text.encode("utf-8"),
        "utf-8-sig": codecs.BOM_UTF8 + text.encode("utf-8"),
        "utf-16-le": codecs.BOM_UTF16_LE + text.encode("utf-16-le"),
        "windows-1256": text.encode("cp1256"),
    }
    out = decode_files(input_frame(*variants.values()))
    assert out["status"].to_list() == [None] * 4
    assert out["encoding"].to_list() == list(variants)
    assert out["text"].to_list() == [text] * 4


# --- truncation ------------------------------------------------------------------------------


def test_utf8_cut_inside_a_letter_keeps_what_decodes() -> None:
    raw = "سورية".encode()
    assert_text(raw[:-1], "سوري", "utf-8", "truncated multi-byte sequence at end of file: 1 byte dropped")
    three = "ab€".encode()[:-1]  # two of the euro sign's three bytes
    assert_text(three, "ab", "utf-8", "truncated multi-byte sequence at end of file: 2 bytes dropped")


def test_utf16_with_odd_length_drops_the_half_code_unit() -> None:
    raw = codecs.BOM_UTF16_LE + "نص".encode("utf-16-le") + b"\x06"
    assert_text(raw, "نص", "utf-16-le", "truncated code unit at end of file: 1 byte dropped")


def test_invalid_utf8_in_the_middle_is_not_truncation() -> None:
    raw = "سورية".encode() + b"\xff" + "لبنان".encode()
    assert_rejected(raw, "undecodable: invalid UTF-8 (byte 0xff at offset 10) and not Windows-1256 Arabic text")


# --- refusals ----------------------------------------------------------------------------------


def test_empty_file() -> None:
    assert_rejected(b"", "empty file (0 bytes)")


@pytest.mark.parametrize("raw", [b"   \n\t\r\n ", "\u00a0\u200b\n".encode(), " \n".encode("utf-16")])
def test_whitespace_only(raw: bytes) -> None:
    assert_rejected(raw, f"whitespace-only file ({len(raw)} bytes)")


def test_bom_only() -> None:
    assert_rejected(codecs.BOM_UTF8, "no text: only a byte-order mark or a cut-off character (3 bytes)")


def test_nul_bytes_outside_utf16_are_binary() -> None:
    raw = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256))
    assert_rejected(raw, f"binary content: {raw.count(0)} NUL bytes and not UTF-16 text")


def test_mostly_control_bytes_are_binary() -> None:
    raw = bytes([1, 2, 3, 4, 5, 6, 7, 8, 65, 66]) * 10
    assert_rejected(raw, "binary content: 80% control characters")


def test_a_few_control_bytes_are_tolerated() -> None:
    raw = ARABIC.encode() + b"\x07"
    assert decode_one(raw)["status"] is None


def test_larger_than_max_bytes() -> None:
    assert_rejected(b"x" * 101, "file too large: 101 bytes, the limit is 100", ReadConfig(max_bytes=100))


def test_raw_missing_but_size_known_too_large() -> None:
    frame = input_frame(None).with_columns(size_bytes=pl.lit(10**9, dtype=pl.Int64))
    row = decode_files(frame, ReadConfig(max_bytes=1000)).row(0, named=True)
    assert row["reason"] == "file too large: 1,000,000,000 bytes, the limit is 1,000"


def test_raw_missing() -> None:
    assert_rejected(None, "no content: the file's bytes were not read")


def test_latin1_text_is_undecodable_not_arabic() -> None:
    raw = "Ça coûte très cher à Genève, dit-il.".encode("latin-1")
    assert_rejected(raw, "undecodable: invalid UTF-8 (byte 0xc7 at offset 0) and not Windows-1256 Arabic text")


def test_utf8_arabic_with_one_bad_byte_is_not_taken_for_windows_1256() -> None:
    # Read as Windows-1256, UTF-8 Arabic turns into letters mixed with symbols (mojibake).
    raw = ARABIC.encode() + b"\xff" + ARABIC.encode()
    row = decode_one(raw)
    assert row["status"] == REJECTED and row["reason"].startswith("undecodable: invalid UTF-8 (byte 0xff")


def test_random_binary_is_never_taken_for_windows_1256() -> None:
    rng = random.Random(1256)
    samples = [rng.randbytes(rng.randint(64, 4096)) for _ in range(150)]
    samples += [bytes(rng.randint(0x80, 0xFF) for _ in range(rng.randint(64, 2048))) for _ in range(150)]
    out = decode_files(input_frame(*samples))
    assert out["status"].to_list() == [REJECTED] * len(samples)
    reasons = out["reason"].to_list()
    assert all(r.startswith(("binary content", "undecodable")) for r in reasons), set(reasons)


def test_already_refused_rows_are_left_alone() -> None:
    frame = input_frame(ARABIC.encode(), status=REJECTED, reason="not a regular file")
    row = decode_files(frame).row(0, named=True)
    assert (row["status"], row["reason"], row["text"], row["encoding"]) == (REJECTED, "not a regular file", None, None)


def test_rows_keep_order_and_count_and_columns() -> None:
    raws = [b"", ARABIC.encode(), b"\x00\x01", ARABIC.encode("cp1256")]
    out = decode_files(input_frame(*raws))
    assert out.height == 4
    assert out["source_path"].to_list() == [f"in/{i}.txt" for i in range(4)]
    assert out["status"].to_list() == [REJECTED, None, REJECTED, None]
    assert out.columns == [*INPUT_SCHEMA, "text", "encoding", "read_note"]
    assert out.schema["text"] == pl.String and out.schema["read_note"] == pl.String


# --- properties --------------------------------------------------------------------------------


def _check_invariants(raws: list[bytes], out: pl.DataFrame) -> None:
    assert out.height == len(raws)
    for raw, row in zip(raws, out.iter_rows(named=True), strict=True):
        if row["status"] is None:
            assert row["reason"] is None and row["text"] is not None and row["text"].strip()
            assert row["encoding"] in ENCODINGS
            if row["encoding"] == "utf-8":
                assert raw.startswith(row["text"].encode())
                assert (row["read_note"] is None) == (raw == row["text"].encode())
        else:
            assert row["status"] == REJECTED and row["reason"] and row["text"] is None


@settings(max_examples=200, deadline=None)
@given(st.lists(st.binary(max_size=300), min_size=1, max_size=5))
def test_random_bytes_never_crash(raws: list[bytes]) -> None:
    _check_invariants(raws, decode_files(input_frame(*raws)))


_ARABIC_TEXT = st.text(alphabet=st.sampled_from(list("ابتثجحخدذرسشصضطظعغفقكلمنهويءآأإؤئةى ًٌٍَُِّْ،؛؟«».: \n")), max_size=200)


@settings(max_examples=100, deadline=None)
@given(_ARABIC_TEXT, st.sampled_from(["utf-8", "utf-8-sig", "utf-16", "utf-16-be", "cp1256"]))
def test_random_arabic_text_round_trips(text: str, codec: str) -> None:
    raw = text.encode(codec)
    out = decode_files(input_frame(raw))
    _check_invariants([raw], out)
    row = out.row(0, named=True)
    # Windows-1256 needs enough text to be sure; BOM-less UTF-16 needs two code units.
    if text.strip() and codec != "cp1256" and (codec != "utf-16-be" or len(text) > 1):
        assert row["text"] == text
