"""The Kafka topics medshare uses, in one registry.

Topic names can carry a prefix (MEDSHARE_TOPIC_PREFIX) so tests and parallel
deployments get fresh topics without touching each other.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class TopicSpec:
    name: str
    description: str
    carries_phi: bool = False


SUBMITTED = TopicSpec(
    "records.submitted",
    "Raw records published by institutions (DICOM bytes or case reports). Holds PHI: "
    "only ingest reads it.",
    carries_phi=True,
)
INGESTED = TopicSpec(
    "records.ingested", "References to originals stored in the raw zone (no patient data)."
)
DEIDENTIFIED = TopicSpec(
    "records.deidentified", "De-identified metadata and the de-identification report."
)
INFERRED = TopicSpec("records.inferred", "Model predictions with model name and version.")
QUARANTINED = TopicSpec(
    "records.quarantined", "Records the anonymizer could not make safe, with the reason."
)
REJECTED = TopicSpec("records.rejected", "Inputs refused or dead-lettered, with the reason.")

ALL_TOPICS: tuple[TopicSpec, ...] = (
    SUBMITTED,
    INGESTED,
    DEIDENTIFIED,
    INFERRED,
    QUARANTINED,
    REJECTED,
)


@dataclass(frozen=True)
class Topics:
    """Resolved topic names for one deployment (prefix applied)."""

    prefix: str = ""

    def name(self, spec: TopicSpec) -> str:
        return f"{self.prefix}{spec.name}"

    @property
    def submitted(self) -> str:
        return self.name(SUBMITTED)

    @property
    def ingested(self) -> str:
        return self.name(INGESTED)

    @property
    def deidentified(self) -> str:
        return self.name(DEIDENTIFIED)

    @property
    def inferred(self) -> str:
        return self.name(INFERRED)

    @property
    def quarantined(self) -> str:
        return self.name(QUARANTINED)

    @property
    def rejected(self) -> str:
        return self.name(REJECTED)

    def all(self) -> list[str]:
        return [self.name(spec) for spec in ALL_TOPICS]
