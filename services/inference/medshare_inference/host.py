"""The models this replica serves: the production version of each registered model.

`refresh()` re-reads the production aliases and swaps in a newly promoted version
without a restart; the service calls it at start and then periodically.
"""

from __future__ import annotations

import asyncio
import logging

from medshare_inference.registry import LoadedModel, ModelRegistry, RegistryError, select_models
from medshare_shared.events import RecordDeidentified

log = logging.getLogger(__name__)


class ModelHost:
    def __init__(self, registry: ModelRegistry):
        self.registry = registry
        self.loaded: dict[str, LoadedModel] = {}

    async def refresh(self) -> list[str]:
        """Load every production version not loaded yet; returns what changed."""
        changed = []
        names = {manifest.name for manifest in await self.registry.list_models()}
        for name in sorted(names):
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
