"""The auditor service over a real three-round history: token, routes, exports, page."""

from __future__ import annotations

import io
import shutil
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from eth_account import Account
from PIL import Image
from playwright.sync_api import expect, sync_playwright
from web3 import Web3

from node.audit.auditor import Auditor
from node.audit.blobsource import BlobReader, DirectorySource
from node.audit.export import read_csv
from node.audit.models import AuditReport
from node.audit.service import create_app
from node.chain.client import LedgerClient
from node.chain.devnet import free_port
from node.errors import ConfigError
from tests.integration.audit_world import (  # type: ignore[import-not-found]
    AuditWorld,
    build_audit_world,
    serve_app,
)

TOKEN = "auditor-test-token-0123456789abcdef"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
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
API_ROUTES = [
    "/api/report",
    "/api/rounds",
    "/api/rounds/1",
    "/api/contributions",
    "/api/miners",
    "/api/rewards",
    "/api/verification",
    "/api/export.csv",
    "/api/export.json",
]


@pytest.fixture(scope="module")
def world(
    tmp_path_factory: pytest.TempPathFactory, consortium_key: tuple[bytes, list[bytes]]
) -> Iterator[AuditWorld]:
    w = build_audit_world(tmp_path_factory.mktemp("audit-service"), consortium_key)
    try:
        yield w
    finally:
        w.devnet.stop()


@pytest.fixture(scope="module")
def url(world: AuditWorld) -> Iterator[str]:
    reader = BlobReader([DirectorySource(d) for d in world.blob_dirs])
    auditor = Auditor(world.ledger, reader, world.public_key_file)
    with serve_app(create_app(auditor, tokens=[TOKEN], cache_seconds=60)) as base:
        yield base


def test_every_api_route_refuses_a_missing_or_wrong_token(url):
    for route in API_ROUTES:
        assert httpx.get(url + route).status_code == 401
        wrong = httpx.get(url + route, headers={"Authorization": "Bearer not-the-token-at-all"})
        assert wrong.status_code == 401
        assert wrong.json()["detail"]["fix"].startswith("send 'Authorization: Bearer")


def test_the_service_refuses_to_start_without_a_token(world):
    auditor = Auditor(world.ledger, BlobReader([]), world.public_key_file)
    with pytest.raises(ConfigError, match="no auditor token"):
        create_app(auditor, tokens=[])


def test_api_serves_rounds_contributions_rewards_and_verification(url, world):
    rounds = httpx.get(f"{url}/api/rounds", headers=AUTH).json()
    assert [r["outcome"] for r in rounds] == ["sealed", "sealed", "rejected"]
    assert (
        httpx.get(f"{url}/api/rounds/3", headers=AUTH)
        .json()["rejection_reason"]
        .startswith("HOLDOUT_WORSE")
    )
    assert httpx.get(f"{url}/api/rounds/9", headers=AUTH).status_code == 404
    contributions = httpx.get(f"{url}/api/contributions", headers=AUTH).json()
    assert len(contributions) == 9 and sum(c["accepted_samples"] for c in contributions) > 0
    rewards = httpx.get(f"{url}/api/rewards", headers=AUTH).json()
    assert sum(r["credits"] for r in rewards) == world.ledger.total_supply()
    miners = httpx.get(f"{url}/api/miners", headers=AUTH).json()
    assert sum(m["packed"] for m in miners) == 3
    verification = httpx.get(f"{url}/api/verification", headers=AUTH).json()
    assert verification["verified"] is True and verification["failed"] == 0


def test_exports_parse_back(url):
    report = AuditReport.model_validate_json(
        httpx.get(f"{url}/api/export.json", headers=AUTH).content
    )
    assert report.verified and len(report.rounds) == 3
    csv = httpx.get(f"{url}/api/export.csv", headers=AUTH)
    assert csv.headers["content-type"].startswith("text/csv")
    rows = read_csv(csv.text)
    assert sum(int(r["credits"]) for r in rows if r["table"] == "reward") == report.total_supply


def test_openapi_documents_only_read_only_routes(url):
    spec = httpx.get(f"{url}/openapi.json").json()
    assert set(API_ROUTES) - {"/api/rounds/1"} <= set(spec["paths"])
    assert {m for ops in spec["paths"].values() for m in ops} == {"get"}


def test_auditor_page_draws_charts_and_tables_in_chromium(url):
    assert shutil.which("chromium") == CHROMIUM, "install Debian's chromium: make system-deps"
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 1100}, accept_downloads=True)
            page.set_default_timeout(15_000)
            page.goto(f"{url}/audit")
            page.fill("#token", "wrong-token-0123456789")
            page.click("#load")
            expect(page.locator("#message")).to_contain_text("auditor token is required")
            page.fill("#token", TOKEN)
            page.click("#load")
            expect(page.locator("#verdict")).to_have_text("VERIFIED")
            assert page.locator("#chart-contrib rect.bar").count() == 9
            assert page.locator("#chart-rewards rect.bar").count() == 9
            assert page.locator("#chart-accuracy circle.point").count() == 6
            expect(page.locator("#rounds tbody tr")).to_have_count(3)
            expect(page.locator("#rejections")).to_contain_text("CIPHERTEXT_RANGE")
            expect(page.locator("#rejections")).to_contain_text("DUPLICATE")
            expect(page.locator("#rejections")).to_contain_text("HOLDOUT_WORSE")
            assert page.locator("#checks td.status-failed").count() == 0
            SCREENSHOT_DIR.mkdir(parents=True, exist_ok=True)
            png = page.screenshot(path=str(SCREENSHOT_DIR / "auditor.png"), full_page=False)
            with page.expect_download() as download:
                page.click("#csv")
            rows = read_csv(Path(download.value.path()).read_text())
            assert {r["table"] for r in rows} >= {"round", "contribution", "reward", "check"}
        finally:
            browser.close()
    image = Image.open(io.BytesIO(png)).convert("RGB")
    colours = image.getcolors(maxcolors=1 << 20) or []
    counts = {rgb: n for n, rgb in colours}
    assert counts.get((0x1F, 0x88, 0x3D), 0) > 500  # the green VERIFIED badge
    assert counts.get((0x09, 0x69, 0xDA), 0) > 500  # the first hospital's bars
    assert counts.get((0xBF, 0x39, 0x89), 0) > 200  # the second series (bars and after-line)
    assert len(colours) > 50  # a rendered page, not a blank one


def test_an_unreachable_chain_gives_503_with_the_fix(world):
    ledger = LedgerClient(
        Web3(Web3.HTTPProvider(f"http://127.0.0.1:{free_port()}")),
        world.ledger.address,
        Account.create(),
    )
    auditor = Auditor(ledger, BlobReader([DirectorySource(d) for d in world.blob_dirs]))
    with serve_app(create_app(auditor, tokens=[TOKEN], cache_seconds=0)) as base:
        resp = httpx.get(f"{base}/api/rounds", headers=AUTH, timeout=30)
    assert resp.status_code == 503
    assert "FEDCHAIN_RPC_URL" in resp.json()["detail"]["fix"]
