"""The audit journal must reveal any tampering and never hold a secret."""

import json
from decimal import Decimal
from pathlib import Path

import pytest

from bot.audit import AuditCorrupted, AuditJournal, journal_files, verify
from bot.redact import Redactor


def write_journal(directory: Path, count: int = 5, **kwargs) -> None:
    with AuditJournal(directory, **kwargs) as journal:
        for n in range(count):
            journal.append("order", {"n": n, "qty": Decimal("0.001")}, sync=n == count - 1)


def rewrite(path: Path, edit) -> None:
    lines = path.read_text().splitlines()
    path.write_text("\n".join(edit(lines)) + "\n")


def test_intact_journal_verifies_with_its_record_count(tmp_path):
    write_journal(tmp_path)
    result = verify(tmp_path)
    assert result.ok and result.records == 5


def test_chain_continues_across_restart_and_rotation(tmp_path):
    import gzip

    from bot.audit_segments import chain_segments

    write_journal(tmp_path, count=3, max_bytes=200)
    write_journal(tmp_path, count=3, max_bytes=200)
    files = chain_segments(tmp_path)
    assert len(files) > 1 and files[0].name.endswith(".jsonl.gz")  # rotated, then sealed
    first_of_second = json.loads(gzip.decompress(files[1].read_bytes()).splitlines()[0])
    last_of_first = json.loads(gzip.decompress(files[0].read_bytes()).splitlines()[-1])
    assert first_of_second["prev"] == last_of_first["hash"]
    assert verify(tmp_path).records == 6 + len(files) - 1  # and one seal per sealed file


def _edit_data(lines):
    record = json.loads(lines[2])
    record["data"]["n"] = 99
    lines[2] = json.dumps(record)
    return lines


@pytest.mark.parametrize(
    ("edit", "bad_seq", "word"),
    [
        (_edit_data, 3, "edited"),
        (lambda lines: lines[:2] + lines[3:], 3, "deleted"),
        (lambda lines: [*lines[:2], lines[3], lines[2], *lines[4:]], 3, "reordered"),
        (lambda lines: [*lines[:3], lines[1], *lines[3:]], 2, "inserted"),
        (lambda lines: [*lines[:4], lines[4][:30]], 5, "broken JSON"),
        (lambda lines: lines[:3], 4, "truncated"),
    ],
    ids=["edited", "deleted", "reordered", "inserted", "broken-json", "truncated"],
)
def test_tampering_is_caught_with_first_bad_seq(tmp_path, edit, bad_seq, word):
    write_journal(tmp_path)
    rewrite(journal_files(tmp_path)[0], edit)
    result = verify(tmp_path)
    assert not result.ok
    assert result.bad_seq == bad_seq
    assert word in result.reason


def test_rehashed_edit_is_caught_by_the_next_link(tmp_path):
    from bot.audit import record_hash

    write_journal(tmp_path)

    def forge(lines):
        record = json.loads(lines[1])
        record["data"]["n"] = 42
        record["hash"] = record_hash(record)
        lines[1] = json.dumps(record)
        return lines

    rewrite(journal_files(tmp_path)[0], forge)
    result = verify(tmp_path)
    assert (result.bad_seq, result.ok) == (2, False)


def test_secrets_are_redacted_before_hashing(tmp_path):
    redactor = Redactor(["my-api-key-123", "my-secret-456"])
    with AuditJournal(tmp_path, redactor=redactor) as journal:
        journal.append("error", {"msg": "key my-api-key-123 secret my-secret-456 signature=abcdef"})
    text = journal_files(tmp_path)[0].read_text()
    assert "my-api-key-123" not in text and "my-secret-456" not in text and "abcdef" not in text
    assert verify(tmp_path).ok


def test_secrets_anywhere_in_the_record_are_redacted(tmp_path):
    redactor = Redactor(["ListenKey0123456789abcdef"])
    data = {
        "nested": {"urls": ["/private/ws/ListenKey0123456789abcdef", ("listenKey=xyz",)]},
        "path": Path("/tmp/ListenKey0123456789abcdef"),
        "ids": {"ListenKey0123456789abcdef"},
        "qty": Decimal("0.001"),
    }
    with AuditJournal(tmp_path, redactor=redactor) as journal:
        record = journal.append("error", data)
    text = journal_files(tmp_path)[0].read_text()
    assert "ListenKey0123456789abcdef" not in text and "xyz" not in text
    assert json.loads(text)["data"]["qty"] == "0.001"
    assert json.loads(text)["hash"] == record["hash"]
    assert verify(tmp_path).ok


