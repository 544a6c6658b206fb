import hashlib
import re

from medshare_shared.ids import record_id_for


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def test_a_record_id_is_32_hex_digits_and_stable() -> None:
    record_id = record_id_for("st-mary", sha(b"record"))
    assert re.fullmatch(r"[0-9a-f]{32}", record_id)
    assert record_id_for("st-mary", sha(b"record")) == record_id


def test_the_same_bytes_from_another_institution_are_another_record() -> None:
    assert record_id_for("st-mary", sha(b"record")) != record_id_for("st-john", sha(b"record"))
    assert record_id_for("st-mary", sha(b"record")) != record_id_for("st-mary", sha(b"other"))


def test_institution_and_digest_cannot_be_shifted_into_each_other() -> None:
    assert record_id_for("ab", "c") != record_id_for("a", "bc")
