"""Large synthetic photos shared by the image tests, drawn once per session because drawing them is slow."""

from __future__ import annotations

import pytest

from tests.imagefactory import make_image

# About 12 megapixels, the size of a phone camera photo, in both orientations.
BIG_SIZES = [(4032, 3024), (3024, 4032), (4000, 3000)]
BIG_KINDS = ["shapes", "noise", "text", "gradient"]


@pytest.fixture(scope="session")
def big_jpegs() -> dict[str, bytes]:
    photos: dict[str, bytes] = {}
    for index, kind in enumerate(BIG_KINDS):
        for seed in range(2):
            width, height = BIG_SIZES[(index + seed) % len(BIG_SIZES)]
            photos[f"{kind}-{seed}-{width}x{height}"] = make_image(width, height, kind=kind, seed=seed)
    return photos
