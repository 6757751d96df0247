"""The leaderboard site in a real headless Chromium: loads clean, sorts, filters, drills down, and
renders hostile strings from records as text."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest

from kentei.board import BoardConfig, load_config
from kentei.errors import KenteiError
from kentei.site import build_site

from .conftest import run_cli

pytestmark = pytest.mark.slow
XSS_NAME = "<img src=x onerror=alert(1)>"
XSS_OUT = "<script>window.pwned=1</script>"
CHROMIUM, DRIVER = shutil.which("chromium"), shutil.which("chromedriver")


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory, tiny_path: Path) -> Path:
    root = tmp_path_factory.mktemp("runs")
    for model, rid in (("tiny-ja", "ref-a"), ("tiny-ja-b", "ref-b")):
        res = run_cli(
            "run",
            "--model",
            model,
            "--tasks",
            "keigo_form,monozukuri_reading",
            "--limit",
            "16",
            "--out",
            str(root),
            "--run-id",
            rid,
        )
        assert res.returncode == 0, res.stderr
    # A hostile record: model name and an output with markup.
    evil = root / "evil"
    shutil.copytree(root / "ref-a", evil)
    rec = json.loads((evil / "run.json").read_text())
    rec["run_id"], rec["model"]["id"] = "evil", XSS_NAME
    rec["tokenizer_fit"] = {"chars_per_token": 1.7, "boundary_f1": 0.62}
    (evil / "run.json").write_text(json.dumps(rec, ensure_ascii=False))
    lines = (evil / "monozukuri_reading.jsonl").read_text().splitlines()
    first = json.loads(lines[0])
    first["response"]["text"] = XSS_OUT
    first["id"] = first["id"] + XSS_OUT
    (evil / "monozukuri_reading.jsonl").write_text(
        "\n".join([json.dumps(first, ensure_ascii=False), *lines[1:]]) + "\n"
    )
    return root


@pytest.fixture(scope="module")
def site(runs: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    cfg = tmp_path_factory.mktemp("cfg") / "board.yaml"
    cfg.write_text(f"""name: t
title: test board
runs: [{runs}/ref-a, {runs}/ref-b, {runs}/evil]
models:
  tiny-ja: {{display_name: tiny-ja, origin: sovereign, country: JP, params: 937856}}
  tiny-ja-b: {{display_name: tiny-ja-b, origin: foreign, country: US, baseline: true}}
  "{XSS_NAME}": {{display_name: "{XSS_NAME}", origin: domestic, organization: "<b>org</b>"}}
