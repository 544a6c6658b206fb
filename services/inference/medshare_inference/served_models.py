"""The models this replica serves: the production version of each registered model.

`refresh()` re-reads the production aliases and swaps in a newly promoted version
without a restart. It runs at start, on every `models.changed` event (a promotion,
within about a second) and on a slow poll as a safety net. A swap replaces one entry of
`loaded` at once, so a batch sees either the old version or the new one, never a mix.
"""

from __future__ import annotations

import asyncio
import logging

from medshare_inference.promotions import ModelChangedEvent
from medshare_inference.registry import ModelRegistry, RegistryError, select_models
from medshare_inference.serving import LoadedModel
from medshare_shared.events import RecordDeidentified

log = logging.getLogger(__name__)


class ModelHost:
    def __init__(self, registry: ModelRegistry):
        self.registry = registry
        self.loaded: dict[str, LoadedModel] = {}
        self._refreshing = asyncio.Lock()

    async def refresh(self) -> list[str]:
        """Load every production version not loaded yet; returns what changed ("name@version")."""
        async with self._refreshing:  # the poll and a change event must not load twice
            changed = []
            for name in await self.registry.production_names():
                version = await self.registry.production_version(name)
                current = self.loaded.get(name)
                if version is None or (current and current.manifest.version == version):
                    continue
                try:
                    self.loaded[name] = await self.registry.load(name, version)
                except RegistryError as error:  # e.g. tampered weights: keep serving the old one
                    log.error("model not loaded", extra={"model": name, "error": str(error)})
                    continue
                changed.append(f"{name}@{version}")
                log.info("model loaded", extra={"model": name, "version": version})
            return changed

    async def on_model_changed(self, event: ModelChangedEvent) -> None:
        """A promotion was announced: reload now (the alias, not the event, says what to serve)."""
        change = event.payload
        log.info("model change announced", extra={"model": change.name, "version": change.version})
        try:
            await self.refresh()
        except Exception as error:  # the registry is briefly unreachable: the poll retries
            log.warning("model refresh failed", extra={"error": type(error).__name__})

    async def keep_fresh(self, interval_s: float) -> None:
        while True:
            await asyncio.sleep(interval_s)
            try:
                await self.refresh()
            except Exception as error:  # the registry is briefly unreachable: try again later
                log.warning("model refresh failed", extra={"error": type(error).__name__})

    def models_for(self, record: RecordDeidentified) -> list[str]:
        manifests = [model.manifest for model in self.loaded.values()]
        return select_models(manifests, record.kind, record.metadata, record.features)

    def model(self, name: str) -> LoadedModel | None:
        return self.loaded.get(name)
