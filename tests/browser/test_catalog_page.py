"""The catalog's web page in a real browser: headless Chromium from Debian, driven by Selenium.

The catalog runs as a real process (`medshare catalog serve`) against the real
servers; the page signs in with tokens, searches with facets, shows thumbnails and
a record's lineage, builds and freezes datasets (showing k), and a steward works
the review queue. Screenshots of every step land in the test's tmp directory.
"""

from __future__ import annotations

import asyncio
import json
import shutil
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from selenium import webdriver
from selenium.common.exceptions import TimeoutException
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.support.select import Select
from selenium.webdriver.support.ui import WebDriverWait

from tests.integration.catalog.support import (
    Catalog,
    catalog_env,
    catalog_process,
    detector,
    image_bytes,
)

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--window-size=1400,1000",
)


def browser(downloads: Path | None = None) -> WebDriver:
    for tool in (CHROMIUM, CHROMEDRIVER):
        assert shutil.which(tool), (
            f"{tool} missing: `make install` installs chromium and chromium-driver"
        )
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in FLAGS:
        options.add_argument(flag)
    if downloads is not None:
        prefs = {
            "download.default_directory": str(downloads),
            "download.prompt_for_download": False,
        }
        options.add_experimental_option("prefs", prefs)
    return webdriver.Chrome(options=options, service=Service(executable_path=CHROMEDRIVER))


async def seed(catalog: Catalog) -> dict[str, str]:
    directory = catalog.directory
    await directory.create_project("onco")
    await directory.add_member("onco", "alice")
    await directory.grant("north", "onco")
    ids = {}
    data, meta = image_bytes("CT_small.dcm", description="CHEST CT", study_date="20210304")
    ids["ct"] = await catalog.add_record(
        institution="north", kind="dicom", metadata=meta, data=data, results=[detector(False)]
    )
    data, meta = image_bytes("MR_small.dcm", description="BRAIN MR", body_part="BRAIN")
    ids["mr"] = await catalog.add_record(
        institution="north", kind="dicom", metadata=meta, data=data
    )
    data, meta = image_bytes("CT_small.dcm", description="FLAGGED CT")
    ids["flagged"] = await catalog.add_record(
        institution="north", kind="dicom", metadata=meta, data=data, results=[detector(True)]
    )
    for index in range(6):
        report = json.dumps({"report": index, "nonce": uuid.uuid4().hex}).encode()
        metadata = {
            "sex": "F",
            "age_band": "60-69",
            "zip3": "627",
            "encounter_year": 2022,
            "diagnosis_codes": ["C50.9"],
            "description": "Case report 2022 | C50.9 breast",
        }
        ids[f"report{index}"] = await catalog.add_record(
            institution="north", kind="case_report", metadata=metadata, data=report
        )
    return ids


class Page:
    def __init__(self, driver: WebDriver, base: str, shots: Path):
        self.driver, self.base, self.shots, self.count = driver, base, shots, 0

    def wait(self, condition: Callable[[WebDriver], Any], what: str, timeout: float = 20) -> Any:
        try:
            return WebDriverWait(self.driver, timeout).until(condition)
        except TimeoutException:
            self.shot(f"timeout-{what}")
            raise AssertionError(f"page never showed: {what}") from None

    def shot(self, name: str) -> Path:
        self.count += 1
        path = self.shots / f"{self.count:02d}-{name}.png"
        self.driver.save_screenshot(str(path))
        return path

    def find(self, selector: str) -> Any:
        return self.driver.find_element(By.CSS_SELECTOR, selector)

    def all(self, selector: str) -> list[Any]:
        return self.driver.find_elements(By.CSS_SELECTOR, selector)

    def text(self, selector: str) -> str:
        return str(self.find(selector).text)

    def sign_in(self, token: str) -> None:
        self.driver.get(f"{self.base}/ui/")
        self.wait(lambda d: self.find("#token").is_displayed(), "sign-in form")
        self.find("#token").send_keys(token)
        self.find("#sign-in").click()

    def search(self, query: str = "") -> None:
        box = self.find("#q")
        box.clear()
        box.send_keys(query)
        self.find("#search-button").click()


