/**
 * Walking a JPEG's marker segments, and one trick on them: a copy whose decoder output carries the
 * luma (Y) itself in its first channel, so a browser's scaled JPEG decode gives exactly the plane the
 * server's Pillow draft mode ("L") gives, without the colour round trip (YCbCr to RGB, clipped, and
 * back), which loses a few levels wherever a colour leaves the RGB cube.
 */

const u16be = (b, i) => (b[i] << 8) | b[i + 1];
const SOF = new Set([0xc0, 0xc1, 0xc2, 0xc3, 0xc5, 0xc6, 0xc7, 0xc9, 0xca, 0xcb, 0xcd, 0xce, 0xcf]);

/** Each segment before the scan: {marker, at (its 0xFF), start, end (its payload)}. */
export function* segments(bytes) {
  let at = 2;
  while (at + 4 <= bytes.length && bytes[at] === 0xff) {
    const marker = bytes[at + 1];
    if (marker === 0xff) { at += 1; continue; } // fill byte
    if (marker === 0xd8 || marker === 0x01 || (marker >= 0xd0 && marker <= 0xd7)) { at += 2; continue; }
    if (marker === 0xda || marker === 0xd9) return;
    const length = u16be(bytes, at + 2);
    if (length < 2) return;
    yield { marker, at, start: at + 4, end: Math.min(bytes.length, at + 2 + length), sof: SOF.has(marker) };
    at += 2 + length;
  }
}

const startsWith = (bytes, text) => [...text].every((char, i) => bytes[i] === char.charCodeAt(0));

/**
 * A copy of a three-component YCbCr JPEG marked as RGB (JFIF tag renamed, an Adobe segment with
 * transform 0), so libjpeg skips the colour conversion and the first output channel is Y, scaled
 * IDCT and range limit included — the same values Pillow's grayscale draft reads. Null for JPEGs
 * libjpeg would not treat as YCbCr (grey, CMYK, or already RGB), which decode as they are.
 * libjpeg decides in jdapimin.c default_decompress_parms: JFIF means YCbCr; else an Adobe segment's
 * transform; else component ids 1, 2, 3 (YCbCr) or "R", "G", "B".
 */
export function lumaFirst(bytes) {
  let jfif = [];
  let adobe = null;
  let ids = null;
  for (const segment of segments(bytes)) {
    const payload = bytes.subarray(segment.start, segment.end);
    if (segment.marker === 0xe0 && payload.length >= 14 && startsWith(payload, "JFIF\0")) jfif.push(segment.start);
    else if (segment.marker === 0xee && payload.length >= 12 && startsWith(payload, "Adobe")) adobe = adobe ?? segment.start;
    else if (segment.sof) {
      if (payload[5] !== 3) return null;
      ids = [payload[6], payload[9], payload[12]];
      break;
    }
  }
  if (!ids) return null;
  let ycc;
  if (jfif.length) ycc = true;
  else if (adobe !== null) ycc = bytes[adobe + 11] !== 0;
  else ycc = !(ids[0] === 82 && ids[1] === 71 && ids[2] === 66);
  if (!ycc) return null;
  const marker = [0xff, 0xee, 0x00, 0x0e, ...[..."Adobe"].map((c) => c.charCodeAt(0)), 0x00, 0x64, 0, 0, 0, 0, 0];
  const copy = new Uint8Array(bytes.length + (adobe === null ? marker.length : 0));
  const shift = adobe === null ? marker.length : 0;
  copy.set(bytes.subarray(0, 2));
  if (shift) copy.set(marker, 2);
  copy.set(bytes.subarray(2), 2 + shift);
  for (const start of jfif) copy[start + shift] = 0x58; // "JFIF" -> "XFIF": no longer a JFIF segment
  if (adobe !== null) copy[adobe + 11] = 0;
  return copy;
}
