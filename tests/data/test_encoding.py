"""Strict decoding: every CSV is UTF-8, GB18030 or UTF-16 with a BOM, or it is refused.

Each case of issue 10 item 3 is planted in a hand-made file shaped like a real
export; before the fix, ``encoding: auto`` decoded the first two as iso8859_5 and
ptcp154 and validation said every row passed.
"""

from __future__ import annotations

import codecs
import re

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from salesml.cli import main
from salesml.data.encoding import EncodingError, check_encoding, utf8_lines
from salesml.data.errors import DatasetError
from salesml.data.io import detect_encoding, load_dataset, read_csv_table

HEADER = "rep_id,name,team,region,role,manager_id,hired_at\n"


def rep_rows(start: int, n: int) -> str:
    names = ["王芳", "李伟", "张敏", "刘洋", "陈静"]
    return "".join(
        f"R{i},{names[i % 5]},T1,华东,sales,,2024-0{1 + i % 9}-01\n"
        for i in range(start, start + n)
    )


def write_reps(tmp_path, data: bytes, name: str = "shop"):
    folder = tmp_path / name
    folder.mkdir()
    (folder / "reps.csv").write_bytes(data)
    return folder


def test_gb18030_file_with_one_stray_byte_is_refused_with_line_and_offset(tmp_path):
    good = (HEADER + rep_rows(1, 30)).encode("gb18030")
    at = good.index(b"R17,")
    data = good[:at] + b"R17\xff," + good[at + 4 :]  # line 18 (header is line 1)
    folder = write_reps(tmp_path, data)
    with pytest.raises(EncodingError) as e:
        load_dataset(folder, progress=False)
    msg = str(e.value)
    assert msg.startswith("reps.csv ") and "\n" not in msg
    assert f"line 18, byte {at + 3:,} (0xff" in msg
    assert "GB18030" in msg
    # the CLI prints that line and exits 2, no traceback
    assert main(["validate", str(folder)]) == 2


