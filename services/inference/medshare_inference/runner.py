"""One micro-batch of de-identified records through the models that apply to each.

Shared by the service's consumer and by `medshare models backfill`. Records are grouped
per model and each group makes ONE forward pass (in a worker thread, so the event loop
keeps fetching and publishing). Image models read the de-identified object from the
shared zone; a missing or undecodable object is that record's error, while an
unreachable store raises, so the batch is retried rather than answered with errors.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from minio.error import S3Error

from medshare_inference.metrics import stage
from medshare_inference.models.images import ImageDecodeError, prepare_dicom
from medshare_inference.serving import ImageRecord, LoadedModel, ModelResultDict
from medshare_shared.events import DeidentifiedEvent, RecordDeidentified
from medshare_shared.object_store import ObjectStore

_MISSING = {"NoSuchKey", "NoSuchObject", "ResourceNotFound", "NoSuchBucket"}

# Which model names apply to a record (ModelHost.models_for, or one model for backfill).
Selector = Callable[[RecordDeidentified], list[str]]


@dataclass(frozen=True)
class Outcome:
    event: DeidentifiedEvent
    model_name: str
    model_version: str
    result: ModelResultDict


class BatchRunner:
    def __init__(self, store: ObjectStore | None, fetch_concurrency: int = 8):
        self.store = store
        self.fetch_slots = asyncio.Semaphore(fetch_concurrency)

    async def run(
        self,
        events: Sequence[DeidentifiedEvent],
        models: Mapping[str, LoadedModel],
        select: Selector,
    ) -> list[Outcome]:
        groups: dict[str, list[DeidentifiedEvent]] = {}
        for event in events:
            for name in select(event.payload):
                if name in models:  # a model unloaded since selection is skipped
                    groups.setdefault(name, []).append(event)
        outcomes: list[Outcome] = []
        for name, group in groups.items():
            model = models[name]
            if model.takes_images:
                with stage("fetch"):
                    inputs = await self.images(group, model)
                with stage("forward"):
                    results = await asyncio.to_thread(model.predict_images, inputs)
            else:
                features = [event.payload.features for event in group]
                with stage("forward"):
                    results = await asyncio.to_thread(model.predict, features)
            manifest = model.manifest
            outcomes += [
                Outcome(event, manifest.name, manifest.version, result)
                for event, result in zip(group, results, strict=True)
            ]
        return outcomes

    async def images(
        self, group: Sequence[DeidentifiedEvent], model: LoadedModel
    ) -> list[ImageRecord]:
        spec = model.manifest.image_input
        assert spec is not None
        blobs = await asyncio.gather(*(self.fetch(event.payload) for event in group))

        def prepare_all() -> list[ImageRecord]:
            prepared: list[ImageRecord] = []
            for blob in blobs:
                if isinstance(blob, str):
                    prepared.append(blob)
                    continue
                try:
                    prepared.append(prepare_dicom(blob, spec.size, spec.frames))
                except ImageDecodeError as error:
                    prepared.append(str(error))
            return prepared

        return await asyncio.to_thread(prepare_all)

    async def fetch(self, record: RecordDeidentified) -> bytes | str:
        """The de-identified object, or the per-record error saying why there is none."""
        if self.store is None:
            return "no object store configured"
        async with self.fetch_slots:
            try:
                return await self.store.get(record.shared_bucket, record.shared_key)
            except S3Error as error:
                if error.code in _MISSING:
                    return "de-identified object not found in the shared zone"
                raise
