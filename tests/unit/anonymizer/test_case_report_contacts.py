"""Patient.contact reaches the de-identifier; a record's names are found in every rendering."""

from __future__ import annotations

import json

from medshare_anonymizer.case_report.known_identifiers import KnownIdentifiers, _renderings
from medshare_anonymizer.deidentify import Deidentifier
from medshare_anonymizer.pseudonyms import PseudonymKeys
from medshare_shared.fhir import bundle_to_case_report
from tests.unit.anonymizer.test_case_report_deid import report
from tests.unit.anonymizer.test_fhir import bundle


def with_contact() -> dict:  # type: ignore[type-arg]
    document = bundle()
    patient = document["entry"][0]["resource"]
    patient["contact"] = [{
        "relationship": [{"text": "next of kin"}],
        "name": {"family": "Oyelaran", "given": ["Tobenna"]},
        "telecom": [{"system": "phone", "value": "+44 20 7946 0321"}],
        "address": {"line": ["9 Quarry Bank"], "city": "Leeds", "postalCode": "LS6 2QJ"},
    }]  # fmt: skip
    note = "Next of kin is Tobenna (son); call 020 7946 0321. Lives at 9 Quarry Bank."
    document["entry"][2]["resource"]["note"] = [{"text": note}]
    return document


def test_patient_contact_is_mapped() -> None:
    contact = bundle_to_case_report(with_contact()).patient.contacts[0]
    assert contact.name == "Tobenna Oyelaran" and contact.phone == "+44 20 7946 0321"
    assert contact.address is not None and contact.address.line == ["9 Quarry Bank"]


def test_a_contact_named_in_the_notes_is_removed(keys: PseudonymKeys) -> None:
    deidentifier = Deidentifier(keys=keys, dicom_options=frozenset())
    data = json.dumps(with_contact()).encode()
    outcome = deidentifier.run("case_report", "application/fhir+json", data, "springfield")
    assert outcome.status == "ok", outcome.reason
    assert outcome.output is not None
    text = outcome.output.decode()
    for value in ("Tobenna", "Oyelaran", "7946", "Quarry"):
        assert value not in text


def test_names_are_rendered_surname_first_without_initials_and_with_particles() -> None:
    assert _renderings("Melinda T. Mac Coisdealbha") >= {"Melinda Mac Coisdealbha",
                                                          "Mac Coisdealbha, Melinda"}  # fmt: skip
    assert _renderings("STREET, Precious") >= {"Precious STREET"}
    assert "dos Santos" in _renderings("Jiří dos Santos")


def test_the_known_name_is_found_in_another_order() -> None:
    known = KnownIdentifiers.of(report())
    assert known.scrub("Name: QUIMBY, Rosalind")[0] == "Name: [NAME]"


def test_a_date_is_whole_when_a_record_number_shares_its_digits(keys: PseudonymKeys) -> None:
    source = report()
    source.patient.health_plan_number = "HPN-2018-5512"
    deidentifier = Deidentifier(keys=keys, dicom_options=frozenset())
    document = json.loads(source.model_dump_json())
    document["notes"] = "Follow-up 28.11.2018: stable."
    outcome = deidentifier.run("case_report", "application/json", json.dumps(document).encode(),
                               "springfield")  # fmt: skip
    assert outcome.output is not None
    assert "Follow-up [DATE]: stable." in json.loads(outcome.output)["notes"]
