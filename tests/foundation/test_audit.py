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
    write_journal(tmp_path, count=3, max_bytes=200)
    write_journal(tmp_path, count=3, max_bytes=200)
    files = journal_files(tmp_path)
    assert len(files) > 1
    first_of_second = json.loads(files[1].read_text().splitlines()[0])
    last_of_first = json.loads(files[0].read_text().splitlines()[-1])
    assert first_of_second["prev"] == last_of_first["hash"]
    assert verify(tmp_path).records == 6


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
