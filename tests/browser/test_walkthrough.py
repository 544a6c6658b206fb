"""The two paths a newcomer walks after `make demo`, in headless Chromium.

A researcher: search (the placeholder's own example), open a record, build a
dataset, freeze it, download its ZIP. A steward: open a quarantined image (its
held candidate shown with the flagged band outlined), release it; open a
quarantined record with nothing kept, reject it. The catalog is a real process on
the real servers. With MEDSHARE_SCREENSHOTS set to a folder, the README's
screenshots are written there (docs/img/).
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import time
import uuid
import zipfile
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from selenium.webdriver.support.select import Select

from medshare_shared.events import DeidReport, FlaggedRegion, RecordDeidentified, RecordQuarantined
from tests.browser.test_catalog_page import Page, browser
from tests.integration.catalog.support import Catalog, catalog_env, catalog_process, image_bytes

REPORTS = 6  # k = 6 when frozen: above the default k of 5


async def seed(catalog: Catalog) -> dict[str, str]:
    """What the demo leaves: a project, an agreement, reports, images, two quarantines."""
    await catalog.objects.ensure_bucket(catalog.settings.held_bucket)
    await catalog.directory.create_project("demo-research")
    await catalog.directory.add_member("demo-research", "demo-researcher")
    await catalog.directory.grant("demo-hospital", "demo-research")
    ids: dict[str, str] = {}
    data, meta = image_bytes("CT_small.dcm", description="CHEST CT")
    ids["ct"] = await catalog.add_record(
        institution="demo-hospital", kind="dicom", metadata=meta, data=data
    )
    for index in range(REPORTS):
        report = json.dumps({"report": index, "nonce": uuid.uuid4().hex}).encode()
        metadata = {
            "sex": "F",
            "age_band": "60-69",
            "zip3": "627",
            "encounter_year": 2024,
            "diagnosis_codes": ["C50.9"],
            "diagnosis_displays": ["Malignant neoplasm of breast, unspecified"],
            "description": "Case report 2024 | C50.9 Malignant neoplasm of breast | cytology",
        }
        ids[f"report{index}"] = await catalog.add_record(
            institution="demo-hospital", kind="case_report", metadata=metadata, data=report
        )
    ids["held"] = await quarantine(catalog, keep_candidate=True)
    ids["lost"] = await quarantine(catalog, keep_candidate=False)
    return ids


async def quarantine(catalog: Catalog, keep_candidate: bool) -> str:
    record_id = hashlib.sha256(uuid.uuid4().bytes).hexdigest()
    candidate = None
    if keep_candidate:
        data, meta = image_bytes("US1_UNCR.dcm", description="US ABDOMEN", body_part="ABDOMEN")
        key = f"demo-hospital/dicom/{record_id}.dcm"
        held = catalog.settings.held_bucket
        stored = await catalog.objects.put(held, key, data, "application/dicom")
        candidate = RecordDeidentified(
            record_id=record_id, institution="demo-hospital", kind="dicom",
            patient_pseudonym="p" * 32, shared_bucket=held, shared_key=key,
            sha256=stored.sha256, size=stored.size, content_type="application/dicom",
            ingested_at=datetime.now(UTC) - timedelta(minutes=5), metadata=meta,
            report=DeidReport(profile="test profile"),
        )  # fmt: skip
    reason = (
        "burned-in annotation suspected (Modality=US) and clean-pixel-data not enabled"
        if keep_candidate
        else "encapsulated document content cannot be verified"
    )
    regions = [FlaggedRegion(x0=0, y0=0, x1=1, y1=0.12, source="ultrasound top band")]
    await catalog.records.fold_quarantined(
        RecordQuarantined(
            record_id=record_id, institution="demo-hospital", kind="dicom", stage="anonymizer",
            reason=reason, candidate=candidate, regions=regions if keep_candidate else [],
        ),
        uuid.uuid4().hex,
        datetime.now(UTC) - timedelta(minutes=1),
    )  # fmt: skip
    return record_id


def wait_for_file(folder: Path, suffix: str, timeout: float = 30) -> Path:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        done = [p for p in folder.glob(f"*{suffix}") if not p.name.endswith(".crdownload")]
        if done:
            return done[0]
        time.sleep(0.2)
    raise AssertionError(f"no {suffix} downloaded into {folder}")


def researcher_path(page: Page, token: str, downloads: Path, readme_shots: Path | None) -> None:
    page.sign_in(token)
    page.wait(lambda d: page.text("#who").startswith("demo-researcher (researcher"), "signed in")
    page.wait(lambda d: page.text("#total") == str(REPORTS + 1), "visible records")
    placeholder = page.find("#q").get_attribute("placeholder")
    assert "malig*" in placeholder  # the example must find something in the demo data
    page.wait(
        lambda d: any("Malignant neoplasm" in f.text for f in page.all(".facet-value")),
        "diagnosis facet with its display name",
    )
    page.search("malig*")
    page.wait(lambda d: page.text("#total") == str(REPORTS), "the placeholder's example")
    page.find(".result").click()
    page.wait(lambda d: page.all("#lineage li"), "record detail")
    detail = page.find("#detail")
    assert detail.size["width"] <= 460 and "C50.9" in page.text("#facts")
    if readme_shots:
        page.driver.save_screenshot(str(readme_shots / "researcher-search.png"))
    page.shot("researcher-detail")
    page.find("#close-detail").click()

    page.search("no-such-word-anywhere")
    page.wait(lambda d: page.find("#no-results").is_displayed(), "an empty result says so")
    page.search("malig*")
    page.wait(lambda d: page.text("#total") == str(REPORTS), "searched again")
    Select(page.find("#dataset-project")).select_by_value("demo-research")
    page.find("#dataset-name").send_keys("breast reports")
    page.find("#save-dataset").click()
    page.wait(lambda d: "Saved dataset breast reports" in page.text("#save-result"), "saved")
    page.find("#tab-datasets").click()
    page.wait(lambda d: page.all(".dataset .freeze"), "draft dataset")
    page.find(".dataset .freeze").click()
    page.wait(lambda d: page.text("#risk-k") == f"k = {REPORTS}", "frozen")
    page.wait(lambda d: page.all(".dataset .export"), "export buttons")
    zip_button = next(b for b in page.all(".dataset .export") if b.text == "ZIP archive")
    zip_button.click()
    archive = wait_for_file(downloads, ".zip")
    with zipfile.ZipFile(archive) as opened:
        assert len([n for n in opened.namelist() if n.endswith(".json")]) >= REPORTS
    if readme_shots:
        page.driver.save_screenshot(str(readme_shots / "researcher-dataset.png"))
    page.shot("researcher-frozen")
    page.find("#sign-out").click()


def steward_path(page: Page, token: str, ids: dict[str, str], readme_shots: Path | None) -> None:
    page.sign_in(token)
    page.wait(lambda d: page.find("#tab-review").is_displayed(), "review tab")
    page.find("#tab-review").click()
    held = f".review-item[data-record='{ids['held']}']"
    page.wait(lambda d: page.all(held), "held item in the queue")
    page.find(f"{held} .open-review").click()
    page.wait(lambda d: page.all("#review-preview img[data-loaded='true']"), "candidate preview")
    assert "burned-in annotation suspected" in page.text("#review-reason-shown")
    [region] = page.all("#review-preview .region")
    image = page.find("#review-preview img")
    assert region.size["width"] == pytest.approx(image.size["width"], abs=3)
    assert 0 < region.size["height"] < image.size["height"] / 4
    if readme_shots:
        page.driver.save_screenshot(str(readme_shots / "steward-review.png"))
    page.shot("steward-open")
    page.find("#review-reason").send_keys("band checked: no text")
    page.find("#review-body .release").click()
    page.wait(lambda d: "Released" in page.text("#review-result"), "released")
    page.wait(lambda d: not page.all(held), "left the queue")

    lost = f".review-item[data-record='{ids['lost']}']"
    page.find(f"{lost} .open-review").click()
    page.wait(lambda d: page.all("#no-candidate"), "nothing to release")
    assert not page.all("#review-body .release")
    page.find("#review-reason").send_keys("cannot be verified")
    page.find("#review-body .reject").click()
    page.wait(lambda d: "Rejected" in page.text("#review-result"), "rejected")
    page.wait(lambda d: not page.all(lost), "rejected item left the queue")
    page.shot("steward-done")


def drive(base: str, tokens: dict[str, str], ids: dict[str, str], tmp: Path) -> None:
    downloads, shots = tmp / "downloads", tmp / "screenshots"
    downloads.mkdir()
    shots.mkdir()
    wanted = os.environ.get("MEDSHARE_SCREENSHOTS")
    readme_shots = Path(wanted) if wanted else None
    driver = browser(downloads)
    page = Page(driver, base, shots)
    try:
        researcher_path(page, tokens["researcher"], downloads, readme_shots)
        steward_path(page, tokens["steward"], ids, readme_shots)
        driver.get(f"{base}/docs")
        page.wait(lambda d: page.all(".swagger-ui .opblock"), "Swagger UI from local assets")
        driver.get(f"{base}/favicon.ico")
    finally:
        driver.quit()


@pytest.mark.timeout(300)
async def test_researcher_and_steward_walk_through(
    stack_env: dict[str, str], tmp_path: Path
) -> None:
    run = uuid.uuid4().hex[:10]
    env = catalog_env(stack_env, tmp_path, MEDSHARE_HELD_BUCKET=f"held-{run}")
    async with catalog_process(env, tmp_path / "logs") as catalog:
        ids = await seed(catalog)
        tokens = {
            "researcher": catalog.token("demo-researcher", "researcher"),
            "steward": catalog.token("demo-steward", "steward"),
        }
        base = str(catalog.http.base_url).rstrip("/")
        await asyncio.to_thread(drive, base, tokens, ids, tmp_path)

        steward = catalog.auth("demo-steward", "steward")
        released = (await catalog.http.get(f"/review/{ids['held']}", headers=steward)).json()
        assert released["release"]["state"] == "released"
        assert released["lineage"][-1]["reason"] == "band checked: no text"
        rejected = (await catalog.http.get(f"/review/{ids['lost']}", headers=steward)).json()
        assert rejected["release"]["state"] == "rejected"
        favicon = await catalog.http.get("/favicon.ico")
        assert favicon.status_code == 200
        docs = await catalog.http.get("/docs")
        assert "cdn" not in docs.text.lower() and "/docs-assets/swagger-ui-bundle.js" in docs.text
