"""The leaderboard HTML page opened in a real headless Chromium: rows, cells, marks, and a screenshot."""

from __future__ import annotations

import os
import shutil

import pytest

from agentdistill.leaderboard.build import build
from synthetic_logs import synthetic_log, write_log
from agentdistill.leaderboard.table import TEST_TASKS

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMEDRIVER = shutil.which("chromedriver") or "/usr/bin/chromedriver"

pytestmark = pytest.mark.skipif(
    not (os.path.exists(CHROMIUM) and os.path.exists(CHROMEDRIVER)),
    reason="headless browser test needs Debian's chromium and chromium-driver (/usr/bin/chromium, /usr/bin/chromedriver)",
)


@pytest.fixture
def browser(tmp_path):
    webdriver = pytest.importorskip("selenium.webdriver", reason="selenium is not installed (pip install -e .[test])")
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in (
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
        "--window-size=1700,900",
        f"--user-data-dir={tmp_path / 'chromium-profile'}",
    ):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    try:
        yield driver
    finally:
        driver.quit()


def test_html_table_in_headless_chromium(browser, log_dir, tmp_path):
    from selenium.webdriver.common.by import By

    small, large = "hf/Qwen/Qwen2.5-0.5B-Instruct", "hf/Qwen/Qwen2.5-7B-Instruct"
    for task, a, b in zip(TEST_TASKS, [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8], [0.3] * 8):
        write_log(log_dir, synthetic_log(task, small, a, solver="agentdistill/cot"))
        write_log(log_dir, synthetic_log(task, small, b, solver="agentdistill/agent_sag"))
        if task != "aime":
            write_log(log_dir, synthetic_log(task, large, 0.5, solver="agentdistill/agent", solver_args={"ftp": True}))
    write_log(log_dir, synthetic_log("aime", large, 0.9, solver="agentdistill/agent", solver_args={"ftp": True}, status="error", n=2, total=20))
    paths = build(str(log_dir), str(tmp_path / "site"), stats=True)

    browser.get("file://" + paths["html"])
    assert browser.title == "agentdistill leaderboard"
    headers = [th.text for th in browser.find_elements(By.CSS_SELECTOR, "#leaderboard thead th")]
    assert headers[:6] == ["Size", "Model", "Method", "HotpotQA", "Bamboogle", "MuSiQue"]
    assert headers[11:14] == ["Factual avg", "Math avg", "Overall avg"]
    assert headers[-4:] == ["steps", "search calls", "parse errors", "exec errors"]

    rows = browser.find_elements(By.CSS_SELECTOR, "#leaderboard tbody tr")
    keys = [(r.get_attribute("data-size"), r.get_attribute("data-method")) for r in rows]
    assert keys == [("0.5B", "cot"), ("0.5B", "agent+sag"), ("7B", "agent+ftp")]
    for row in rows:
        assert len(row.find_elements(By.TAG_NAME, "td")) == len(headers)

    def cell(row, col):
        return row.find_element(By.CSS_SELECTOR, f'td[data-col="{col}"]')

    cot, sag, ftp = rows
    assert cell(cot, "hotpotqa").text.startswith("10.0 ±6.9")
    assert "n=20" in cell(cot, "hotpotqa").text
    assert "best" in cell(sag, "hotpotqa").get_attribute("class").split()
    assert "best" in cell(cot, "olymmath").get_attribute("class").split()
    assert cell(cot, "overall_avg").text.startswith("45.0")
    assert "best" in cell(cot, "overall_avg").get_attribute("class").split()
    # the failed 7B run: visible, flagged, and the math average refuses to average around it
    aime = cell(ftp, "aime")
    assert "flagged" in aime.get_attribute("class").split() and "failed" in aime.text
    assert cell(ftp, "math_avg").text == "incomplete 3/4"
    assert cell(ftp, "factual_avg").text.startswith("50.0")
    # bold/green really rendered for best cells, amber for flagged ones
    assert int(cell(sag, "hotpotqa").value_of_css_property("font-weight")) >= 700
    assert cell(cot, "hotpotqa").value_of_css_property("background-color") != aime.value_of_css_property("background-color")
    # the inlined figure decodes and renders
    figure = browser.find_element(By.CSS_SELECTOR, "img.figure")
    assert browser.execute_script("return arguments[0].complete && arguments[0].naturalWidth", figure) > 500

    shot = tmp_path / "leaderboard.png"
    assert browser.save_screenshot(str(shot))
    assert shot.read_bytes()[:4] == b"\x89PNG" and shot.stat().st_size > 20_000
    print(f"screenshot: {shot}")


