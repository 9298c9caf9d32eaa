"""The image view's grid in real headless Chromium: a 2 x 2 grid runs, and the heat map the
page draws (read from the DOM after each epoch) holds what ``fit_heads`` learns.

Uses the browser suite's server, Chromium and page fixtures and their waits
(``tests/test_playground_browser.py``); skipped, as that suite is, without Chromium or
Playwright.
"""

import json

import numpy as np
import pytest

import test_playground_browser as suite
from linclass.model import init_params
from linclass.training.heads import Heads
from linclass.training.sweep import fit_heads
from linclass.web import session_grid as sgrid

ARTIFACTS, RUN_WAIT_MS, WAIT_MS = suite.ARTIFACTS, suite.RUN_WAIT_MS, suite.WAIT_MS
# the suite's fixtures: its server (module-scoped), its Chromium, a fresh checked page
server_url, browser, page = suite.server_url, suite.browser, suite.page

# the suite's marks (browser; skipped without Chromium), and one Chromium at a time on the
# 2-core machine: the same xdist group as the suite's (tests/conftest.py)
pytestmark = [*suite.pytestmark, pytest.mark.xdist_group("chromium")]

#: Records the heat map each time the page redraws it: its epoch and every cell's
#: setting, value, text and marks, as the DOM holds them.
WATCH = """() => {
  window.gridSnapshots = [];
  const map = document.querySelector('#grid-map');
  new MutationObserver(() => {
    window.gridSnapshots.push({
      epoch: Number(map.dataset.epoch), done: map.dataset.done === 'true',
      cells: [...map.querySelectorAll('.cell')].map((c) => ({
        lr: Number(c.dataset.lr), alpha: Number(c.dataset.alpha),
        value: c.dataset.value === '' ? null : Number(c.dataset.value),
        text: c.querySelector('.value').textContent, best: c.classList.contains('best'),
        dropped: c.dataset.dropped || null, background: c.style.background})),
      ticks: [...map.querySelectorAll('.tick')].map((t) => t.textContent),
      names: [...map.querySelectorAll('.axis-name')].map((t) => t.textContent)});
  }).observe(map, { attributes: true, attributeFilter: ['data-epoch'] });
}"""


def test_a_two_by_two_grid_fills_the_heat_map_with_what_fit_heads_learns(page):
    page.click("#tab-image")
    page.wait_for_function("window.playground.stateImage && "
                           "window.playground.stateImage.dataset === 'digits'")
    config = page.evaluate("window.playground.stateImage.config")
    page.fill("#grid-lr", "0.1, 1")
    page.fill("#grid-alpha", "0,1e-2")
    page.fill("#grid-epochs", "3")
    page.evaluate(WATCH)
    page.click("#grid-run")
    page.wait_for_function("document.querySelector('#grid-map').dataset.done === 'true'",
                           timeout=RUN_WAIT_MS)
    snaps = [s for s in page.evaluate("window.gridSnapshots") if s["epoch"] > 0]
    page.locator("#grid-panel").screenshot(path=ARTIFACTS / "image-grid.png")

    # the same settings trained by fit_heads: the page's session has seed 0
    lr, alpha = [0.1, 1.0], [0.0, 1e-2]
    rows = sgrid.grid_rows("digits")
    start = {k: v.astype(rows.X.dtype) for k, v in init_params(64, 10, random_state=0).items()}
    seen = []
    fit_heads(start, rows.X, rows.y, Heads(config["loss"], config["penalty"],
                                           np.repeat(alpha, 2), np.tile(lr, 2)),
              optimizer=config["optimizer"], batch_size=config["batch_size"], max_epochs=3,
              tol=None, random_state=0, X_val=rows.X_val, y_val=rows.y_val,
              on_epoch=lambda e, objective, held: seen.append(held))

    # every epoch was drawn, in order, filling the map as it came
    assert [s["epoch"] for s in snaps] == [1, 2, 3] and snaps[-1]["done"]
    for snap, held in zip(snaps, seen, strict=True):
        cells = {(c["alpha"], c["lr"]): c for c in snap["cells"]}
        assert len(cells) == 4
        for h, (a, r) in enumerate((a, r) for a in alpha for r in lr):
            c = cells[(a, r)]
            assert c["value"] == held[h], (snap["epoch"], a, r)
            assert c["text"] == f"{held[h]:.3f}" and c["background"].startswith("rgb(")
            assert c["dropped"] is None
        best = int(np.argmax(held))  # the first of the highest, as linclass search
        assert [c["best"] for c in snap["cells"]].count(True) == 1
        assert cells[(alpha[best // 2], lr[best % 2])]["best"]
    # largest alpha on top, learning rates across, both axes named
    assert snaps[-1]["ticks"] == ["0.01", "0", "0.1", "1"]
    assert snaps[-1]["names"] == ["alpha", "learning rate"]
    status = page.text_content("#grid-status")
    assert "epoch 3 / 3 (done)" in status and "4 settings" in status

    # a cell's head becomes the model: the templates and the controls follow
    templates = page.get_attribute("#templates", "data-step")
    page.click("#grid-map .cell.best")
    page.wait_for_selector("#msg-grid.info")
    best = page.evaluate("window.playground.grid.best")
    st = page.evaluate("window.playground.stateImage")
    assert (st["config"]["learning_rate"], st["config"]["alpha"]) == (best["lr"], best["alpha"])
    assert page.get_attribute("#templates", "data-step") != templates
    assert [t.text_content() for t in page.locator("#grid-map .cell.best .tag").all()] == [
        "best", "model"]
    page.screenshot(path=ARTIFACTS / "image-grid-picked.png", full_page=True)


def test_a_bad_grid_says_what_is_wrong_on_the_page(browser, server_url):
    context, pg, errors = suite.open_page(browser, server_url, refusals=True)
    try:
        pg.click("#tab-image")
        pg.wait_for_function("window.playground.stateImage")
        pg.fill("#grid-lr", "0.1, fast")
        pg.click("#grid-run")
        pg.wait_for_selector("#msg-grid.error", timeout=WAIT_MS)
        assert 'lr[1] must be a number, got "fast"' in pg.text_content("#msg-grid")
        assert pg.text_content("#grid-run") == "Run grid"  # stopped, ready to try again
        pg.fill("#grid-lr", "0.1,0.2,0.3,0.4,0.5")
        pg.click("#grid-run")
        pg.wait_for_function("document.querySelector('#msg-grid').textContent"
                             ".includes('lr holds 5 values')")
        assert not errors, json.dumps(errors)
    finally:
        context.close()


def test_the_grid_runs_under_the_pages_content_security_policy(browser, server_url):
    # no bypass: the heat map's colours are set through the DOM, never inline markup
    context = browser.new_context(viewport={"width": 1280, "height": 960})
    pg = context.new_page()
    pg.set_default_timeout(WAIT_MS)
    errors = []
    pg.on("pageerror", lambda e: errors.append(str(e)))
    pg.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    try:
        pg.goto(server_url)
        pg.wait_for_selector("body[data-ready=true]")
        pg.click("#tab-image")
        pg.wait_for_selector("#templates[data-step='0']")
        pg.fill("#grid-lr", "0.5")
        pg.fill("#grid-alpha", "0")
        pg.fill("#grid-epochs", "2")
        pg.click("#grid-run")
        pg.wait_for_selector("#grid-map[data-done='true']", timeout=RUN_WAIT_MS)
        cell = pg.locator("#grid-map .cell")
        assert float(cell.get_attribute("data-value")) > 0.85
        assert "rgb(" in cell.get_attribute("style")  # the colour was applied
    finally:
        context.close()
    assert not errors, errors