def test_corrupt_tail_refuses_to_continue(tmp_path):
    write_journal(tmp_path)
    rewrite(journal_files(tmp_path)[0], lambda lines: [*lines[:-1], "{not json"])
    with pytest.raises(AuditCorrupted):
        AuditJournal(tmp_path)


# --- attacks by someone who can write the state dir (issue 10 point 11) ----------------

KEY = b"audit-key-kept-outside-the-state-dir"


def _rechain(lines: list[str], edit) -> list[str]:
    """Apply ``edit`` to the parsed records, then recompute every hash and link, as
    an attacker who read the code would (a MAC, if any, cannot be recomputed)."""
    from bot.audit import GENESIS, record_hash

    records = [json.loads(line) for line in lines]
    edit(records)
    prev = GENESIS
    for record in records:
        record["prev"] = prev
        record["hash"] = record_hash(record)
        prev = record["hash"]
    return [json.dumps(record) for record in records]


def _set_n(records):
    records[1]["data"]["n"] = 42


def _head(directory: Path) -> dict:
    return json.loads((directory / "HEAD").read_text())


def _forge_head(directory: Path) -> None:
    """Point HEAD at the journal's (forged) last record."""
    last = json.loads(journal_files(directory)[-1].read_text().splitlines()[-1])
    (directory / "HEAD").write_text(json.dumps({"seq": last["seq"], "hash": last["hash"]}))


def test_rehashed_rewrite_of_an_early_record_is_caught_by_the_head_hash(tmp_path):
    write_journal(tmp_path)
    rewrite(journal_files(tmp_path)[0], lambda lines: _rechain(lines, _set_n))
    result = verify(tmp_path)
    assert not result.ok
    assert "HEAD" in result.reason and result.bad_seq == 5


def test_full_rewrite_with_a_forged_head_is_caught_by_the_key(tmp_path):
    write_journal(tmp_path, key=KEY)
    assert verify(tmp_path, key=KEY).ok
    rewrite(journal_files(tmp_path)[0], lambda lines: _rechain(lines, _set_n))
    _forge_head(tmp_path)
    result = verify(tmp_path, key=KEY)
    assert not result.ok
    assert result.bad_seq == 2 and "MAC" in result.reason


def test_stripping_the_macs_does_not_pass_as_an_unkeyed_journal(tmp_path):
    write_journal(tmp_path, key=KEY)

    def strip(records):
        for record in records:
            del record["mac"]

    rewrite(journal_files(tmp_path)[0], lambda lines: _rechain(lines, strip))
    _forge_head(tmp_path)
    result = verify(tmp_path, key=KEY)
    assert not result.ok and result.bad_seq == 1 and "MAC" in result.reason


def test_a_journal_written_with_the_key_verifies_without_it_as_unchecked(tmp_path):
    write_journal(tmp_path, key=KEY)
    result = verify(tmp_path)
    assert result.ok and result.keyed and not result.macs_checked
    assert verify(tmp_path, key=b"another-key-entirely").bad_seq == 1


def test_truncation_with_a_rewritten_head_is_caught_by_the_logged_head(tmp_path):
    from bot.audit import HeadClaim

    write_journal(tmp_path)
    logged = HeadClaim(seq=5, hash=_head(tmp_path)["hash"], place="bot.log:7")
    rewrite(journal_files(tmp_path)[0], lambda lines: lines[:3])
    _forge_head(tmp_path)
    assert verify(tmp_path).ok  # the journal alone cannot tell
    result = verify(tmp_path, heads=[logged])
    assert not result.ok
    assert "truncated" in result.reason and "bot.log:7" in result.reason


