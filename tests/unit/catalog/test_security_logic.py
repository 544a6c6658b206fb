"""Pure pieces of the catalog's security controls: small cells, the audit chain's
hash, typed filters, token lifetime caps and how an audit outcome is named."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from medshare_catalog.api.audit_trail import outcome_for
from medshare_catalog.query.filters import QueryFilters
from medshare_catalog.query.search import QueryError, SearchQuery
from medshare_catalog.query.small_cells import suppress_small_cells
from medshare_catalog.store.chain import GENESIS, entry_hash, entry_id
from medshare_catalog.tokens import TokenError, TokenIssuer, max_ttls

KEY = b"k" * 32


def test_small_counts_are_hidden_zero_and_large_are_not() -> None:
    answer = {
        "kind": [{"value": "dicom", "count": 12}, {"value": "case_report", "count": 1}],
        "model_outputs": [{"count": 4, "mean": 0.5, "histogram": [{"from": 0, "count": 0}]}],
        "total": 13,
        "flag": [{"value": True, "count": True}],
    }
    shown = suppress_small_cells(answer, 5)
    assert shown["kind"] == [
        {"value": "dicom", "count": 12},
        {"value": "case_report", "count": "<5"},
    ]
    assert shown["model_outputs"][0]["count"] == "<5" and shown["model_outputs"][0]["mean"] == 0.5
    assert shown["model_outputs"][0]["histogram"][0]["count"] == 0
    assert shown["total"] == 13 and answer["kind"][1]["count"] == 1  # a copy
    assert suppress_small_cells(answer, 1) == answer


def test_entry_hash_covers_content_and_link_and_ignores_storage_precision() -> None:
    at = datetime(2026, 1, 2, 3, 4, 5, 678_901, tzinfo=UTC)
    entry = {"_id": entry_id(1), "seq": 1, "prev_hash": GENESIS, "at": at, "status": 403}
    digest = entry_hash(entry)
    # MongoDB keeps milliseconds and may hand back a naive UTC time.
    stored = {**entry, "at": at.replace(microsecond=678_000, tzinfo=None), "hash": digest}
    assert entry_hash(stored) == digest
    assert entry_hash({**entry, "status": 200}) != digest
    assert entry_hash({**entry, "prev_hash": "f" * 64}) != digest
    assert entry_id(42) == "000000000042"


@pytest.mark.parametrize(
    "values",
    [
        {"model": {"$ne": "x"}},
        {"q": {"$ne": 1}},
        {"modality": [{"$regex": "(a+)+$"}]},
        {"diagnosis": ["C5(0|1)*"]},
        {"zip3": ["12"]},
        {"kind": ["anything"]},
        {"institution": ["a" * 101]},
        {"study_year": list(range(2000, 2060))},
        {"whatever": 1},
        ["not", "an", "object"],
    ],
)
def test_typed_filters_refuse_operators_shapes_and_sizes(values: object) -> None:
    with pytest.raises(QueryError):
        SearchQuery.from_dict(values)


def test_typed_filters_accept_what_the_api_documents() -> None:
    query = SearchQuery.from_dict(
        {
            "modality": ["CT"],
            "diagnosis": ["C50*"],
            "sex": ["f"],
            "q": "chest ct*",
            "year_from": 2019,
        }
    )
    assert query.to_filter()
    assert QueryFilters().model_dump()["kind"] == []


def test_token_lifetimes_are_capped_at_issue_and_at_verification() -> None:
    caps = max_ttls(30 * 86400, 86400)
    issuer = TokenIssuer(KEY, caps)
    with pytest.raises(ValueError, match="at most 1d"):
        issuer.issue("ada", "admin", ttl=timedelta(days=36500))
    with pytest.raises(ValueError, match="at most 30d"):
        issuer.issue("alice", "researcher", ttl=timedelta(days=31))
    lenient = TokenIssuer(KEY, max_ttls(400 * 86400, 400 * 86400))
    long_lived = lenient.issue("ada", "admin", ttl=timedelta(days=300))
    with pytest.raises(TokenError, match="lifetime"):
        issuer.verify(long_lived)
    assert (
        issuer.verify(issuer.issue("alice", "researcher", ttl=timedelta(days=30))).user == "alice"
    )


def test_audit_outcomes_follow_the_status_sent() -> None:
    assert outcome_for(201, None) == "ok"
    assert outcome_for(422, None) == "refused"
    assert outcome_for(401, None) == "denied" and outcome_for(404, None) == "not_found"
    assert outcome_for(500, "ok") == "error" and outcome_for(503, None) == "error"
    assert outcome_for(404, "denied") == "denied"
