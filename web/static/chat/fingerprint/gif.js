/**
 * A GIF's first frame with its transparent colour shown: browsers decode transparent pixels as
 * transparent black, while the server's Pillow keeps the palette colour there (convert("RGB")
 * ignores transparency), so the copy the browser decodes has the transparency flag cleared.
 */

function skipSubBlocks(bytes, at) {
  while (at < bytes.length && bytes[at] !== 0) at += bytes[at] + 1;
  return at + 1;
}

/** A copy without transparency before the first image, or the file itself when it has none. */
export function withoutTransparency(bytes) {
  let copy = bytes;
  let at = 13;
  const packed = bytes[10];
  if (packed & 0x80) at += 3 * 2 ** ((packed & 7) + 1); // global colour table
  while (at < bytes.length) {
    const block = bytes[at];
    if (block !== 0x21) break; // the first image (0x2C), the trailer, or damage: stop here
    if (bytes[at + 1] === 0xf9 && bytes[at + 2] === 4 && bytes[at + 3] & 1) {
      if (copy === bytes) copy = bytes.slice();
      copy[at + 3] &= ~1; // Graphic Control Extension: transparent colour flag off
    }
    at = skipSubBlocks(bytes, at + 2);
  }
  return copy;
}
