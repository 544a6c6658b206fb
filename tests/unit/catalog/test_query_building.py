"""Search parameters and QIDO-RS keys as MongoDB conditions."""

from __future__ import annotations

import pytest

from medshare_catalog.query.cursors import after_cursor, encode_cursor
from medshare_catalog.query.qido import QidoError, condition_for, keyword_of, parse
from medshare_catalog.query.search import QueryError, SearchQuery, text_conditions


def test_every_filter_lands_in_the_condition() -> None:
    query = SearchQuery(
        kind=["dicom"],
        modality=["ct"],
        sex=["f"],
        study_year=[2021],
        year_from=2019,
        institution=["north"],
        diagnosis=["C50*"],
        model="m",
        output="p",
        output_min=0.5,
        release=["released"],
        q="chest x-ray*",
    )
    condition = query.to_filter()
    parts = {next(iter(c)) for c in condition["$and"]}
    assert {
        "kind",
        "modality",
        "sex",
        "study_year",
        "institution",
        "release.state",
        "results",
        "text_tokens",
        "diagnosis_codes",
    } <= parts
    assert {"modality": {"$in": ["CT"]}} in condition["$and"]
    assert {
        "results": {"$elemMatch": {"model_name": "m", "outputs.p": {"$gte": 0.5}, "error": None}}
    } in condition["$and"]
    assert {"diagnosis_codes": {"$gte": "C50", "$lt": "C51"}} in condition["$and"]
    assert {"diagnosis_codes": {"$regex": "^C50"}} in condition["$and"]


def test_free_text_exact_words_and_prefixes() -> None:
    assert text_conditions("Chest  CT chest") == [{"text_tokens": "chest"}, {"text_tokens": "ct"}]
    assert text_conditions("malig* (c50.9)") == [
        {"text_tokens": "c50.9"},
        {"text_tokens": {"$gte": "malig", "$lt": "malih"}},
        {"text_tokens": {"$regex": "^malig"}},
    ]
    assert text_conditions("   ") == []


def test_output_filters_need_a_field_and_a_safe_name() -> None:
    with pytest.raises(QueryError, match="need output"):
        SearchQuery(output_min=0.5).to_filter()
    with pytest.raises(QueryError, match="output"):
        SearchQuery(output="a.b", output_min=1).to_filter()
    query = SearchQuery(model="burned-in-text", output="has_text", output_value="true")
    assert query.model_condition()["outputs.has_text"] is True


def test_saved_query_round_trip() -> None:
    query = SearchQuery(modality=["CT"], year_to=2020, q="chest")
    assert SearchQuery.from_dict(query.as_dict()) == query
    for bad in ({"modality": ["CT"], "unknown": 1}, {"model": {"$ne": "x"}}, {"q": {"$ne": 1}}):
        with pytest.raises(QueryError):
            SearchQuery.from_dict(bad)


def test_cursor_round_trip_and_tampering() -> None:
    from datetime import UTC, datetime

    cursor = encode_cursor(
        "recent", {"_id": "abc", "ingested_at": datetime(2024, 1, 2, tzinfo=UTC)}
    )
    condition = after_cursor("recent", cursor)
    assert condition["$or"][1]["_id"] == {"$lt": "abc"}
    with pytest.raises(QueryError, match="another sort"):
        after_cursor("id", cursor)
    with pytest.raises(QueryError, match="malformed"):
        after_cursor("recent", "!!!not-base64")


def test_qido_keys_by_keyword_or_tag() -> None:
    assert keyword_of("0020000D") == "StudyInstanceUID"
    assert keyword_of("StudyDate") == "StudyDate"
    with pytest.raises(QidoError):
        keyword_of("NotAKeyword")
    with pytest.raises(QidoError):
        keyword_of("7FE1FFFF")


def test_qido_matching_kinds() -> None:
    assert condition_for("StudyInstanceUID", "1.2,1.3") == {
        "dicom.study_uid": {"$in": ["1.2", "1.3"]}
    }
    assert condition_for("StudyDate", "20200101-20201231") == {
        "dicom.study_date": {"$gte": "20200101", "$lte": "20201231\uffff"}
    }
    assert condition_for("StudyDate", "-2019") == {"dicom.study_date": {"$lte": "2019\uffff"}}
    assert condition_for("PatientName", "ANON*") == {
        "dicom.patient_name": {"$regex": "^ANON.*$", "$options": "i"}
    }
    assert condition_for("StudyDescription", "CT?CHEST") == {
        "dicom.study_description": {"$regex": "^CT.CHEST$"}
    }
    assert condition_for("SeriesNumber", "3") == {"dicom.series_number": 3}
    assert condition_for("ModalitiesInStudy", "ct\\mr") == {"dicom.modality": {"$in": ["CT", "MR"]}}


def test_qido_parse_controls_and_levels() -> None:
    query = parse([("limit", "5"), ("offset", "2"), ("includefield", "all"), ("Modality", "CT"),
                   ("SOPInstanceUID", "1.2"), ("00100010", "")], "series")  # fmt: skip
    assert (query.limit, query.offset, query.include_all) == (5, 2, True)
    assert query.filter() == {"dicom.modality": "CT"}
    assert query.ignored == ["SOPInstanceUID"]  # instance key at series level
    with pytest.raises(QidoError, match="limit"):
        parse([("limit", "-1")], "study")


def test_filters_become_single_condition_stages_most_selective_first() -> None:
    from medshare_catalog.query.stages import driving_field, match_stages

    researcher = {"cataloged": True, "release.state": "released", "institution": {"$in": ["a"]}}
    assert driving_field({"cataloged": True}) is None
    assert driving_field(researcher) == "institution"
    chest_ct = SearchQuery(modality=["CT"], q="chest").to_filter()
    stages = match_stages(researcher, chest_ct)
    assert stages[0] == {"$match": {"text_tokens": "chest"}}
    assert [next(iter(s["$match"])) for s in stages] == [
        "text_tokens",
        "modality",
        "institution",
        "release.state",
        "cataloged",
    ]
    assert all(len(stage["$match"]) == 1 for stage in stages)
    prefix = SearchQuery(diagnosis=["C50*"], sex=["F"]).to_filter()
    assert driving_field(researcher, prefix) == "diagnosis_codes"
    both = SearchQuery(diagnosis=["C50*", "E11*"]).to_filter()  # an $or cannot lead
    assert driving_field(researcher, both) == "institution"
    assert driving_field({"diagnosis_codes": {"$regex": "^C50"}}, {"cataloged": True}) is None
    assert driving_field({"text_tokens": {"$all": ["a"]}}, {"cataloged": True}) is None
    per_kind = {"cataloged": True, "$or": [{"institution": {"$in": ["a"]}, "kind": {"$in": ["x"]}}]}
    assert driving_field(per_kind) is None
    assert match_stages() == []
