"""Case reports and FHIR Bundles with fictional patients, a STOW-RS body builder, and a
C-STORE sender."""

from __future__ import annotations

import uuid
from typing import Any

PATIENT_NAME = ("Rosalind", "Quimby")
MRN = "MRN-4471923"
PHONE = "217-555-0142"


def case_report(report_id: str | None = None) -> dict[str, Any]:
    return {
        "report_id": report_id or f"CR-{uuid.uuid4().hex[:8]}",
        "patient": {
            "patient_id": MRN,
            "name": " ".join(PATIENT_NAME),
            "birth_date": "1961-07-14",
            "sex": "F",
            "phone": PHONE,
        },
        "encounter_date": "2024-03-05",
        "diagnoses": [{"code": "C50.9", "display": "Malignant neoplasm of breast"}],
        "notes": f"{' '.join(PATIENT_NAME)} seen on 03/05/2024; call {PHONE}.",
    }


def fhir_bundle(bundle_id: str | None = None) -> dict[str, Any]:
    return {
        "resourceType": "Bundle",
        "id": bundle_id or f"bundle-{uuid.uuid4().hex[:8]}",
        "type": "collection",
        "entry": [
            {"resource": {
                "resourceType": "Patient", "id": "p1",
                "identifier": [{"type": {"coding": [{"code": "MR"}]}, "value": MRN}],
                "name": [{"given": [PATIENT_NAME[0]], "family": PATIENT_NAME[1]}],
                "telecom": [{"system": "phone", "value": PHONE}],
                "gender": "female", "birthDate": "1961-07-14",
            }},
            {"resource": {
                "resourceType": "Encounter", "status": "finished",
                "class": {"code": "AMB"}, "period": {"start": "2024-03-05T09:30:00Z"},
            }},
            {"resource": {
                "resourceType": "Condition", "subject": {"reference": "Patient/p1"},
                "code": {"coding": [{"system": "http://hl7.org/fhir/sid/icd-10-cm",
                                     "code": "C50.912"}]},
            }},
            {"resource": {
                "resourceType": "Observation", "status": "final",
                "code": {"coding": [{"system": "urn:medshare:feature", "code": "mean_radius"}]},
                "valueQuantity": {"value": 17.99},
            }},
        ],
    }  # fmt: skip


BOUNDARY = "medshare-test-7f3a"
STOW_CONTENT_TYPE = f'multipart/related; type="application/dicom"; boundary={BOUNDARY}'


def multipart(*parts: bytes, part_type: str = "application/dicom") -> bytes:
    body = b""
    for part in parts:
        body += f"--{BOUNDARY}\r\nContent-Type: {part_type}\r\n\r\n".encode() + part + b"\r\n"
    return body + f"--{BOUNDARY}--\r\n".encode()


def failed_items(answer: dict[str, Any]) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = answer.get("00081198", {}).get("Value", [])
    return items


def stored_items(answer: dict[str, Any]) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = answer.get("00081199", {}).get("Value", [])
    return items


def value(item: dict[str, Any], tag: str) -> Any:
    values = item.get(tag, {}).get("Value", [])
    return values[0] if values else None


def c_store(port: int, data: bytes, calling_ae: str) -> int:
    """Send one instance with pynetdicom as a PACS would; the C-STORE status."""
    import io

    import pydicom
    from pynetdicom import AE

    dataset = pydicom.dcmread(io.BytesIO(data))
    ae = AE(ae_title=calling_ae)
    ae.add_requested_context(dataset.SOPClassUID, dataset.file_meta.TransferSyntaxUID)
    assoc = ae.associate("127.0.0.1", port, ae_title="MEDSHARE")
    assert assoc.is_established
    try:
        status = assoc.send_c_store(dataset)
        return int(status.Status)
    finally:
        assoc.release()
