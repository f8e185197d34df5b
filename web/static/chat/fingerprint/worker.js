/**
 * The Web Worker that fingerprints one file off the page's thread, so the chat stays responsive
 * while a 12-megapixel photo is decoded: one message in ({file, options}), progress messages, then
 * {type: "done", result} or {type: "error", code}. Nothing leaves this worker but hashes.
 */

import { digestBytes, digestStream } from "./digests.js";
import { readOrientation, withoutOrientation } from "./exif.js";
import { withoutTransparency } from "./gif.js";
import { PdqAccumulator } from "./pdq.js";
import { decodeLuma } from "./pixels.js";
import { Refusal } from "./refusal.js";
import { headerSize, sniff } from "./sniff.js";

// The server's defaults (bot/images/intake.py DEFAULT_MAX_BYTES, DEFAULT_MAX_PIXELS).
const DEFAULTS = { maxBytes: 20 * 1024 * 1024, maxPixels: 50_000_000, maxVideoBytes: 1024 * 1024 * 1024 };
const MIN_BLUR_PIXELS = 3;

/** How many times smaller the copy PDQ is taken from may be: intake.reduction_for, to the letter. */
function reductionFor(width, height) {
  const narrowestWindow = Math.min(Math.ceil(width / 128), Math.ceil(height / 128));
  let scale = 1;
  while (narrowestWindow >= MIN_BLUR_PIXELS * scale * 2) scale *= 2;
  return scale;
}

function progress(stage, fraction) {
  self.postMessage({ type: "progress", stage, fraction: Math.max(0, Math.min(1, fraction)) });
}

async function hashes(work) {
  try {
    return await work;
  } catch {
    // WebAssembly refused (an old browser, or a page policy) or no WebCrypto: nothing to send.
    throw new Refusal("unsupported_browser");
  }
}

async function fingerprintVideo(file, format, limits) {
  if (file.size > limits.maxVideoBytes) throw new Refusal("too_big");
  const digests = await hashes(digestStream(file, (done) => progress("hashing", done / file.size)));
  return { kind: "video", format, size: file.size, ...digests, pdq: null, pdq_quality: null, pdq_unrotated: null, width: null, height: null };
}

async function fingerprintImage(file, format, limits) {
  if (file.size > limits.maxBytes) throw new Refusal("too_big");
  progress("reading", 0);
  const bytes = new Uint8Array(await file.arrayBuffer());
  const header = headerSize(bytes, format);
  if (header && (header.width < 1 || header.height < 1)) throw new Refusal("cannot_decode");
  if (header && header.width * header.height > limits.maxPixels) throw new Refusal("too_big");
  const digests = hashes(digestBytes(bytes));
  digests.catch(() => {}); // awaited below; a refusal must not go unhandled meanwhile
  const orientation = format === "HEIF" ? 1 : await readOrientation(bytes, format);

  let plane = null;
  let upright = null;
  let stored = null;
  const sink = {
    begin(shape) {
      if (shape.fullWidth * shape.fullHeight > limits.maxPixels) throw new Refusal("too_big");
      plane = shape;
      upright = new PdqAccumulator({ ...shape, orientation });
      // As the server does: PDQ of the picture as stored too, for copies that lost their EXIF.
      if (orientation !== 1) stored = new PdqAccumulator({ ...shape, orientation: 1 });
    },
    row(r, values) {
      upright.addRow(r, values);
      if (stored) stored.addRow(r, values);
    },
  };
  progress("decoding", 0);
  try {
    // What the browser decodes is the file with only what the server's decoder ignores taken out.
    const decodable = format === "GIF" ? withoutTransparency(bytes) : withoutOrientation(bytes, format);
    await decodeLuma(decodable, format, header, reductionFor, sink, (done) => progress("decoding", done));
  } catch (error) {
    if (error instanceof Refusal) throw error;
    throw new Refusal("cannot_decode");
  }
  const pdq = upright.digest();
  const turned = orientation >= 5;
  return {
    kind: "image",
    format,
    size: file.size,
    ...(await digests),
    pdq: pdq.hash,
    pdq_quality: pdq.quality,
    pdq_unrotated: stored ? stored.digest().hash : null,
    width: turned ? plane.fullHeight : plane.fullWidth,
    height: turned ? plane.fullWidth : plane.fullHeight,
  };
}

async function fingerprint(file, options) {
  const limits = { ...DEFAULTS, ...options };
  if (!file || !file.size) throw new Refusal("empty_file");
  const what = sniff(new Uint8Array(await file.slice(0, 64).arrayBuffer()));
  if (what.kind === "video") return fingerprintVideo(file, what.format, limits);
  if (what.kind === "other_picture") throw new Refusal("unsupported_format");
  if (what.kind !== "image") throw new Refusal("not_an_image");
  return fingerprintImage(file, what.format, limits);
}

self.onmessage = async ({ data }) => {
  try {
    const result = await fingerprint(data.file, data.options || {});
    self.postMessage({ type: "done", result });
  } catch (error) {
    // Anything unforeseen still ends in a code the widget knows: it offers the checked route.
    self.postMessage({ type: "error", code: error instanceof Refusal ? error.code : "cannot_decode" });
  }
};
