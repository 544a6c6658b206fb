"""Download links and thumbnails: shared zone only, signed, expiring, cached.

SeaweedFS checks S3 signatures and expiry like S3 does, so an expired or altered
link is refused by the object store itself.
"""

from __future__ import annotations

import asyncio
import hashlib
import io
import time
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import parse_qs, urlparse

import httpx
from PIL import Image

from medshare_catalog.store.thumbnails import thumbnail_key
from tests.integration.catalog.support import catalog_env, image_bytes, running_catalog


async def test_links_work_until_they_expire_and_cannot_be_altered(
    stack_env: dict[str, str], tmp_path: Path
) -> None:
    env = catalog_env(stack_env, tmp_path, MEDSHARE_CATALOG_DOWNLOAD_EXPIRY_S="3")
    async with running_catalog(env) as catalog:
        data, meta = image_bytes()
        record_id = await catalog.add_record(
            institution="north", kind="dicom", metadata=meta, data=data
        )
        issued = time.monotonic()
        answer = await catalog.http.get(
            f"/records/{record_id}/download", headers=catalog.auth("ada", "admin")
        )
        assert answer.status_code == 200, answer.text
        link = answer.json()
        assert link["expires_in_s"] == 3 and link["sha256"] == hashlib.sha256(data).hexdigest()
        url = urlparse(link["url"])
        assert url.path.startswith(f"/{catalog.bucket}/")
        assert parse_qs(url.query)["X-Amz-Expires"] == ["3"]

        async with httpx.AsyncClient(timeout=10) as s3:
            fetched = await s3.get(link["url"])
            assert time.monotonic() - issued < 3, "the machine was too slow to test expiry"
            assert fetched.status_code == 200 and fetched.content == data

            signature = parse_qs(url.query)["X-Amz-Signature"][0]
            flipped = ("0" if signature[0] != "0" else "1") + signature[1:]
            altered = await s3.get(link["url"].replace(signature, flipped))
            assert altered.status_code == 403

            other_key = link["url"].replace(url.path, url.path[:-5] + "x.dcm")
            assert (await s3.get(other_key)).status_code == 403  # the signature covers the key

            await asyncio.sleep(max(0.0, 4.5 - (time.monotonic() - issued)))
            expired = await s3.get(link["url"])
            assert expired.status_code == 403
            assert b"expired" in expired.content.lower() or b"AccessDenied" in expired.content


async def test_objects_outside_the_shared_zone_are_never_signed_or_read(
    stack_env: dict[str, str], tmp_path: Path
) -> None:
    env = catalog_env(stack_env, tmp_path)
    async with running_catalog(env) as catalog:
        from medshare_shared.events import DeidReport, RecordDeidentified

        raw_bucket = catalog.settings.raw_bucket
        await catalog.objects.ensure_bucket(raw_bucket)
        data, meta = image_bytes()
        stored = await catalog.objects.put(
            raw_bucket, "records/north/raw.dcm", data, "application/dicom"
        )
        pointing_at_raw = RecordDeidentified(
            record_id="r" * 64,
            institution="north",
            kind="dicom",
            patient_pseudonym="p",
            shared_bucket=raw_bucket,
            shared_key="records/north/raw.dcm",
            sha256=stored.sha256,
            size=stored.size,
            content_type="application/dicom",
            ingested_at=datetime.now(UTC),
            metadata=meta,
            report=DeidReport(profile="x"),
        )
        await catalog.records.fold_deidentified(pointing_at_raw, "e1", pointing_at_raw.ingested_at)
        admin = catalog.auth("ada", "admin")
        record = (await catalog.http.get(f"/records/{'r' * 64}", headers=admin)).json()
        assert record["release"] == {
            "state": "withheld",
            "reason": "object outside the shared zone",
        }
        assert "dicom" not in record  # its header was never read either
        for path in ("download", "thumbnail.png"):
            answer = await catalog.http.get(f"/records/{'r' * 64}/{path}", headers=admin)
            assert answer.status_code == 409
            assert answer.json()["detail"] == "the record's object is not in the shared zone"
            assert raw_bucket not in answer.text


async def test_thumbnails_are_rendered_once_and_cached_in_the_shared_zone(
    stack_env: dict[str, str], tmp_path: Path
) -> None:
    env = catalog_env(stack_env, tmp_path)
    async with running_catalog(env) as catalog:
        await catalog.directory.create_project("onco")
        await catalog.directory.add_member("onco", "alice")
        await catalog.directory.grant("north", "onco")
        data, meta = image_bytes("MR_small.dcm")
        record_id = await catalog.add_record(
            institution="north", kind="dicom", metadata=meta, data=data
        )
        alice = catalog.auth("alice", "researcher")
        first = await catalog.http.get(f"/records/{record_id}/thumbnail.png", headers=alice)
        assert first.status_code == 200 and first.headers["content-type"] == "image/png"
        image = Image.open(io.BytesIO(first.content))
        assert image.size == (meta["columns"], meta["rows"])  # 64 x 64: never enlarged
        assert len(image.getcolors(1 << 16) or []) > 10
        key = thumbnail_key(hashlib.sha256(data).hexdigest(), 256)
        assert await catalog.objects.get(catalog.bucket, key) == first.content
        # Served from the cache from now on: replace the cached PNG and see it come back.
        marker = io.BytesIO()
        Image.new("L", (8, 8), 99).save(marker, format="PNG")
        await catalog.objects.put(catalog.bucket, key, marker.getvalue(), "image/png")
        second = await catalog.http.get(f"/records/{record_id}/thumbnail.png", headers=alice)
        assert second.content == marker.getvalue()

        report_id = await catalog.add_record(
            institution="north", kind="case_report", metadata={"sex": "F"}, data=b'{"a": 1}'
        )
        none = await catalog.http.get(f"/records/{report_id}/thumbnail.png", headers=alice)
        assert none.status_code == 404 and none.json()["detail"] == "only images have thumbnails"
