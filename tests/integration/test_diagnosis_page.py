"""The doctor's page end to end in headless Chromium: findings → suggestion, evidence, accept."""

from __future__ import annotations

import io
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from PIL import Image, ImageStat
from playwright.sync_api import Page, expect, sync_playwright

from tests.integration.services import Service, diagnosis_server

TOKEN = "page-test-token-0123456789abcdef"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
SCREENSHOT_DIR = Path(__file__).resolve().parents[2] / ".fedchain-cache" / "screenshots"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Service]:
    log = tmp_path_factory.mktemp("diagnosis") / "serve.log"
    with diagnosis_server(log, tokens=[TOKEN], cases=300) as s:
        yield s


@pytest.fixture(scope="module")
def page(server: Service) -> Iterator[Page]:
    assert shutil.which("chromium") == CHROMIUM, "install Debian's chromium: make system-deps"
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        try:
            pg = browser.new_page(viewport={"width": 1280, "height": 1000})
            pg.set_default_timeout(15_000)
            yield pg
        finally:
            browser.close()


def enter_findings(page: Page, url: str) -> None:
    page.goto(f"{url}/doctor")
    page.fill("#token", TOKEN)
    page.dispatch_event("#token", "change")
    first = page.locator("#symptoms tr").nth(0)
    first.locator(".s-name").fill("chest pain")
    first.locator(".s-days").fill("0.1")
    first.locator(".s-onset").select_option("sudden")
    first.locator(".s-sev").fill("9")
    page.click("#add-symptom")
    page.locator("#symptoms tr").nth(1).locator(".s-name").fill("sweating")
    lab = page.locator("#labs tr").nth(0)
    lab.locator(".l-name").fill("troponin_i")
    lab.locator(".l-value").fill("2.1")
    lab.locator(".l-low").fill("0")
    lab.locator(".l-high").fill("0.04")
    page.click("#suggest")


def test_doctor_sees_suggestion_with_evidence_and_accepts_it(page: Page, server: Service) -> None:
    enter_findings(page, server.url)
    expect(page.locator("#diagnoses li.dx").first).to_contain_text(
        "Acute myocardial infarction (I21.9)"
    )
    expect(page.locator("#plan")).to_contain_text("clopidogrel")
    expect(page.locator("#evidence .case")).to_have_count(10)
    page.locator("#evidence .case details").first.click()
    expect(
        page.locator("#evidence .case").first.locator("table.contrib tbody tr").first
    ).to_contain_text("symptom:chest_pain")
    SCREENSHOT_DIR.mkdir(parents=True, exist_ok=True)
    shot = page.screenshot(full_page=True, path=str(SCREENSHOT_DIR / "doctor-page.png"))
    image = Image.open(io.BytesIO(shot)).convert("RGB")
    assert image.width == 1280 and image.height >= 1000
    header = image.crop((0, 0, image.width, 40))  # the teal header bar is drawn
    r, g, b = ImageStat.Stat(header).median
    assert (r, g, b) == pytest.approx((11, 110, 138), abs=8)
    assert (
        len(image.getcolors(maxcolors=1 << 16) or range(1 << 16)) > 50
    )  # text and bars, not blank

    page.click("#accept")
    expect(page.locator("#receipt")).to_contain_text("Saved as doctor-validated case case-")
    expect(page.locator("#error")).to_be_hidden()


def test_page_shows_the_field_and_fix_of_a_refused_request(page: Page, server: Service) -> None:
    page.goto(f"{server.url}/doctor")
    page.fill("#token", TOKEN)
    row = page.locator("#symptoms tr").nth(0)
    row.locator(".s-name").fill("cough")
    row.locator(".s-sev").fill("14")
    page.click("#suggest")
    expect(page.locator("#error")).to_contain_text("symptoms[0].severity")
    expect(page.locator("#error")).to_contain_text("use a value ≤ 10")


def test_page_without_token_says_how_to_authenticate(page: Page, server: Service) -> None:
    page.goto(f"{server.url}/doctor")
    page.evaluate("sessionStorage.clear()")
    page.fill("#token", "")
    page.locator("#symptoms tr").nth(0).locator(".s-name").fill("cough")
    page.click("#suggest")
    expect(page.locator("#error")).to_contain_text("a doctor token is required")


def test_page_warns_about_a_finding_outside_the_vocabulary(page: Page, server: Service) -> None:
    page.goto(f"{server.url}/doctor")
    page.fill("#token", TOKEN)
    page.dispatch_event("#token", "change")
    row = page.locator("#symptoms tr").nth(0)
    row.locator(".s-name").fill("chest pian")  # misspelt: matches no library case
    row.locator(".s-sev").fill("")
    page.click("#suggest")
    expect(page.locator("#unknown-terms")).to_be_visible()
    expect(page.locator("#unknown-terms")).to_contain_text('"chest pian" is not a consortium term')
    expect(page.locator("#unknown-terms")).to_contain_text("chest_pain")
