"""The span scoring rule of `evaluate-notes` and `bench notes`, on tiny hand-written corpora."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from medshare_anonymizer.case_report.evaluation import convert, score_document, summarise
from medshare_anonymizer.case_report.labelled_corpus import (
    CorpusError,
    LabelledDocument,
    Release,
    Span,
    flatten_narrative,
    read_corpus,
)
from medshare_anonymizer.cli import cli

NOTES = "Seen by Rosalind Quimby on 3-May-2024 for Graves' disease. Call 217-555-0142."
REPORT: dict[str, Any] = {
    "report_id": "R-1",
    "encounter_date": "2024-05-03",
    "patient": {"patient_id": "P-77", "name": "Ada Lovelace", "birth_date": "1950-02-01"},
    "notes": NOTES,
}


def _span(text: str, label: str, pointer: str = "/notes", where: str = "free") -> Span:
    start = NOTES.index(text)
    return Span(pointer, start, start + len(text), label, where)


def _doc(spans: list[Span], document: dict[str, Any] = REPORT) -> LabelledDocument:
    return LabelledDocument("0001", json.dumps(document).encode(), "application/json", spans)


def _released(notes: str, **patient: Any) -> Release:
    return Release("ok", {"report_id": "x", "patient": {"pseudonym": "p", **patient},
                          "notes": notes})  # fmt: skip


def _kept(doc: LabelledDocument, release: Release) -> dict[str, bool]:
    score = score_document(doc, convert(doc), release)
    return {f"{o.label}:{o.text}": o.kept for o in score.outcomes}


def test_a_redacted_span_is_caught_and_a_partly_kept_one_is_missed() -> None:
    doc = _doc([_span("Rosalind Quimby", "NAME_PATIENT"), _span("217-555-0142", "PHONE")])
    released = _released(NOTES.replace("Rosalind Quimby", "[NAME]").replace("217-555", "[X]"))
    kept = _kept(doc, released)
    assert kept == {"NAME_PATIENT:Rosalind Quimby": False, "PHONE:217-555-0142": True}
    only_first = _released(NOTES.replace("Rosalind", "[NAME]"))
    assert _kept(doc, only_first)["NAME_PATIENT:Rosalind Quimby"] is True


def test_a_kept_title_or_the_year_of_a_date_is_no_leak() -> None:
    doc = _doc([_span("3-May-2024", "DATE")])
    assert _kept(doc, _released(NOTES.replace("3-May-", "[DATE]-")))["DATE:3-May-2024"] is False
    assert _kept(doc, _released(NOTES.replace("3-May", "[DATE]")))["DATE:3-May-2024"] is False
    assert _kept(doc, _released(NOTES.replace("May-", "")))["DATE:3-May-2024"] is True


def test_a_trap_survives_only_whole() -> None:
    doc = _doc([_span("Graves' disease", "TRAP_EPONYM")])
    assert _kept(doc, _released(NOTES))["TRAP_EPONYM:Graves' disease"] is True
    damaged = _released(NOTES.replace("Graves'", "[NAME]'"))
    assert _kept(doc, damaged)["TRAP_EPONYM:Graves' disease"] is False
    summary = summarise([score_document(doc, convert(doc), damaged)], 1.0)
    assert summary["trap_survival_per_kind"] == {"TRAP_EPONYM": 0.0}


def test_a_dropped_structured_field_is_looked_for_anywhere_in_the_release() -> None:
    name = Span("/patient/name", 0, 12, "NAME_PATIENT", "structured")
    birth = Span("/patient/birth_date", 0, 10, "DATE", "structured")
    doc = _doc([name, birth])
    assert _kept(doc, _released(NOTES, birth_date="1950-04-11")) == {
        "NAME_PATIENT:Ada Lovelace": False, "DATE:1950-02-01": False}  # fmt: skip
    leaked = _released(NOTES + " Lovelace", birth_date="1950-02-01")
    assert _kept(doc, leaked) == {"NAME_PATIENT:Ada Lovelace": True, "DATE:1950-02-01": True}


def test_withheld_reports_count_in_the_rates_not_in_recall() -> None:
    doc = _doc([_span("Rosalind Quimby", "NAME_PATIENT")])
    scores = [score_document(doc, convert(doc), Release("quarantined")),
              score_document(doc, convert(doc), _released(NOTES))]  # fmt: skip
    summary = summarise(scores, 2.0)
    assert summary["quarantine_rate"] == 0.5 and summary["recall"] == 0.0
    assert summary["reports_per_second"] == 1.0
    assert summary["misses"] == {"NAME_PATIENT free /notes": 1}


def test_token_precision_counts_removed_free_text_tokens() -> None:
    doc = _doc([_span("Rosalind Quimby", "NAME_PATIENT")])
    released = _released(NOTES.replace("Rosalind Quimby", "[NAME]").replace("Graves'", "[NAME]'"))
    score = score_document(doc, convert(doc), released)
    assert (score.removed_phi_tokens, score.removed_tokens) == (2, 3)


DIV = '<div xmlns="http://www.w3.org/1999/xhtml"><p>Pt seen by <b>Dr Amos Tiller</b> &amp; wife</p><p>Nell Tiller, ph 555-0100.</p></div>'  # noqa: E501
BUNDLE: dict[str, Any] = {
    "resourceType": "Bundle", "type": "collection", "id": "b-1",
    "entry": [
        {"resource": {"resourceType": "Patient", "id": "p1",
                      "identifier": [{"value": "MR-5"}], "name": [{"family": "Tiller",
                                                                  "given": ["Ben"]}]}},
        {"resource": {"resourceType": "Encounter", "status": "finished",
                      "class": {"code": "AMB"}, "period": {"start": "2024-01-02"},
                      "text": {"status": "additional", "div": DIV}}},
        {"resource": {"resourceType": "Condition", "subject": {"reference": "Patient/p1"},
                      "note": [{"text": "Wife Nell Tiller drove him."}]}},
    ],
}  # fmt: skip


def _fhir_span(pointer: str, value: str, text: str, label: str) -> Span:
    start = value.index(text)
    return Span(pointer, start, start + len(text), label, "free")


def test_fhir_spans_are_found_where_the_converted_report_carries_them() -> None:
    div, note = "/entry/1/resource/text/div", "/entry/2/resource/note/0/text"
    spans = [_fhir_span(div, DIV, "Amos Tiller", "NAME_CLINICIAN"),
             _fhir_span(div, DIV, "Nell Tiller", "NAME_RELATIVE"),
             _fhir_span(div, DIV, "555-0100", "PHONE"),
             _fhir_span(note, "Wife Nell Tiller drove him.", "Nell Tiller", "NAME_RELATIVE"),
             Span("/entry/0/resource/name/0/family", 0, 6, "NAME_PATIENT",
                  "structured")]  # fmt: skip
    doc = LabelledDocument("0002", json.dumps(BUNDLE).encode(), "application/fhir+json", spans)
    converted = convert(doc)
    assert converted["notes"] == ("Pt seen by Dr Amos Tiller & wife Nell Tiller, ph 555-0100.\n"
                                  "Wife Nell Tiller drove him.")  # fmt: skip
    released = copy.deepcopy(converted)
    # The narrative's relative is kept, the note's one is removed.
    released["notes"] = converted["notes"].replace("Amos Tiller", "[NAME]", 1).replace(
        "555-0100", "[PHONE]").replace("Wife Nell Tiller", "Wife [NAME]")  # fmt: skip
    released["patient"]["name"] = "[NAME]"
    outcomes = score_document(doc, converted, Release("ok", released)).outcomes
    assert [(o.label, o.kept) for o in outcomes] == [
        ("NAME_CLINICIAN", False), ("NAME_RELATIVE", True), ("PHONE", False),
        ("NAME_RELATIVE", False), ("NAME_PATIENT", False)]  # fmt: skip
    assert outcomes[1].pointer == "/entry/N/resource/text/div"


def test_a_narrative_flattens_as_the_converter_does_with_raw_offsets() -> None:
    text, index = flatten_narrative(DIV)
    assert text == "Pt seen by Dr Amos Tiller & wife Nell Tiller, ph 555-0100."
    assert DIV[index[text.index("Amos")] :].startswith("Amos Tiller</b>")


def _write(corpus: Path, name: str, document: dict[str, Any], spans: list[Span]) -> None:
    (corpus / "docs").mkdir(parents=True, exist_ok=True)
    (corpus / "labels").mkdir(parents=True, exist_ok=True)
    (corpus / "docs" / name).write_text(json.dumps(document))
    labels = {"document": f"docs/{name}", "format": "case_report",
              "spans": [{"pointer": s.pointer, "start": s.start, "end": s.end, "class": s.label,
                         "where": s.where, "text": ""} for s in spans]}  # fmt: skip
    (corpus / "labels" / name).write_text(json.dumps(labels))


def test_evaluate_notes_runs_the_service_engine_on_a_corpus(tmp_path: Path) -> None:
    corpus = tmp_path / "corpus"
    spans = [_span("Rosalind Quimby", "NAME_PATIENT"), _span("217-555-0142", "PHONE"),
             _span("Graves' disease", "TRAP_EPONYM"),
             Span("/patient/name", 0, 12, "NAME_PATIENT", "structured")]  # fmt: skip
    _write(corpus, "0001.json", REPORT, spans)
    out = tmp_path / "scores.json"
    result = CliRunner().invoke(cli, ["evaluate-notes", "--corpus", str(corpus), "--out", str(out)])
    assert result.exit_code == 0, result.output
    written = json.loads(out.read_text())
    assert written["documents"] == 1 and written["statuses"] == {"ok": 1}
    assert written["recall_per_class"]["PHONE"] == 1.0
    assert written["recall_per_class"]["NAME_PATIENT"] == 1.0
    assert "Rosalind" not in out.read_text()


def test_a_bad_corpus_names_the_file(tmp_path: Path) -> None:
    with pytest.raises(CorpusError, match="no labels"):
        read_corpus(tmp_path)
    _write(tmp_path, "0001.json", REPORT, [])
    (tmp_path / "docs" / "0001.json").unlink()
    with pytest.raises(CorpusError, match=r"0001\.json is missing"):
        read_corpus(tmp_path)
    (tmp_path / "labels" / "0001.json").write_text("not json")
    with pytest.raises(CorpusError, match=r"labels/0001\.json is not a label file"):
        read_corpus(tmp_path)