def test_paper_report_section_in_headless_chromium(browser, log_dir, tmp_path):
    """`--paper`: the reproduction view and the paper's tables and figures render on the same page."""
    from selenium.webdriver.common.by import By

    small = "hf/Qwen/Qwen2.5-0.5B-Instruct"
    ftp_training = {"kind": "agent", "ftp": True, "rag": False, "full_finetune": False, "base_model": "Qwen/Qwen2.5-0.5B-Instruct"}
    stats = {"tokens_generated": 250.0, "parse_errors": 0.4, "exec_errors": 0.3, "web_search_calls": 1.5, "steps": 2.5}
    for task in TEST_TASKS:
        write_log(log_dir, synthetic_log(task, small, 0.11, n=100, solver="agentdistill/cot", stats={"tokens_generated": 300.0}))
        write_log(log_dir, synthetic_log(task, small, 0.02, n=100, solver="agentdistill/agent", stats=stats))
        write_log(log_dir, synthetic_log(task, "agentdistill/q05-ftp", 0.5, n=100, solver="agentdistill/agent_sag", stats=stats,
                                         metadata={"agentdistill_grid": {"size": "0.5B", "distilled": True, "training": ftp_training}}))
    paths = build(str(log_dir), str(tmp_path / "site"), paper=True)
    browser.get("file://" + paths["html"])

    rows = browser.find_elements(By.CSS_SELECTOR, "#reproduction tbody tr")
    got = {(r.get_attribute("data-method"), r.get_attribute("data-paper-method")): r for r in rows}
    assert set(got) == {("cot", "CoT Prompting"), ("agent", "Agent Prompting"), ("agent+sag [distilled]", "+ ftp sag")}
    inside = {key: row.find_element(By.CSS_SELECTOR, 'td[data-col="inside"]') for key, row in got.items()}
    assert inside[("cot", "CoT Prompting")].text == "yes"  # 11.0 measured vs 11.06 published
    assert inside[("agent", "Agent Prompting")].text == "yes"  # 2.0 vs 1.80
    far = inside[("agent+sag [distilled]", "+ ftp sag")]
    assert far.text == "no" and "+28.10" in got[("agent+sag [distilled]", "+ ftp sag")].text
    assert far.value_of_css_property("background-color") != inside[("cot", "CoT Prompting")].value_of_css_property("background-color")

    tokens = browser.find_elements(By.CSS_SELECTOR, "#figure6_tokens tbody tr")
    assert len(tokens) == 3 and "300.0" in tokens[0].text + tokens[1].text + tokens[2].text
    assert browser.find_elements(By.CSS_SELECTOR, "#figure7_errors tbody tr")
    figures = browser.find_elements(By.CSS_SELECTOR, "section#paper img.figure")
    assert len(figures) >= 3  # Figures 6, 7, 8 from these runs
    for img in figures:
        assert browser.execute_script("return arguments[0].complete && arguments[0].naturalWidth", img) > 300
    assert "No data" in browser.find_element(By.CSS_SELECTOR, "section#paper").text  # e.g. Table 6 without a sweep, said so

    browser.set_window_size(1700, 5000)
    shot = tmp_path / "paper-report.png"
    assert browser.save_screenshot(str(shot)) and shot.read_bytes()[:4] == b"\x89PNG"
    print(f"screenshot: {shot}")