def drive(base: str, tokens: dict[str, str], ids: dict[str, str], shots: Path) -> None:
    driver = browser()
    page = Page(driver, base, shots)
    try:
        page.sign_in("not-a-token")
        page.wait(lambda d: "Sign-in failed" in page.text("#sign-in-error"), "refused sign-in")
        page.shot("refused-token")

        page.sign_in(tokens["alice"])
        page.wait(lambda d: page.text("#who").startswith("alice (researcher"), "signed in as alice")
        page.wait(
            lambda d: page.text("#total") == "8", "8 visible records (flagged image withheld)"
        )
        page.wait(lambda d: len(page.all(".result")) == 8, "8 result cards")
        page.wait(lambda d: len(page.all("img.thumb[data-loaded='true']")) == 2, "two thumbnails")
        widths = [d.get_property("naturalWidth") for d in page.all("img.thumb[data-loaded='true']")]
        assert all(width > 0 for width in widths)
        assert ids["flagged"][:12] not in driver.page_source
        page.wait(lambda d: page.all(".facet-value[data-facet='modality']"), "modality facet")
        page.shot("search-with-thumbnails")

        next(f for f in page.all(".facet-value") if f.get_attribute("data-value") == "MR").click()
        page.wait(lambda d: page.text("#total") == "1", "MR facet applied")
        page.shot("facet-mr")
        page.find("#clear-filters").click()
        page.wait(lambda d: page.text("#total") == "8", "filters cleared")
        page.search("brain")
        page.wait(lambda d: page.text("#total") == "1", "free-text search")
        page.find(".result").click()
        page.wait(lambda d: page.all("#lineage li"), "record detail with lineage")
        steps = [li.text for li in page.all("#lineage li")]
        assert steps[0].startswith("ingested") and steps[1].startswith("de-identified")
        page.find("#download").click()
        page.wait(lambda d: "link expires" in page.text("#download-link"), "download link")
        page.shot("record-detail")

        page.find("#close-detail").click()
        page.search("")
        Select(page.find("#f-kind")).select_by_value("case_report")
        page.find("#search-button").click()
        page.wait(lambda d: page.text("#total") == "6", "case reports only")
        page.find("#dataset-name").send_keys("breast reports")
        page.find("#save-dataset").click()
        page.wait(lambda d: "Saved dataset breast reports" in page.text("#save-result"), "saved")
        Select(page.find("#f-kind")).select_by_value("")
        page.find("#search-button").click()
        page.wait(lambda d: page.text("#total") == "8", "everything again")
        page.find("#dataset-name").clear()
        page.find("#dataset-name").send_keys("everything")
        page.find("#save-dataset").click()
        page.wait(lambda d: "Saved dataset everything" in page.text("#save-result"), "saved 2")

        page.find("#tab-datasets").click()
        page.wait(lambda d: len(page.all(".dataset")) == 2, "two datasets")
        cards = {
            card.find_element(By.TAG_NAME, "strong").text: card for card in page.all(".dataset")
        }
        cards["breast reports"].find_element(By.CSS_SELECTOR, ".freeze").click()
        page.wait(lambda d: page.text("#risk-k") == "k = 6", "frozen with k = 6")
        page.wait(
            lambda d: any("frozen" in c.text and "k = 6" in c.text for c in page.all(".dataset")),
            "dataset card shows frozen and k",
        )
        page.shot("dataset-frozen")
        cards = {
            card.find_element(By.TAG_NAME, "strong").text: card for card in page.all(".dataset")
        }
        cards["everything"].find_element(By.CSS_SELECTOR, ".freeze").click()
        page.wait(lambda d: "Freeze refused" in page.text("#risk-report"), "refusal")
        report = page.text("#risk-report")
        assert "k = 1" in report and "below the required 5" in report
        assert "Groups smaller than 5" in report and "Generalise:" in report
        page.shot("dataset-refused")

        page.find("#sign-out").click()
        page.sign_in(tokens["sam"])
        page.wait(lambda d: page.find("#tab-review").is_displayed(), "review tab for a steward")
        page.find("#tab-review").click()
        page.wait(lambda d: page.all(".review-item"), "review queue")
        item = page.find(f".review-item[data-record='{ids['flagged']}']")
        assert "burned-in text flagged" in item.text
        page.shot("review-queue")
        item.find_element(By.CSS_SELECTOR, ".open-review").click()
        page.wait(lambda d: page.all("#review-preview img[data-loaded='true']"), "preview")
        page.find("#review-reason").send_keys("label only, checked by eye")
        page.find("#review-body .release").click()
        page.wait(
            lambda d: not page.all(f".review-item[data-record='{ids['flagged']}']"), "released"
        )
        page.shot("review-done")
    finally:
        driver.quit()


@pytest.mark.timeout(300)
async def test_catalog_page_in_headless_chromium(stack_env: dict[str, str], tmp_path: Path) -> None:
    env = catalog_env(stack_env, tmp_path)
    async with catalog_process(env, tmp_path / "logs") as catalog:
        ids = await seed(catalog)
        tokens = {
            "alice": catalog.token("alice", "researcher"),
            "sam": catalog.token("sam", "steward"),
        }
        shots = tmp_path / "screenshots"
        shots.mkdir()
        base = str(catalog.http.base_url).rstrip("/")
        await asyncio.to_thread(drive, base, tokens, ids, shots)

        assert len(list(shots.glob("*.png"))) >= 8
        record = (
            await catalog.http.get(
                f"/records/{ids['flagged']}", headers=catalog.auth("alice", "researcher")
            )
        ).json()
        assert record["release"]["state"] == "released"
        assert record["lineage"][-1]["reason"] == "label only, checked by eye"
        datasets = (
            await catalog.http.get("/datasets", headers=catalog.auth("alice", "researcher"))
        ).json()
        states = {d["name"]: (d["state"], d["risk"]["k"]) for d in datasets}
        assert states == {"breast reports": ("frozen", 6), "everything": ("draft", 1)}