""")
    out = cfg.parent / "site"
    res = run_cli("leaderboard", "build", "--config", str(cfg), "--out", str(out))
    assert res.returncode == 0, res.stderr
    return out


def test_static_files_escape_everything(site: Path) -> None:
    pages = list(site.rglob("*.html"))
    assert len(pages) >= 8
    for p in pages:
        html = p.read_text(encoding="utf-8")
        assert XSS_NAME not in html and XSS_OUT not in html and "<b>org</b>" not in html, p
        assert "Content-Security-Policy" in html and "script-src 'self'" in html
        assert " onclick=" not in html and " onerror=" not in html.replace("onerror=alert", "")
        assert "http://" not in html.replace('xmlns="http://www.w3.org/2000/svg"', "")
        assert "https://" not in html
    board = json.loads((site / "leaderboard.json").read_text())
    assert {r["model_id"] for r in board["rows"]} == {"tiny-ja", "tiny-ja-b", XSS_NAME}
    assert (site / "leaderboard.csv").read_text().count("\n") == 4
    assert (site / "h2h" / "tiny-ja__vs__tiny-ja-b.html").exists()
    index = (site / "index.html").read_text(encoding="utf-8")
    assert "tok: chars_per_token" in index and "1.700" in index  # tokenizer-fit columns when a run has them


@pytest.fixture(scope="module")
def browser():  # type: ignore[no-untyped-def]
    if not (CHROMIUM and DRIVER):
        if os.environ.get("CI"):
            pytest.fail("chromium/chromedriver missing in CI: .ci/run must install them")
        pytest.skip("chromium not installed (apt-get install chromium chromium-driver)")
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    opts = webdriver.ChromeOptions()
    opts.binary_location = CHROMIUM
    for a in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--window-size=1400,1000",
        "--allow-file-access-from-files",
    ):
        opts.add_argument(a)
    opts.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    drv = webdriver.Chrome(service=Service(DRIVER), options=opts)
    yield drv
    drv.quit()


def _rows(drv) -> list[str]:  # type: ignore[no-untyped-def]
    from selenium.webdriver.common.by import By

    return [
        r.get_attribute("data-origin") + ":" + r.find_elements(By.TAG_NAME, "td")[1].text
        for r in drv.find_elements(By.CSS_SELECTOR, "#board tbody tr")
        if r.is_displayed()
    ]


def test_main_page_sort_filter_no_errors(site: Path, browser, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    from selenium.common.exceptions import NoAlertPresentException
    from selenium.webdriver.common.by import By

    browser.get((site / "index.html").as_uri())
    assert browser.title == "test board"
    logs = [e for e in browser.get_log("browser") if e["level"] == "SEVERE"]
    assert logs == []
    before = _rows(browser)
    assert len(before) == 3
    model_th = browser.find_elements(By.CSS_SELECTOR, "#board thead th")[1]
    model_th.click()
    first = _rows(browser)
    model_th.click()
    second = _rows(browser)
    assert first == list(reversed(second)) and first != second
    browser.find_element(By.CSS_SELECTOR, 'button[data-filter="foreign"]').click()
    assert [r.split(":")[0] for r in _rows(browser)] == ["foreign"]
    browser.find_element(By.CSS_SELECTOR, 'button[data-filter="sovereign"]').click()
    assert sorted(r.split(":")[0] for r in _rows(browser)) == ["sovereign", "sovereign"]
    browser.find_element(By.CSS_SELECTOR, 'button[data-filter="all"]').click()
    assert any(XSS_NAME in r for r in _rows(browser))  # shown as text
    with pytest.raises(NoAlertPresentException):
        browser.switch_to.alert.text  # noqa: B018
    browser.save_screenshot(str(tmp_path / "index.png"))
    assert (tmp_path / "index.png").stat().st_size > 10_000


def test_drill_down_filters_and_renders_text(site: Path, browser, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select

    browser.get((site / "runs" / "evil" / "index.html").as_uri())
    assert [e for e in browser.get_log("browser") if e["level"] == "SEVERE"] == []
    rows = browser.find_elements(By.CSS_SELECTOR, "#items tbody tr")
    assert len(rows) == 16
    Select(browser.find_element(By.ID, "f-task")).select_by_value("monozukuri_reading")
    rows = browser.find_elements(By.CSS_SELECTOR, "#items tbody tr")
    assert len(rows) == 16 and XSS_OUT in rows[0].text
    assert browser.execute_script("return window.pwned === undefined")
    Select(browser.find_element(By.ID, "f-ok")).select_by_value("wrong")
    wrong = browser.find_elements(By.CSS_SELECTOR, "#items tbody tr")
    assert all(r.get_attribute("data-ok") == "wrong" for r in wrong)
    Select(browser.find_element(By.ID, "f-task")).select_by_value("keigo_form")
    Select(browser.find_element(By.ID, "f-ok")).select_by_value("right")
    right = browser.find_elements(By.CSS_SELECTOR, "#items tbody tr")
    assert all(r.get_attribute("data-ok") == "right" for r in right)
    cats = [
        o.get_attribute("value")
        for o in Select(browser.find_element(By.ID, "f-cat")).options
        if o.get_attribute("value")
    ]
    assert cats
    Select(browser.find_element(By.ID, "f-ok")).select_by_value("")
    Select(browser.find_element(By.ID, "f-cat")).select_by_value(cats[0])
    in_cat = browser.find_elements(By.CSS_SELECTOR, "#items tbody tr")
    assert in_cat and all(r.find_elements(By.TAG_NAME, "td")[1].text == cats[0] for r in in_cat)
    browser.save_screenshot(str(tmp_path / "drill.png"))


def test_drill_down_paginates_thousands(tmp_path: Path, browser) -> None:  # type: ignore[no-untyped-def]
    from selenium.webdriver.common.by import By

    from .test_compare import make_run

    rd = make_run(
        tmp_path, "big", {"t": {"family": "keigo", "metric": "exact_match", "scores": [i % 2 for i in range(3000)]}}
    )
    (tmp_path / "runs").mkdir()
    shutil.move(str(rd), tmp_path / "runs" / "big")
    build_site(BoardConfig(name="big"), None, tmp_path / "runs", tmp_path / "site")
    browser.get((tmp_path / "site" / "runs" / "big" / "index.html").as_uri())
    assert len(browser.find_elements(By.CSS_SELECTOR, "#items tbody tr")) == 100
    assert browser.find_element(By.ID, "f-count").text == "3000 items"
    browser.find_element(By.ID, "next").click()
    assert browser.find_element(By.ID, "page").text == "page 2 / 30"


def test_bad_definitions(tmp_path: Path) -> None:
    p = tmp_path / "b.yaml"
    p.write_text("name: b\nmodels:\n  m: {origin: martian}\n")
    with pytest.raises(KenteiError, match="origin"):
        load_config(p)
    p.write_text("name: b\nmodels:\n  m: {params: lots}\n")
    with pytest.raises(KenteiError, match="params"):
        load_config(p)
    p.write_text("name: b\nmodels:\n  m: {link: 'javascript:alert(1)'}\n")
    with pytest.raises(KenteiError, match="link"):
        load_config(p)
    p.write_text("name: b\nmodels:\n  m: {favourite_colour: blue, params: 7B}\n")  # unknown fields are fine
    assert load_config(p).models["m"].params == 7e9
    p.write_text("name: b\nrunz: []\n")
    with pytest.raises(KenteiError, match="runz"):
        load_config(p)


def test_incomplete_runs_are_flagged_not_shown(tmp_path: Path) -> None:
    from kentei.board import collect

    from .test_compare import make_run

    make_run(tmp_path, "done", {"t": {"family": "keigo", "metric": "acc", "scores": [1, 0, 1]}}, model="m1")
    make_run(tmp_path, "half", {"t": {"family": "keigo", "metric": "acc", "scores": [1]}}, status="running", model="m2")
    entries, warnings = collect(BoardConfig(name="x"), None, tmp_path)
    assert [e.model_id for e in entries] == ["m1"]
    assert any("incomplete run half" in w for w in warnings)


# Every string a record or a board definition can carry, each with a different way out of its context.
PAYLOADS = {
    "tag": "<img src=x onerror=window.pwned=1>",
    "script": "<script>window.pwned=1</script>",
    "attr": '"><svg onload=window.pwned=1>',
    "js": '"];window.pwned=1;//',
    "close": "</script><script>window.pwned=1</script>",
}
MARKERS = ("<img src=x", "<script>window.pwned", "<svg onload", "</script><script>")


def _poison(run: Path, run_id: str, model_id: str) -> None:
    cycle = [*PAYLOADS.values()] * 1000
    p = iter(cycle)
    rec = json.loads((run / "run.json").read_text())
    rec["run_id"] = run_id
    rec["model"].update(id=model_id, path=next(p), architecture=next(p), dtype=next(p))
    rec["kentei"]["version"] = PAYLOADS["close"]
    rec["host"]["platform"] = PAYLOADS["attr"]
    (run / "run.json").write_text(json.dumps(rec, ensure_ascii=False))
    for log in sorted((run / "responses").glob("*.jsonl")):
        rows = [json.loads(x) for x in log.read_text().splitlines()]
        for r in rows:
            it = r["item"]
            r["id"] = it["id"] = it["id"] + next(p)
            it["category"] = "cat" + next(p)
            it["rationale"] = next(p)
            for k in ("question", "input"):
                if k in it:
                    it[k] += next(p)
            for k in ("choices", "references"):
                if k in it:
                    it[k] = [c + next(p) for c in it[k]]
            r["prompt"] += next(p)
            if "text" in r["response"]:
                r["response"]["text"] = next(p)
        log.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows))


@pytest.fixture(scope="module")
def hostile_site(runs: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A run whose model metadata, item fields, prompts and outputs, and a board definition whose
    title, description and model metadata, all carry markup; scores rebuilt by `kentei rescore`."""
    root = tmp_path_factory.mktemp("hostile")
    for src, rid, model_id in (("ref-a", "h", "evil" + PAYLOADS["tag"]), ("ref-b", "hb", "tiny-ja-b")):
        run = root / "runs" / rid
        shutil.copytree(runs / src, run)
        _poison(run, rid, model_id)  # the same edits to the items of both runs: they stay comparable
        res = run_cli("rescore", str(run))
        assert res.returncode == 0, res.stderr
    model = "evil" + PAYLOADS["tag"]
    cfg = root / "board.yaml"
    cfg.write_text(
        json.dumps(
            {
                "name": "hostile",
                "title": "board" + PAYLOADS["script"],
                "description": PAYLOADS["attr"] + PAYLOADS["js"],
                "runs": [str(root / "runs" / "h"), str(root / "runs" / "hb")],
                "models": {
                    model: {
                        "display_name": "shown" + PAYLOADS["tag"],
                        "organization": PAYLOADS["close"],
                        "license": PAYLOADS["attr"],
                        "link": 'https://example.com/"onmouseover="window.pwned=1',
                        "notes": PAYLOADS["js"],
                        "origin": "domestic",
                    },
                    "tiny-ja-b": {"display_name": PAYLOADS["script"], "baseline": True, "origin": "foreign"},
                },
            },
            ensure_ascii=False,
        )
    )
    res = run_cli("leaderboard", "build", "--config", str(cfg), "--out", str(root / "site"))
    assert res.returncode == 0, res.stderr
    return root / "site"


def test_every_page_and_field_is_escaped(hostile_site: Path, browser) -> None:  # type: ignore[no-untyped-def]
    from selenium.common.exceptions import NoAlertPresentException

    pages = sorted(hostile_site.rglob("*.html"))
    kinds = {p.relative_to(hostile_site).parts[0] for p in pages}
    assert kinds == {"index.html", "models", "runs", "tasks", "h2h"}, kinds  # every kind of page
    for page in pages:
        html = page.read_text(encoding="utf-8")
        for m in MARKERS:
            assert m not in html, (page, m)
        assert 'onmouseover="window' not in html and "Content-Security-Policy" in html
    shown = 0
    for page in pages:
        browser.get(page.as_uri())
        severe = [e for e in browser.get_log("browser") if e["level"] == "SEVERE"]
        assert severe == [], (page, severe)  # a CSP violation would show here
        assert browser.execute_script("return window.pwned === undefined"), page
        with pytest.raises(NoAlertPresentException):
            browser.switch_to.alert.text  # noqa: B018
        body = browser.execute_script("return document.body.innerText")
        shown += any(v in body for v in PAYLOADS.values())
    assert shown >= len(pages) // 2  # the hostile strings are on the pages, as text