def test_gb18030_rows_followed_by_utf8_rows_are_refused(tmp_path, capsys):
    # GB18030 reads most UTF-8 Chinese without an error (as mojibake): the mix is
    # found because line 12 is valid UTF-8 while line 2 is not
    data = (HEADER + rep_rows(1, 10)).encode("gb18030") + rep_rows(11, 10).encode("utf-8")
    folder = write_reps(tmp_path, data)
    with pytest.raises(
        EncodingError, match=r"not in one encoding: line 2, byte \d+ .* line 12 is UTF-8"
    ):
        load_dataset(folder, progress=False)
    assert main(["validate", str(folder)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err and "reps.csv" in err


def test_utf8_rows_followed_by_gb18030_rows_are_refused(tmp_path):
    data = (HEADER + rep_rows(1, 10)).encode("utf-8") + rep_rows(11, 10).encode("gb18030")
    with pytest.raises(EncodingError, match=r"line 12, byte .* not UTF-8, yet line 2 is UTF-8"):
        check_encoding(write_reps(tmp_path, data) / "reps.csv")


@pytest.mark.parametrize(
    ("text", "why"),
    [
        # accents before a comma or a line end: invalid in GB18030 too
        (
            "R1,José García,T1,Málaga,sales,,2024-01-01\nR2,Zoë,T1,Köln,sales,,2024-01-01\n",
            "neither",
        ),
        # accents followed by letters are valid GB18030 byte pairs, all of them rare
        # ideographs: refused as implausible instead of loaded as 'M黮ler'
        (
            "R1,Müller,T1,München,sales,,2024-01-01\nR2,Jürgen,T1,Düsseldorf,sales,,2024-01-01\n",
            "rare",
        ),
    ],
)
def test_latin1_files_are_refused(tmp_path, text, why):
    folder = write_reps(tmp_path, (HEADER + text).encode("latin-1"))
    with pytest.raises(EncodingError) as e:
        load_dataset(folder, progress=False)
    msg = str(e.value)
    assert "reps.csv" in msg and "\n" not in msg
    if why == "neither":
        assert re.search(r"neither UTF-8 \(line 2, byte \d+ .*\) nor GB18030 \(line 2", msg)
    else:
        assert "only into rare characters" in msg and "M黮ler" in msg and "encoding: gb18030" in msg


def test_declaring_gb18030_is_the_escape_hatch_of_the_plausibility_guess(tmp_path):
    text = HEADER + "R1,Müller,T1,München,sales,,2024-01-01\n"
    folder = write_reps(tmp_path, text.encode("latin-1"))
    (folder / "dataset.yaml").write_text("encoding: gb18030\n", encoding="utf-8")
    data = load_dataset(folder, progress=False)  # the user said so: strict GB18030, no guess
    assert data.reps["name"].tolist() == ["M黮ler"]


def test_declared_gb18030_with_utf8_lines_loads_with_a_note(tmp_path):
    data = (HEADER + rep_rows(1, 3)).encode("gb18030") + rep_rows(4, 2).encode("utf-8")
    folder = write_reps(tmp_path, data)
    (folder / "dataset.yaml").write_text("encoding: gb18030\n", encoding="utf-8")
    loaded = load_dataset(folder, progress=False)
    assert any("line 5 looks like UTF-8" in n for n in loaded.validation.notes)


def test_utf16_with_bom_as_excel_unicode_text_writes_it(tmp_path):
    text = HEADER + rep_rows(1, 6)
    tsv = text.replace(",", "\t")  # Excel's "Unicode text" is tab-separated UTF-16LE
    folder = write_reps(tmp_path, codecs.BOM_UTF16_LE + tsv.encode("utf-16-le"))
    ref = write_reps(tmp_path, text.encode("utf-8"), name="ref")
    got = load_dataset(folder, progress=False)
    pd.testing.assert_frame_equal(got.reps, load_dataset(ref, progress=False).reps)
    assert detect_encoding(folder / "reps.csv") == "utf-16"
    assert got.validation.ok


def test_utf16_big_endian_and_line_numbers(tmp_path):
    text = HEADER + rep_rows(1, 3) + "R9,赵六,T1,华东,sales,,someday\n"
    folder = write_reps(tmp_path, codecs.BOM_UTF16_BE + text.encode("utf-16-be"))
    q = load_dataset(folder, progress=False).validation.quarantine
    assert q[["line", "rule"]].values.tolist() == [[5, "date_format"]]


def test_utf16_is_decoded_strictly(tmp_path):
    good = codecs.BOM_UTF16_LE + (HEADER + rep_rows(1, 4)).encode("utf-16-le")
    bad = good + b"\x00\xd8A\x00"  # a lone high surrogate on line 6
    folder = write_reps(tmp_path, bad)
    with pytest.raises(EncodingError, match=r"not valid UTF-16 \(line 6, byte [\d,]+: illegal"):
        load_dataset(folder, progress=False)


def test_utf8_bom_file_with_a_bad_byte_is_refused(tmp_path):
    data = codecs.BOM_UTF8 + (HEADER + rep_rows(1, 3)).encode("utf-8") + b"R9,\xc3(,T1\n"
    with pytest.raises(EncodingError, match=r"byte-order mark but is not valid UTF-8 at line 5"):
        check_encoding(write_reps(tmp_path, data) / "reps.csv")


def test_only_accepted_encodings_may_be_declared(tmp_path):
    folder = write_reps(tmp_path, (HEADER + rep_rows(1, 2)).encode("utf-8"))
    with pytest.raises(DatasetError, match=r"encoding 'latin-1' is not accepted"):
        load_dataset(folder, encoding="latin-1", progress=False)
    with pytest.raises(DatasetError, match="declared utf-16 but has no UTF-16 byte-order mark"):
        read_csv_table(folder / "reps.csv", encoding="utf-16")


def test_the_guess_of_charset_normalizer_never_picks_the_codec(tmp_path, monkeypatch):
    import charset_normalizer

    calls = []

    def spy(*args, **kwargs):
        calls.append(args)
        raise AssertionError("charset-normalizer must not decide")

    monkeypatch.setattr(charset_normalizer, "from_bytes", spy)
    for enc in ("utf-8", "gb18030"):
        f = tmp_path / f"{enc}.csv"
        f.write_bytes((HEADER + rep_rows(1, 3)).encode(enc))
        assert check_encoding(f).encoding in ("utf-8-sig", "gb18030")
    assert not calls


# ---------------------------------------------------------------------- properties
_pieces = st.sampled_from(
    [
        b"R1,",
        b"\n",
        "王芳".encode(),
        "王芳".encode("gb18030"),
        "é".encode("latin-1"),
        b"\xff",
        b"\x81",
        "𝄞".encode(),
        b",",
        b"abc",
    ]
)


@pytest.mark.slow
@settings(max_examples=200, deadline=None)
@given(st.lists(_pieces, max_size=30))
def test_a_file_is_decoded_strictly_or_refused(tmp_path_factory, pieces):
    """Nothing is decoded best effort: the codec returned decodes every byte strictly."""
    data = b"a,b\n" + b"".join(pieces)
    f = tmp_path_factory.mktemp("enc") / "x.csv"
    f.write_bytes(data)
    try:
        codec = check_encoding(f).encoding
    except EncodingError as e:
        assert "line " in str(e) or "two encodings" in str(e) or "rare" in str(e)
        return
    assert codec in ("utf-8-sig", "gb18030")
    data.decode(codec)  # strict: raises if any byte did not decode


@settings(max_examples=200, deadline=None)
@given(st.lists(st.binary(max_size=12).map(lambda b: b.replace(b"\n", b"")), max_size=40))
def test_vectorised_utf8_line_check_agrees_with_python(lines):
    data = b"\n".join(lines) + b"\n"
    bad, wide = utf8_lines(np.frombuffer(data, dtype=np.uint8))
    exp_bad, exp_wide = [], []
    for i, line in enumerate(lines):
        try:
            text = line.decode("utf-8")
        except UnicodeDecodeError:
            exp_bad.append(i)
            continue
        if any(ord(c) >= 0x800 for c in text):
            exp_wide.append(i)
    assert bad.tolist() == exp_bad
    assert wide.tolist() == exp_wide
