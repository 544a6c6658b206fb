"""The catalog in-process against the real servers, plus the pieces tests seed it with.

`running_catalog` starts the real app (its lifespan starts the Kafka consumers,
creates indexes and the shared bucket) behind an httpx ASGI transport; tests talk
HTTP to it and seed MongoDB and the shared zone through the catalog's own classes.
"""

from __future__ import annotations

import asyncio
import hashlib
import io
import secrets
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pydicom
from asgi_lifespan import LifespanManager
from pydicom.data import get_testdata_file
from pymongo import AsyncMongoClient, MongoClient

from medshare_catalog.app import create_app
from medshare_catalog.settings import CatalogSettings
from medshare_catalog.store.agreements import Directory
from medshare_catalog.store.records import RecordStore
from medshare_catalog.tokens import Role, TokenIssuer
from medshare_shared.events import DeidReport, ModelResult, RecordDeidentified, RecordInferred
from medshare_shared.object_store import ObjectStore

Document = dict[str, Any]


def catalog_env(stack_env: dict[str, str], key_dir: Path, **overrides: str) -> dict[str, str]:
    """A fresh deployment: its own topics, shared bucket, database and signing key."""
    run = uuid.uuid4().hex[:10]
    key_file = key_dir / f"catalog-{run}.key"
    key_file.write_text(secrets.token_hex(32))
    return {
        **stack_env,
        "MEDSHARE_TOPIC_PREFIX": f"t{run}.",
        "MEDSHARE_SHARED_BUCKET": f"shared-{run}",
        "MEDSHARE_RAW_BUCKET": f"raw-{run}",
        "MEDSHARE_MONGO_DB": f"catalog_{run}",
        "MEDSHARE_CATALOG_JWT_SECRET_FILE": str(key_file),
        "MEDSHARE_CONSUMER_SESSION_TIMEOUT_MS": "6000",
        # Its own group: tests running side by side must not rebalance each other.
        "MEDSHARE_CONSUMER_GROUP": f"catalog-{run}",
        **overrides,
    }


def settings_from(env: dict[str, str]) -> CatalogSettings:
    values = {k.removeprefix("MEDSHARE_").lower(): v for k, v in env.items()}
    fields = CatalogSettings.model_fields
    return CatalogSettings(**{k: v for k, v in values.items() if k in fields})


@dataclass
class Catalog:
    settings: CatalogSettings
    http: httpx.AsyncClient
    records: RecordStore
    directory: Directory
    objects: ObjectStore
    issuer: TokenIssuer
    mongo: AsyncMongoClient[Document]

    @property
    def db(self) -> Any:
        return self.mongo[self.settings.mongo_db]

    @property
    def bucket(self) -> str:
        return self.settings.shared_bucket

    def token(self, user: str, role: Role, projects: tuple[str, ...] = (), **kw: Any) -> str:
        """A token for `user` acting as `role`, granting the role in the directory first."""
        grant_role(self.settings, user, role)
        return self.issuer.issue(user, role, projects, **kw)

    def auth(self, user: str, role: Role, projects: tuple[str, ...] = ()) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token(user, role, projects)}"}

    async def put_object(self, data: bytes, key: str, content_type: str) -> str:
        stored = await self.objects.put(self.bucket, key, data, content_type)
        return stored.sha256

    async def add_record(
        self,
        *,
        institution: str,
        kind: str,
        metadata: Document,
        data: bytes,
        results: list[ModelResult] = (),  # type: ignore[assignment]
        ingested_at: datetime | None = None,
    ) -> str:
        """Store an object in the shared zone and fold its events as the topics would."""
        record_id = hashlib.sha256(data + institution.encode()).hexdigest()
        content_type = "application/dicom" if kind == "dicom" else "application/json"
        key = f"{institution}/{kind}/{record_id}.{'dcm' if kind == 'dicom' else 'json'}"
        sha = await self.put_object(data, key, content_type)
        moment = ingested_at or datetime.now(UTC)
        record = RecordDeidentified(
            record_id=record_id,
            institution=institution,
            kind=kind,  # type: ignore[arg-type]
            patient_pseudonym=hashlib.sha256(record_id.encode()).hexdigest()[:32],
            shared_bucket=self.bucket,
            shared_key=key,
            sha256=sha,
            size=len(data),
            content_type=content_type,
            ingested_at=moment,
            metadata=metadata,
            report=DeidReport(profile="test profile", options=["retain-patient-characteristics"]),
        )
        await self.records.fold_deidentified(record, uuid.uuid4().hex, moment)
        for offset, result in enumerate(results, start=1):
            inferred = RecordInferred(
                record_id=record_id, patient_pseudonym=record.patient_pseudonym, result=result
            )
            at = moment + timedelta(seconds=offset)
            await self.records.fold_inferred(inferred, uuid.uuid4().hex, at)
        return record_id


