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
from tests.imagefactory import Kind, make_image

KINDS: tuple[Kind, ...] = ("shapes", "noise", "text", "gradient")
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


def open_page(chromium: Any, base_url: str, photos: dict[str, bytes], image_decoder: bool) -> Any:
    page = chromium.new_page()
    page.set_default_timeout(120_000)
    page.route(f"**{FIXTURE}*", lambda route: route.fulfill(
        body=photos[route.request.url.rsplit("/", 1)[1]], content_type="application/octet-stream"))
    if not image_decoder:
        # Safari's road: no ImageDecoder, so a big JPEG is decoded in full and averaged in blocks.
        def without(route: Any) -> None:
            response = route.fetch()
            route.fulfill(response=response, body="self.ImageDecoder = undefined;\n" + response.text())

        page.route("**/static/chat/fingerprint/worker.js", without)
    page.goto(base_url + "/chat")
    return page


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

    ways = ("browser", "browser without ImageDecoder", "server")
    times: dict[str, list[float]] = {way: [] for way in ways}
    first_progress: list[float] = []
    with tempfile.TemporaryDirectory() as data_dir:
        server = LiveServer(Path(data_dir)).start()
        try:
            with sync_playwright() as pw:
                chromium = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
                pages = {"browser": open_page(chromium, server.base_url, photos, image_decoder=True),
                         "browser without ImageDecoder": open_page(chromium, server.base_url, photos, image_decoder=False)}
                has_decoder = pages["browser"].evaluate("typeof ImageDecoder === 'function'")
                # Warm every way outside the clock: module and wasm caches, JIT, lazy imports.
                warm = next(iter(photos))
                for page in pages.values():
                    browser_times(page, [warm])
                check_and_hash(photos[warm])
                for _ in range(args.rounds):
                    for name, data in photos.items():
                        for way, page in pages.items():
                            (answer,) = browser_times(page, [name])
                            times[way].append(answer["ms"])
                            if way == "browser":
                                first_progress.append(min(answer["stages"].values()))
                        started = time.perf_counter()
                        hashes = check_and_hash(data)
                        times["server"].append((time.perf_counter() - started) * 1000)
                        assert answer["md5"] == hashes.md5
                chromium.close()
        finally:
            server.stop()

    median = {way: statistics.median(values) for way, values in times.items()}
    print(f"Chromium {'with' if has_decoder else 'WITHOUT'} ImageDecoder; worker answering after "
          f"{statistics.median(first_progress):.1f} ms (median)")
    labels = {"browser": "browser: fingerprintFile in its Web Worker",
              "browser without ImageDecoder": "browser, ImageDecoder removed (Safari's road)",
              "server": "server: check_and_hash"}
    for way in ways:
        print(f"{labels[way]:48s} {median[way]:8.1f} ms median (min {min(times[way]):.1f}, max {max(times[way]):.1f})")
    print(f"browser / server = {median['browser'] / median['server']:5.2f}x; "
          f"without ImageDecoder / server = {median['browser without ImageDecoder'] / median['server']:5.2f}x")


if __name__ == "__main__":
    main()
