"""What the output records about its de-identification, and its new file meta.

Inserted into every output: PatientIdentityRemoved = YES, DeidentificationMethod (the
method and the options), DeidentificationMethodCodeSequence (113100 plus one code per
option, PS3.16 CID 7050), LongitudinalTemporalInformationModified, and, when they
apply, BurnedInAnnotation = NO (pixels cleaned) and RecognizableVisualFeatures = NO.
"""

from __future__ import annotations

import struct

from medshare_anonymizer.dicom.options import BASIC_PROFILE_CODE, OPTIONS
from medshare_anonymizer.dicom.part10 import (
    EXPLICIT_LITTLE,
    ITEM,
    ITEM_END,
    SEQUENCE_END,
    UNDEFINED,
    Encoding,
)

METHOD_NAME = "medshare DICOM PS3.15 Annex E 2024"
# 2.25 form of uuid5(NAMESPACE_URL, "urn:medshare:anonymizer:dicom").
IMPLEMENTATION_CLASS_UID = "2.25.73692463232623973435950763059647000511"
IMPLEMENTATION_VERSION_NAME = "MEDSHARE_DEID"

PATIENT_IDENTITY_REMOVED = 0x00120062
DEIDENTIFICATION_METHOD = 0x00120063
DEIDENTIFICATION_METHOD_CODES = 0x00120064
BURNED_IN_ANNOTATION = 0x00280301
RECOGNIZABLE_VISUAL_FEATURES = 0x00280302
LONGITUDINAL_TEMPORAL_INFORMATION_MODIFIED = 0x00280303
CODE_VALUE, CODING_SCHEME_DESIGNATOR, CODE_MEANING = 0x00080100, 0x00080102, 0x00080104


def temporal_state(options: frozenset[str]) -> str:
    if "retain-long-modified-dates" in options:
        return "MODIFIED"
    if "retain-long-full-dates" in options:
        return "UNMODIFIED"
    return "REMOVED"


def method_codes(options: frozenset[str]) -> list[tuple[str, str]]:
    """(code value, meaning): 113100 first, then the options' codes in code order."""
    chosen = sorted((o for o in OPTIONS.values() if o.name in options), key=lambda o: o.code)
    return [BASIC_PROFILE_CODE, *((o.code, o.meaning) for o in chosen)]


def _code_sequence(enc: Encoding, codes: list[tuple[str, str]]) -> bytes:
    parts = [enc.header(DEIDENTIFICATION_METHOD_CODES, "SQ", UNDEFINED)]
    for value, meaning in codes:
        parts += [
            enc.marker(ITEM, UNDEFINED),
            enc.element(CODE_VALUE, "SH", value.encode()),
            enc.element(CODING_SCHEME_DESIGNATOR, "SH", b"DCM"),
            enc.element(CODE_MEANING, "LO", meaning.encode()),
            enc.marker(ITEM_END, 0),
        ]
    parts.append(enc.marker(SEQUENCE_END, 0))
    return b"".join(parts)


def method_elements(
    enc: Encoding, options: frozenset[str], pixels_cleaned: bool, has_pixels: bool
) -> list[tuple[int, bytes]]:
    """(tag, encoded element) to insert at the top level, in tag order."""
    method = "\\".join([METHOD_NAME, *sorted(options)]).encode()
    elements = [
        (PATIENT_IDENTITY_REMOVED, enc.element(PATIENT_IDENTITY_REMOVED, "CS", b"YES")),
        (DEIDENTIFICATION_METHOD, enc.element(DEIDENTIFICATION_METHOD, "LO", method)),
        (DEIDENTIFICATION_METHOD_CODES, _code_sequence(enc, method_codes(options))),
        (
            LONGITUDINAL_TEMPORAL_INFORMATION_MODIFIED,
            enc.element(
                LONGITUDINAL_TEMPORAL_INFORMATION_MODIFIED, "CS", temporal_state(options).encode()
            ),
        ),
    ]
    if pixels_cleaned:
        elements.append((BURNED_IN_ANNOTATION, enc.element(BURNED_IN_ANNOTATION, "CS", b"NO")))
    if has_pixels and "clean-recognizable-visual-features" in options:
        elements.append(
            (RECOGNIZABLE_VISUAL_FEATURES, enc.element(RECOGNIZABLE_VISUAL_FEATURES, "CS", b"NO"))
        )
    return sorted(elements)


def file_meta(sop_class_uid: str, sop_instance_uid: str, transfer_syntax: str) -> bytes:
    """A fresh file meta group: nothing of the source's (AE titles, private data) survives."""
    enc = EXPLICIT_LITTLE
    body = b"".join(
        (
            enc.element(0x00020001, "OB", b"\x00\x01"),
            enc.element(0x00020002, "UI", sop_class_uid.encode()),
            enc.element(0x00020003, "UI", sop_instance_uid.encode()),
            enc.element(0x00020010, "UI", transfer_syntax.encode()),
            enc.element(0x00020012, "UI", IMPLEMENTATION_CLASS_UID.encode()),
            enc.element(0x00020013, "SH", IMPLEMENTATION_VERSION_NAME.encode()),
        )
    )
    return enc.element(0x00020000, "UL", struct.pack("<I", len(body))) + body
