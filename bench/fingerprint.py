"""Times the browser's fingerprint of a 12-megapixel JPEG (web/static/chat/fingerprint/, in its Web Worker,
in Chromium through Playwright) beside the server's check_and_hash of the same file, in the same run.

Both are measured in turns (file 1 in the browser, file 1 on the server, file 2 ...), so a change in the
machine's speed during the run hits both alike; medians are printed with their ratio. The browser time
is what the widget waits for: fingerprintFile() called on the page until its promise settles, which
includes starting the worker and loading its modules (from the browser cache after the first).
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from bot.images.intake import check_and_hash
from tests.conftest import CHROMIUM, CHROMIUM_ARGS
from tests.harness import LiveServer
from tests.imagefactory import make_image

KINDS = ("shapes", "noise", "text", "gradient")
FIXTURE = "/__bench_fixture__/"

FINGERPRINT_JS = """async (url) => {
  const { fingerprintFile } = await import('/static/chat/fingerprint/index.js');
  const file = new File([await (await fetch(url)).blob()], 'photo.jpg', { type: 'image/jpeg' });
  const stages = {};
  const started = performance.now();
  const result = await fingerprintFile(file, {
    onProgress: ({ stage }) => { stages[stage] = stages[stage] ?? performance.now() - started; },
  });
  return { ms: performance.now() - started, stages, pdq: result.pdq, md5: result.md5 };
}"""


def browser_times(page: Any, names: list[str]) -> list[dict[str, Any]]:
    return [page.evaluate(FINGERPRINT_JS, FIXTURE + name) for name in names]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("-n", "--images", type=int, default=4)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()

    photos = {f"{KINDS[i % len(KINDS)]}-{i}.jpg": make_image(4032, 3024, kind=KINDS[i % len(KINDS)], seed=i)
              for i in range(args.images)}
    size = sum(map(len, photos.values())) / len(photos) / 1e6
    print(f"{len(photos)} synthetic 4032x3024 JPEGs (12.2 MP), {size:.1f} MB average, {args.rounds} rounds")

    from playwright.sync_api import sync_playwright

    browser_ms: list[float] = []
    server_ms: list[float] = []
    first_progress: list[float] = []
    with tempfile.TemporaryDirectory() as data_dir:
        server = LiveServer(Path(data_dir)).start()
        try:
            with sync_playwright() as pw:
                chromium = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
                page = chromium.new_page()
                page.set_default_timeout(120_000)
                page.route(f"**{FIXTURE}*", lambda route: route.fulfill(
                    body=photos[route.request.url.rsplit("/", 1)[1]], content_type="application/octet-stream"))
                page.goto(server.base_url + "/chat")
                has_decoder = page.evaluate("typeof ImageDecoder === 'function'")
                # Warm both sides outside the clock: module and wasm caches, lazy imports.
                warm = next(iter(photos))
                browser_times(page, [warm])
                check_and_hash(photos[warm])
                for _ in range(args.rounds):
                    for name, data in photos.items():
                        (answer,) = browser_times(page, [name])
                        started = time.perf_counter()
                        hashes = check_and_hash(data)
                        server_ms.append((time.perf_counter() - started) * 1000)
                        assert answer["md5"] == hashes.md5
                        browser_ms.append(answer["ms"])
                        first_progress.append(min(answer["stages"].values()))
                chromium.close()
        finally:
            server.stop()

    browser = statistics.median(browser_ms)
    server_side = statistics.median(server_ms)
    print(f"Chromium {'with' if has_decoder else 'without'} ImageDecoder")
    print(f"{'browser: fingerprintFile in its Web Worker':48s} {browser:8.1f} ms median "
          f"(min {min(browser_ms):.1f}, max {max(browser_ms):.1f}; worker running after {statistics.median(first_progress):.1f} ms)")
    print(f"{'server: check_and_hash':48s} {server_side:8.1f} ms median (min {min(server_ms):.1f}, max {max(server_ms):.1f})")
    print(f"browser / server = {browser / server_side:5.2f}x")


if __name__ == "__main__":
    main()