def test_a_rewrite_that_keeps_the_length_is_caught_by_the_logged_head(tmp_path):
    from bot.audit import HeadClaim

    write_journal(tmp_path)
    logged = HeadClaim(seq=5, hash=_head(tmp_path)["hash"], place="bot.log:7")
    rewrite(journal_files(tmp_path)[0], lambda lines: _rechain(lines, _set_n))
    _forge_head(tmp_path)
    result = verify(tmp_path, heads=[logged])
    assert not result.ok and result.bad_seq == 5 and "bot.log:7" in result.reason


def _replace_line(number: int, text: bytes):
    def edit(path: Path) -> None:
        lines = path.read_bytes().splitlines()
        lines[number - 1] = text
        path.write_bytes(b"\n".join(lines) + b"\n")

    return edit


@pytest.mark.parametrize(
    "damage",
    [
        _replace_line(3, b'{"seq": 3, "data": "\xff\xfe not utf-8"}'),
        _replace_line(3, b'{"data":{"n":2},"hash":"ab'),
        _replace_line(3, b"[1, 2, 3]"),
        _replace_line(3, b'"just a string"'),
        _replace_line(3, b"null"),
        _replace_line(3, b"\x00\x01\x02"),
    ],
    ids=["non-utf8", "truncated-line", "array", "string", "null", "binary"],
)
def test_garbage_in_a_journal_file_is_broken_with_its_place(tmp_path, damage):
    write_journal(tmp_path)
    damage(journal_files(tmp_path)[0])
    result = verify(tmp_path)
    assert not result.ok
    assert result.place == "audit-000001.jsonl:3"


@pytest.mark.parametrize(
    "head",
    [b"garbage", b"\xff\xfe", b"[5]", b'{"seq": "five", "hash": 1}', b'{"seq": 5}', b""],
    ids=["garbage", "non-utf8", "array", "wrong-types", "no-hash", "empty"],
)
def test_garbage_head_is_broken_not_a_crash(tmp_path, head):
    write_journal(tmp_path)
    (tmp_path / "HEAD").write_bytes(head)
    result = verify(tmp_path)
    assert not result.ok
    assert result.place == "HEAD" and "HEAD" in result.reason


def test_records_with_fields_of_the_wrong_type_are_broken_not_a_crash(tmp_path):
    write_journal(tmp_path)

    def damage(lines):
        record = json.loads(lines[1])
        record["seq"] = [2]
        lines[1] = json.dumps(record)
        return lines

    rewrite(journal_files(tmp_path)[0], damage)
    result = verify(tmp_path)
    assert not result.ok and result.place == "audit-000001.jsonl:2"


def test_logged_heads_are_read_with_their_place_and_a_new_chain_forgets_older_ones(tmp_path):
    from bot.audit_anchor import head_claims

    def head(seq: int) -> bytes:
        return f"T INFO bot.audit.head: audit head seq={seq} hash={'ab' * 32} (stop)\n".encode()

    (tmp_path / "bot.log.2").write_bytes(head(1) + b"noise\n")
    (tmp_path / "bot.log.1").write_bytes(
        b"\xff\xfe garbage audit \n" + head(2) + b"T INFO audit chain started: archived\n" + head(1)
    )
    (tmp_path / "bot.log").write_bytes(b"a\nb\n" + head(2) + b"audit head seq=3 hash=short\n")
    claims = head_claims(tmp_path / "bot.log")
    assert [(c.seq, c.place) for c in claims] == [(1, "bot.log.1:4"), (2, "bot.log:3")]


def test_observers_see_each_record_redacted_and_a_failing_one_never_stops_the_append(tmp_path):
    seen: list[dict] = []

    def broken(record: dict) -> None:
        raise RuntimeError("observer bug")

    with AuditJournal(tmp_path, redactor=Redactor(["my-api-key-123"])) as journal:
        journal.observe(broken)
        journal.observe(seen.append)
        journal.append("alarm", {"reason": "key my-api-key-123 rejected"}, sync=True)
        journal.append("order_send", {"client_id": "ufb-BTCUSDC-x"})
    assert [record["kind"] for record in seen] == ["alarm", "order_send"]
    assert "my-api-key-123" not in json.dumps(seen)
    assert verify(tmp_path).ok