def grant_role(settings: CatalogSettings, user: str, role: Role) -> None:
    """The directory's record that `user` holds `role` (roles are looked up per request)."""
    with MongoClient(settings.mongo_url) as client:
        client[settings.mongo_db]["principals"].update_one(
            {"_id": user}, {"$addToSet": {"roles": role}}, upsert=True
        )


def _seeded(settings: CatalogSettings, http: httpx.AsyncClient) -> Catalog:
    objects = ObjectStore.from_settings(settings)
    mongo: AsyncMongoClient[Document] = AsyncMongoClient(settings.mongo_url, tz_aware=True)
    database = mongo[settings.mongo_db]
    records = RecordStore(
        database[settings.records_collection],
        gates=settings.release_gates,
        require_gate_verdict=settings.catalog_require_gate_verdict,
        objects=objects,
        shared_bucket=settings.shared_bucket,
    )
    issuer = TokenIssuer(settings.jwt_key())
    return Catalog(settings, http, records, Directory(database), objects, issuer, mongo)


@asynccontextmanager
async def running_catalog(env: dict[str, str], drop: bool = True) -> AsyncIterator[Catalog]:
    """The app in this process (lifespan included) behind an ASGI transport."""
    settings = settings_from(env)
    app = create_app(settings)
    async with LifespanManager(app, startup_timeout=60, shutdown_timeout=30) as manager:
        transport = httpx.ASGITransport(app=manager.app)
        async with httpx.AsyncClient(
            transport=transport, base_url="http://catalog.test", timeout=60
        ) as http:
            catalog = _seeded(settings, http)
            try:
                yield catalog
            finally:
                if drop:
                    await catalog.mongo.drop_database(settings.mongo_db)
                await catalog.mongo.close()


@asynccontextmanager
async def catalog_process(env: dict[str, str], log_dir: Path) -> AsyncIterator[Catalog]:
    """`medshare catalog serve` as a real process on a free port (for the browser)."""
    from medshare_infra.processes import free_port
    from medshare_infra.services import ServiceProcess

    settings = settings_from(env)
    service = ServiceProcess("catalog", free_port(), env, log_dir / "catalog.log")
    service.start()
    try:
        await asyncio.to_thread(service.wait_ready, 90)
        async with httpx.AsyncClient(base_url=service.url, timeout=60) as http:
            catalog = _seeded(settings, http)
            try:
                yield catalog
            finally:
                await catalog.mongo.drop_database(settings.mongo_db)
                await catalog.mongo.close()
    finally:
        await asyncio.to_thread(service.stop)


def image_bytes(
    source: str = "CT_small.dcm",
    *,
    study_uid: str | None = None,
    series_uid: str | None = None,
    modality: str | None = None,
    study_date: str = "20210304",
    description: str = "CHEST CT",
    series_number: int = 1,
    instance_number: int = 1,
    body_part: str = "CHEST",
) -> tuple[bytes, Document]:
    """A de-identified-looking image from pydicom's test files, with its catalog metadata."""
    path = get_testdata_file(source)
    assert path is not None, source
    dataset = pydicom.dcmread(path)
    study = study_uid or pydicom.uid.generate_uid()
    series = series_uid or pydicom.uid.generate_uid()
    sop = pydicom.uid.generate_uid()
    dataset.StudyInstanceUID, dataset.SeriesInstanceUID, dataset.SOPInstanceUID = study, series, sop
    dataset.file_meta.MediaStorageSOPInstanceUID = sop
    dataset.PatientName = "ANON^" + uuid.uuid4().hex[:8].upper()
    dataset.PatientID = uuid.uuid4().hex[:16]
    dataset.StudyDate = study_date
    dataset.StudyDescription = description
    dataset.SeriesNumber = series_number
    dataset.InstanceNumber = instance_number
    dataset.BodyPartExamined = body_part
    dataset.AccessionNumber = uuid.uuid4().hex[:10]
    dataset.PatientIdentityRemoved = "YES"
    if modality:
        dataset.Modality = modality
    out = io.BytesIO()
    dataset.save_as(out, enforce_file_format=True)
    metadata = {
        "modality": str(dataset.Modality),
        "body_part": body_part,
        "study_year": int(study_date[:4]),
        "sex": str(dataset.get("PatientSex", "")) or None,
        "age_band": "50-59",
        "manufacturer": str(dataset.get("Manufacturer", "")) or None,
        "study_instance_uid": study,
        "series_instance_uid": series,
        "sop_instance_uid": sop,
        "rows": int(dataset.Rows),
        "columns": int(dataset.Columns),
        "study_description": description,
    }
    return out.getvalue(), metadata


def detector(has_text: bool, version: str = "1.0.0") -> ModelResult:
    probability = 0.93 if has_text else 0.04
    return ModelResult(
        model_name="burned-in-text",
        model_version=version,
        outputs={"has_text": has_text, "probability": probability, "grid": [[probability] * 4] * 4},
        confidence=max(probability, 1 - probability),
    )
