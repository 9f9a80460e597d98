"""The web console end to end: Debian's headless Chromium, driven by Selenium through
Debian's chromedriver, against a real `hark serve` with the real model. The tests run in
order, as one person's session: sign in, upload, watch, read, correct, export, search,
cancel, the Live page, a phone's width; the browser's console must stay free of errors.
Screenshots of each screen go to the test's temporary directory."""

from __future__ import annotations

import os
import re
import secrets
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from support import AUDIO, LONGFORM, Server, start_server
from support.services import BROWSER, ensure_installed

SAMPLE = AUDIO / "diarization" / "pyannote_sample" / "sample.wav"
WAIT = 600  # seconds for a diarized job on a busy machine

webdriver = pytest.importorskip("selenium.webdriver")
from selenium.common.exceptions import (  # noqa: E402
    NoSuchElementException,
    StaleElementReferenceException,
)
from selenium.webdriver.common.action_chains import ActionChains  # noqa: E402
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.common.keys import Keys  # noqa: E402
from selenium.webdriver.support.ui import WebDriverWait  # noqa: E402


@pytest.fixture(scope="module")
def hark(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    srv = start_server(
        tmp_path_factory.mktemp("console"), api_key="hark_ui_" + secrets.token_hex(8)
    )
    yield srv
    srv.stop()


@pytest.fixture(scope="module")
def shots(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("console-screens")


@pytest.fixture(scope="module")
def browser(hark: Server) -> Iterator[webdriver.Chrome]:
    ensure_installed(*BROWSER)
    offline = os.environ.get("SE_OFFLINE")
    os.environ["SE_OFFLINE"] = "true"  # selenium-manager must never download a browser
    options = webdriver.ChromeOptions()
    options.binary_location = "/usr/bin/chromium"
    for argument in (
        "--headless=new",
        "--no-sandbox",
        "--disable-dev-shm-usage",
        "--disable-gpu",
        "--window-size=1280,900",
        "--use-fake-ui-for-media-stream",  # the Live page: a fake microphone, allowed
        "--use-fake-device-for-media-stream",
        "--autoplay-policy=no-user-gesture-required",
        "--lang=en-US",
    ):
        options.add_argument(argument)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    service = webdriver.ChromeService(executable_path="/usr/bin/chromedriver")
    driver = webdriver.Chrome(service=service, options=options)
    driver.get(f"http://127.0.0.1:{hark.port}/")
    yield driver
    driver.quit()
    if offline is None:
        os.environ.pop("SE_OFFLINE", None)
    else:
        os.environ["SE_OFFLINE"] = offline


@pytest.fixture(scope="module")
def state() -> dict:
    """What one test leaves for the next (they run in file order, as one session)."""
    return {}


def by_testid(testid: str) -> tuple[str, str]:
    return By.CSS_SELECTOR, f'[data-testid="{testid}"]'


def wait(driver, condition, timeout: float = 30, message: str = ""):
    def attempt(d):
        try:
            return condition(d)
        except (NoSuchElementException, StaleElementReferenceException, StopIteration):
            return False

    return WebDriverWait(driver, timeout, poll_frequency=0.1).until(attempt, message)


def errors(driver) -> list[str]:
    """The browser console's errors since the last call."""
    return [e["message"] for e in driver.get_log("browser") if e["level"] == "SEVERE"]


def screenshot(driver, shots: Path, name: str) -> None:
    # Toasts are transient: keep them out of the pictures.
    driver.execute_script(
        "const t = document.getElementById('toast'); t.style.transition = 'none';"
        "t.className = ''; t.offsetHeight; t.style.transition = '';"
    )
    driver.save_screenshot(str(shots / f"{name}.png"))


def rows(driver) -> list[tuple[str, str]]:
    """(file name, row text) of each job row."""
    return [
        (r.find_element(By.CSS_SELECTOR, ".name").text, r.text)
        for r in driver.find_elements(*by_testid("job-row"))
    ]


def row_of(driver, filename: str):
    return next(
        r
        for r in driver.find_elements(*by_testid("job-row"))
        if r.find_element(By.CSS_SELECTOR, ".name").text == filename
    )


def current_time(driver) -> float:
    return driver.execute_script(
        "return document.querySelector('[data-testid=audio-player]').currentTime"
    )


def audio_ready(driver) -> bool:
    return driver.execute_script(
        "return document.querySelector('[data-testid=audio-player]').readyState >= 1"
    )


# -- the session ----------------------------------------------------------------------------


def test_sign_in_refuses_a_wrong_key_then_accepts_the_right_one(browser, hark, shots):
    key = browser.find_element(*by_testid("api-key-input"))
    key.send_keys("hark_wrong_" + secrets.token_hex(8))
    browser.find_element(*by_testid("sign-in")).click()
    message = wait(browser, lambda d: d.find_element(By.ID, "sign-in-error").text)
    assert "not accepted" in message
    screenshot(browser, shots, "sign-in-refused")
    # The refused key's 401 is the only error the browser reports.
    assert all("401" in e for e in errors(browser))
    assert browser.execute_script("return sessionStorage.getItem('hark.apiKey')") is None

    key.clear()
    key.send_keys(hark.api_key)
    browser.find_element(*by_testid("sign-in")).click()
    wait(browser, lambda d: d.find_element(*by_testid("upload-input")))
    assert hark.api_key not in browser.current_url
    assert browser.execute_script("return sessionStorage.getItem('hark.apiKey')") == hark.api_key


def test_upload_with_speakers_shows_progress_then_completed(browser, shots):
    browser.find_element(By.CSS_SELECTOR, "details.options summary").click()
    diarize = browser.find_element(*by_testid("upload-diarize"))
    diarize.click()
    assert diarize.is_selected()
    browser.find_element(*by_testid("upload-input")).send_keys(str(SAMPLE))
    browser.find_element(By.CSS_SELECTOR, "details.options summary").click()  # fold options

    seen: set[str] = set()
    progressed = False
    deadline = time.monotonic() + WAIT
    while time.monotonic() < deadline:
        try:
            row = row_of(browser, SAMPLE.name)
            text = row.text
            bars = row.find_elements(By.CSS_SELECTOR, "progress")
            if bars and float(bars[0].get_attribute("value") or 0) > 0:
                if not progressed:
                    browser.execute_script("arguments[0].scrollIntoView()", row)
                    screenshot(browser, shots, "jobs-processing")
                progressed = True
        except (StopIteration, StaleElementReferenceException):
            time.sleep(0.1)
            continue
        seen |= {s for s in ("queued", "processing", "completed", "error") if s in text}
        if "completed" in text or "error" in text:
            break
        time.sleep(0.1)
    assert "completed" in seen, seen
    assert seen & {"queued", "processing"}, seen  # it was watched while it ran
    assert progressed, "no progress bar moved"
    assert re.search(r"\d+ s|\d+ min", row_of(browser, SAMPLE.name).text)  # its duration
    screenshot(browser, shots, "jobs")


def test_transcript_click_a_word_to_seek(browser, shots, state):
    row_of(browser, SAMPLE.name).find_element(By.CSS_SELECTOR, "a.name").click()
    wait(browser, lambda d: d.find_elements(*by_testid("transcript-word")))
    wait(browser, audio_ready, message="the audio never loaded")
    state["url"] = browser.current_url
    state["id"] = browser.current_url.rsplit("/", 1)[-1]
    words = browser.find_elements(*by_testid("transcript-word"))
    later = next(w for w in words if int(w.get_attribute("data-start-ms") or 0) > 3000)
    start_ms = int(later.get_attribute("data-start-ms"))
    later.click()
    wait(browser, lambda d: abs(current_time(d) - start_ms / 1000) < 0.05)
    assert "now" in later.get_attribute("class")
    assert len(browser.find_elements(*by_testid("speaker-name"))) >= 2
    screenshot(browser, shots, "transcript")

    # Space plays; the highlighted word follows the audio.
    browser.find_element(By.TAG_NAME, "body").send_keys(Keys.SPACE)
    wait(browser, lambda d: current_time(d) > start_ms / 1000 + 0.5, 15)
    browser.find_element(By.TAG_NAME, "body").send_keys(Keys.SPACE)
    assert browser.execute_script(
        "return document.querySelector('[data-testid=audio-player]').paused"
    )
    before = current_time(browser)
    browser.find_element(By.TAG_NAME, "body").send_keys(Keys.ARROW_LEFT)
    wait(browser, lambda d: abs(current_time(d) - max(0, before - 5)) < 0.1)


def test_rename_a_speaker_and_export_srt(browser, hark, state):
    label = browser.find_elements(*by_testid("speaker-name"))[0]
    speaker = label.get_attribute("data-speaker")
    label.click()
    field = browser.find_element(*by_testid("speaker-name-input"))
    field.send_keys("Dr. Ruiz", Keys.ENTER)
    wait(
        browser,
        lambda d: all(
            b.text == "Dr. Ruiz"
            for b in d.find_elements(*by_testid("speaker-name"))
            if b.get_attribute("data-speaker") == speaker
        ),
    )
    link = browser.find_element(*by_testid("export-srt"))
    assert link.tag_name == "a"
    srt = httpx.get(link.get_attribute("href"), headers={"Authorization": f"Bearer {hark.api_key}"})
    assert srt.status_code == 200
    assert 'filename="sample.srt"' in srt.headers["content-disposition"]
    assert re.search(r"^Dr\. Ruiz: ", srt.text, re.M), srt.text[:500]
    link.click()  # downloads through the key-carrying fetch, without an error


def test_edit_a_word_and_see_it_in_text(browser, hark, state):
    words = browser.find_elements(*by_testid("transcript-word"))
    word = words[len(words) // 2]
    index = word.get_attribute("data-index")
    browser.execute_script("arguments[0].scrollIntoView({block: 'center'})", word)
    ActionChains(browser).double_click(word).perform()
    field = browser.find_element(By.CSS_SELECTOR, '[data-testid="word-input"]')
    field.send_keys(Keys.CONTROL, "a")
    field.send_keys("Zanzibar", Keys.ENTER)
    wait(
        browser,
        lambda d: d.find_element(By.CSS_SELECTOR, f'[data-index="{index}"]').text == "Zanzibar",
    )
    with hark.client() as api:
        text = api.get(f"/transcriptions/{state['id']}/transcript", params={"format": "text"}).text
    assert "Zanzibar" in text and "Dr. Ruiz:" in text
    state["edited_index"] = index


def test_search_a_word_and_land_on_it(browser, shots, state):
    browser.find_element(By.CSS_SELECTOR, '[data-nav="search"]').click()
    box = wait(browser, lambda d: d.find_element(*by_testid("search-input")))
    box.send_keys("zanzib")
    hit = wait(browser, lambda d: d.find_element(*by_testid("search-hit")))
    assert "Zanzibar" in hit.text and SAMPLE.name in hit.text
    screenshot(browser, shots, "search")
    hit.find_element(By.TAG_NAME, "a").click()
    word = wait(
        browser,
        lambda d: d.find_element(By.CSS_SELECTOR, f'[data-index="{state["edited_index"]}"]'),
    )
    assert "hit" in word.get_attribute("class")
    start_ms = int(word.get_attribute("data-start-ms"))
    wait(browser, audio_ready)
    wait(browser, lambda d: abs(current_time(d) - start_ms / 1000) < 0.05)


def test_dark_and_phone_width(browser, shots, state):
    browser.execute_cdp_cmd(
        "Emulation.setEmulatedMedia",
        {"features": [{"name": "prefers-color-scheme", "value": "dark"}]},
    )
    screenshot(browser, shots, "transcript-dark")
    browser.set_window_size(390, 844)
    time.sleep(0.3)
    screenshot(browser, shots, "mobile-transcript-dark")
    browser.execute_cdp_cmd("Emulation.setEmulatedMedia", {"features": []})
    assert browser.execute_script("return document.documentElement.scrollWidth") <= 390
    browser.find_element(By.CSS_SELECTOR, '[data-nav="jobs"]').click()
    wait(browser, lambda d: d.find_elements(*by_testid("job-row")))
    assert browser.execute_script("return document.documentElement.scrollWidth") <= 390
    screenshot(browser, shots, "mobile-jobs")
    browser.set_window_size(1280, 900)


def test_cancel_a_long_job_then_delete_it(browser, shots):
    browser.find_element(*by_testid("upload-input")).send_keys(str(LONGFORM))
    button = wait(
        browser,
        lambda d: row_of(d, LONGFORM.name).find_element(*by_testid("cancel-job")),
        WAIT,
    )
    button.click()
    wait(
        browser,
        lambda d: (
            "cancelled" in row_of(d, LONGFORM.name).text
            and "error" in row_of(d, LONGFORM.name).text
        ),
        60,
    )
    assert not row_of(browser, LONGFORM.name).find_elements(*by_testid("cancel-job"))
    screenshot(browser, shots, "jobs-cancelled")
    row_of(browser, LONGFORM.name).find_element(By.CSS_SELECTOR, "button.danger").click()
    browser.switch_to.alert.accept()
    wait(browser, lambda d: LONGFORM.name not in [name for name, _ in rows(d)])


def test_live_page_shows_what_the_socket_sends(browser, shots):
    browser.find_element(By.CSS_SELECTOR, '[data-nav="live"]').click()
    wait(browser, lambda d: d.find_element(*by_testid("live-start"))).click()
    stop = browser.find_element(*by_testid("live-stop"))
    wait(browser, lambda d: stop.is_enabled(), 30, "the microphone never started")
    time.sleep(2)
    stop.click()
    wait(
        browser,
        lambda d: (
            '"finished": true'
            in d.find_element(*by_testid("live-log"))
            .get_attribute("textContent")
            .replace('"finished":true', '"finished": true')
        ),
        120,
    )
    assert "Done" in browser.find_element(*by_testid("live-state")).text
    screenshot(browser, shots, "live")


def test_sign_out_and_no_console_errors(browser):
    found = errors(browser)
    browser.find_element(*by_testid("sign-out")).click()
    wait(browser, lambda d: d.find_element(*by_testid("api-key-input")))
    assert browser.execute_script("return sessionStorage.getItem('hark.apiKey')") is None
    assert found + errors(browser) == []
