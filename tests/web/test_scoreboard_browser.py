"""The projector page in a real browser: Debian's headless Chromium, driven by Playwright (no browser download).

Run alone with `pytest -m browser`; `.ci/run` installs chromium. KUBECAMP_WRITE_SCREENSHOT=1 rewrites
docs/scoreboard.png from the projector-size test.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import AsyncIterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from bot.store import Store
from tests.classroom import Classroom, classroom
from tests.emulators.kube import KubeCluster
from tests.web.scoreboard_site import INSTRUCTOR_TOKEN, Site, scoreboard_site

if TYPE_CHECKING:
    from playwright.async_api import BrowserContext, Page

#: One test after another on one worker: three headless Chromiums beside each other on two cores took twice as long
#: each, last in the run, and the run waited for them; as a group they start with it (xdist gives out its largest
#: units of work first).
pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("browser")]

CHROMIUM = Path("/usr/bin/chromium")
#: The flags of a browser that reaches nothing but the page: no updates, sync or first-run screens.
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
SCREENSHOT = Path(__file__).parents[2] / "docs" / "scoreboard.png"
#: How soon a solve must show on an open page.
LIVE_WITHIN_MS = 2000


@pytest.fixture
def chromium() -> Path:
    if not CHROMIUM.exists():
        pytest.skip("no /usr/bin/chromium: apt-get install chromium (.ci/run does)")
    return CHROMIUM


@pytest.fixture
async def browser(chromium: Path, tmp_path: Path) -> AsyncIterator[BrowserContext]:
    # Imported here, not with the module: a fifth of a second that every test process paid while collecting.
    playwright = pytest.importorskip("playwright.async_api")
    async with playwright.async_playwright() as driver:
        context = await driver.chromium.launch_persistent_context(
            tmp_path / "chromium-profile",  # a new user-data-dir
            executable_path=chromium,
            headless=True,
            args=FLAGS,
            viewport={"width": 1920, "height": 1080},
        )
        try:
            yield context
        finally:
            await context.close()


@pytest.fixture
async def room(kube_cluster: KubeCluster, store: Store) -> AsyncIterator[Classroom]:
    async with classroom(kube_cluster, store) as room:
        for team in ("blue", "red", "green"):
            await room.team(team)
            await room.runs.start(team, 2)
        yield room


@pytest.fixture
async def site(room: Classroom) -> AsyncIterator[Site]:
    async with scoreboard_site(room) as site:
        yield site


async def ranking(page: Page) -> list[list[str]]:
    rows = await page.locator("#ranking tbody tr").all()
    return [[cell.strip() for cell in await row.locator("td").all_inner_texts()] for row in rows]


async def test_the_page_shows_the_ranking_in_the_class_language(site: Site, browser: BrowserContext) -> None:
    await site.room.solve("blue", "image-pull", minute=10)
    page = await browser.new_page()
    await page.goto(f"{site.url}/scoreboard/2")
    assert await page.locator("html").get_attribute("lang") == "ko"
    assert (await page.locator("#ranking thead").inner_text()).strip() == "순위\t팀\t점수\t해결\t시간\t힌트"
    # Ties as ties, and no medal for a team with nothing solved.
    assert await ranking(page) == [
        ["🥇", "blue", "25", "1", "10:00", "0"],
        ["2.", "green", "0", "0", "-", "0"],
        ["2.", "red", "0", "0", "-", "0"],
    ]
    assert "🩸 10′" in await page.locator('.grid tr[data-team="blue"] td[data-item="image-pull"]').inner_text()
    assert await page.locator('.grid tr[data-team="red"] td[data-item="image-pull"]').inner_text() == "⏳"
    assert await page.locator("#chart path[data-team='blue']").count() == 1
    await page.goto(f"{site.url}/scoreboard/2?lang=en")
    assert (await page.locator("#ranking thead").inner_text()).strip() == "Rank\tTeam\tPoints\tSolved\tTime\tHints"
    assert await page.locator("h1").inner_text() == "🏆 Challenge 2: Deployment disaster"
    assert "first to solve" in await page.locator("footer").inner_text()


async def test_a_solve_shows_on_the_open_page_within_two_seconds(site: Site, browser: BrowserContext) -> None:
    page = await browser.new_page()
    await page.goto(f"{site.url}/scoreboard/2")
    await page.wait_for_function("document.getElementById('connection').textContent.includes('●')")
    await page.evaluate("window.notReloaded = true")
    await site.room.solve("red", "unschedulable", minute=12)
    await page.wait_for_function(
        "document.querySelector('#ranking tbody tr td.team').textContent === 'red'", timeout=LIVE_WITHIN_MS
    )
    assert await page.evaluate("window.notReloaded") is True
    assert (await ranking(page))[0][:4] == ["🥇", "red", "25", "1"]


async def test_a_freeze_hides_later_solves_from_the_public_page_not_from_instructors(
    site: Site, browser: BrowserContext
) -> None:
    room = site.room
    await room.solve("blue", "image-pull", minute=10)
    await room.board.freeze(2, None, by="Kim")
    public = await browser.new_page()
    await public.goto(f"{site.url}/scoreboard/2")
    instructor = await browser.new_page()
    await instructor.goto(f"{site.url}/scoreboard/2?view=instructor&token={INSTRUCTOR_TOKEN}")
    for page in (public, instructor):
        await page.wait_for_function("document.getElementById('connection').textContent.includes('●')")
    await room.solve("green", "image-pull", "unschedulable", minute=20)
    moment = room.clock().isoformat()
    for page in (public, instructor):  # both heard of the change
        await page.wait_for_function(f"document.body.dataset.updated === '{moment}'", timeout=LIVE_WITHIN_MS)
    assert [row[1:4] for row in await ranking(public)][:2] == [["blue", "25", "1"], ["green", "0", "0"]]
    assert "🧊" in await public.locator("#frozen").inner_text()
    assert await public.locator('.grid tr[data-team="green"] td[data-item="image-pull"]').inner_text() == "⏳"
    assert [row[1:4] for row in await ranking(instructor)][:2] == [["green", "50", "2"], ["blue", "25", "1"]]
    assert await instructor.locator("#frozen").is_hidden()
    assert "실시간" in await instructor.locator("#mode").inner_text()


async def test_the_page_at_projector_size(site: Site, browser: BrowserContext, tmp_path: Path) -> None:
    room = site.room
    for team in ("amber", "cyan"):
        await room.team(team)
        await room.runs.start(team, 2)
    await room.solve("blue", "image-pull", minute=8)
    await room.solve("red", "unschedulable", minute=14)
    await room.solve("blue", "unschedulable", "rolling-update", minute=21)
    await room.solve("cyan", "image-pull", minute=26)
    await room.solve("amber", minute=30)
    await room.solve("red", "image-pull", minute=33)
    await room.solve("green", "node-affinity", minute=38)
    page = await browser.new_page()
    await page.emulate_media(color_scheme="dark")
    await page.goto(f"{site.url}/scoreboard/2")
    await page.wait_for_function("document.getElementById('connection').textContent.includes('●')")
    shot = tmp_path / "scoreboard.png"
    await page.screenshot(path=shot)
    assert shot.read_bytes()[16:24] == (1920).to_bytes(4, "big") + (1080).to_bytes(4, "big")  # PNG's IHDR
    if os.environ.get("KUBECAMP_WRITE_SCREENSHOT") == "1":
        shutil.copyfile(shot, SCREENSHOT)
    # Nothing overflows the screen: the room sees all of it without scrolling.
    size = await page.evaluate("[document.documentElement.scrollWidth, document.documentElement.scrollHeight]")
    assert size == [1920, 1080], size
    assert SCREENSHOT.is_file(), "docs/scoreboard.png: run this test with KUBECAMP_WRITE_SCREENSHOT=1"
