/**
 * EXIF orientation read the way the server's Pillow reads it, and taken out of a copy of the file
 * before the browser decodes it, so the picture is turned once, by us, exactly as the server turns
 * it — whatever the browser would or would not have done with the tag on its own.
 *
 * Pillow (Image.getexif, as bot/images/intake.py _orientation calls it) takes the EXIF block from a
 * JPEG's APP1 "Exif" segments (the first, with any later ones appended), a PNG's eXIf chunk or an
 * ImageMagick "Raw profile type exif" text chunk, or a WebP's EXIF chunk; reads tag 0x0112 from the
 * first directory; and, when the tag is missing, falls back to tiff:Orientation in the XMP packet.
 * A value that is not a single whole number from 1 to 8, or a block it cannot read, counts as 1.
 * HEIF needs none of this: the server's decoder resets the tag after applying the container's own
 * rotation (pillow_heif), which is what browsers that decode HEIF do too.
 */

import { segments } from "./jpeg.js";

const ORIENTATION_TAG = 0x0112;
const INTEGER_TYPES = new Set([1, 3, 4, 6, 8, 9, 13, 16]); // Pillow reads these as int
const KNOWN_TYPES = new Set([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 16]);
const TYPE_SIZES = { 1: 1, 3: 2, 4: 4, 6: 1, 8: 2, 9: 4, 13: 4, 16: 8 };
const EXIF_PREFIX = [0x45, 0x78, 0x69, 0x66, 0, 0]; // "Exif\0\0"
const XMP_JPEG = "http://ns.adobe.com/xap/1.0/\0";
const XMP_ORIENTATION = /tiff:Orientation(="|>)([0-9])/;

const latin1 = (bytes) => {
  let text = "";
  for (let i = 0; i < bytes.length; i += 0x8000) text += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return text;
};
const hasPrefix = (bytes, prefix, at = 0) => prefix.every((value, i) => bytes[at + i] === value);
const u32be = (b, i) => ((b[i] << 24) >>> 0) + ((b[i + 1] << 16) | (b[i + 2] << 8) | b[i + 3]);

/**
 * Where the orientation tag of one EXIF block sits: {present, value, at, size, little} with `at`
 * the value's offset inside `block` (the TIFF header at `start`), or {present: false}.
 * Throws on a block Pillow could not load, which the caller counts as orientation 1.
 */
function findOrientation(block, start) {
  const view = new DataView(block.buffer, block.byteOffset, block.byteLength);
  const order = view.getUint16(start);
  let little;
  if (order === 0x4949 && view.getUint16(start + 2, true) === 42) little = true;
  else if (order === 0x4d4d && view.getUint16(start + 2, false) === 42) little = false;
  else throw new Error("not a TIFF header");
  const directory = start + view.getUint32(start + 4, little);
  const count = view.getUint16(directory, little);
  let found = { present: false };
  // Pillow reads every entry of the directory; one cut short spoils the whole block.
  for (let n = 0; n < count; n++) {
    const entry = directory + 2 + n * 12;
    const tag = view.getUint16(entry, little);
    const type = view.getUint16(entry + 2, little);
    const values = view.getUint32(entry + 4, little);
    view.getUint32(entry + 8, little); // throws when the entry is cut short, as Pillow fails then
    if (tag !== ORIENTATION_TAG || !KNOWN_TYPES.has(type)) continue;
    if (!INTEGER_TYPES.has(type) || values !== 1) {
      found = { present: true, value: 0 };
      continue;
    }
    const size = TYPE_SIZES[type];
    const at = size <= 4 ? entry + 8 : start + view.getUint32(entry + 8, little);
    const read = { 1: () => view.getUint8(at), 6: () => view.getInt8(at), 3: () => view.getUint16(at, little),
      8: () => view.getInt16(at, little), 4: () => view.getUint32(at, little), 9: () => view.getInt32(at, little),
      13: () => view.getUint32(at, little), 16: () => Number(view.getBigUint64(at, little)) };
    found = { present: true, value: read[type](), at, size, little };
  }
  return found;
}

function tiffStart(block) {
  // Pillow strips up to two "Exif\0\0" prefixes before the TIFF header.
  let start = 0;
  for (let i = 0; i < 2 && hasPrefix(block, EXIF_PREFIX, start); i++) start += 6;
  return start;
}

function orientationFrom(exif, xmp) {
  let tag = { present: false };
  if (exif) {
    try {
      tag = findOrientation(exif, tiffStart(exif));
    } catch {
      return 1;
    }
  }
  let value = tag.present ? tag.value : undefined;
  if (value === undefined && xmp) {
    const match = XMP_ORIENTATION.exec(latin1(xmp));
    if (match) value = Number(match[2]);
  }
  return Number.isInteger(value) && value >= 1 && value <= 8 ? value : 1;
}

// ---------------------------------------------------------------- walking the containers

function* pngChunks(bytes) {
  let at = 8;
  while (at + 12 <= bytes.length) {
    const length = u32be(bytes, at);
    const type = latin1(bytes.subarray(at + 4, at + 8));
    const start = at + 8;
    if (start + length + 4 > bytes.length) return;
    yield { type, at, start, end: start + length };
    if (type === "IEND") return;
    at = start + length + 4;
  }
}

function* riffChunks(bytes) {
  let at = 12;
  while (at + 8 <= bytes.length) {
    const type = latin1(bytes.subarray(at, at + 4));
    const length = bytes[at + 4] | (bytes[at + 5] << 8) | (bytes[at + 6] << 16) | ((bytes[at + 7] << 24) >>> 0);
    const start = at + 8;
    yield { type, start, end: Math.min(bytes.length, start + length) };
    at = start + length + (length & 1);
  }
}

async function inflate(bytes) {
  const stream = new Blob([bytes]).stream().pipeThrough(new DecompressionStream("deflate"));
  return new Uint8Array(await new Response(stream).arrayBuffer());
}

/** PNG text chunks as Pillow keeps them: {keyword: Uint8Array}. */
async function pngText(bytes, chunk) {
  const data = bytes.subarray(chunk.start, chunk.end);
  const nul = data.indexOf(0);
  if (nul < 0) return null;
  const keyword = latin1(data.subarray(0, nul));
  let rest = data.subarray(nul + 1);
  if (chunk.type === "zTXt") {
    if (rest[0] !== 0) return null;
    try { rest = await inflate(rest.subarray(1)); } catch { return null; }
  } else if (chunk.type === "iTXt") {
    if (rest.length < 2) return null;
    const [compressed, method] = rest;
    rest = rest.subarray(2);
    const lang = rest.indexOf(0);
    const translated = lang < 0 ? -1 : rest.indexOf(0, lang + 1);
    if (translated < 0) return null;
    rest = rest.subarray(translated + 1);
    if (compressed) {
      if (method !== 0) return null;
      try { rest = await inflate(rest); } catch { return null; }
    }
  }
  return { keyword, value: rest };
}

function rawProfileExif(value) {
  // ImageMagick's "Raw profile type exif": a header of three lines, then hex digits.
  const hex = latin1(value).split("\n").slice(3).join("").replace(/\s+/g, "");
  if (hex.length % 2 || /[^0-9a-fA-F]/.test(hex)) throw new Error("bad hex");
  const out = new Uint8Array(hex.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(hex.substr(i * 2, 2), 16);
  return out;
}

function concat(parts) {
  const out = new Uint8Array(parts.reduce((n, part) => n + part.length, 0));
  let at = 0;
  for (const part of parts) { out.set(part, at); at += part.length; }
  return out;
}

/** The EXIF orientation (1-8) the server will read for this file. */
export async function readOrientation(bytes, format) {
  let exif = null;
  let xmp = null;
  if (format === "JPEG") {
    const parts = [];
    for (const segment of segments(bytes)) {
      if (segment.marker !== 0xe1) continue;
      const data = bytes.subarray(segment.start, segment.end);
      if (hasPrefix(data, EXIF_PREFIX)) parts.push(parts.length ? data.subarray(6) : data);
      else if (latin1(data.subarray(0, XMP_JPEG.length)) === XMP_JPEG) xmp = data.subarray(XMP_JPEG.length);
    }
    if (parts.length) exif = concat(parts);
  } else if (format === "PNG") {
    let rawProfile = null;
    for (const chunk of pngChunks(bytes)) {
      if (chunk.type === "eXIf") exif = bytes.subarray(chunk.start, chunk.end);
      else if (chunk.type === "tEXt" || chunk.type === "zTXt" || chunk.type === "iTXt") {
        const text = await pngText(bytes, chunk);
        if (!text) continue;
        if (text.keyword === "XML:com.adobe.xmp") xmp = text.value;
        else if (text.keyword === "Raw profile type exif") rawProfile = text.value;
        else if (text.keyword === "exif" && chunk.type === "tEXt") exif = text.value;
      }
    }
    if (!exif && rawProfile) {
      try { exif = rawProfileExif(rawProfile); } catch { return 1; }
    }
  } else if (format === "WEBP") {
    for (const chunk of riffChunks(bytes)) {
      if (chunk.type === "EXIF" && !exif) exif = bytes.subarray(chunk.start, chunk.end);
      else if (chunk.type === "XMP " && !xmp) xmp = bytes.subarray(chunk.start, chunk.end);
    }
  }
  return orientationFrom(exif, xmp);
}

// ---------------------------------------------------------------- taking the tag out

const CRC_TABLE = (() => {
  const table = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    table[n] = c >>> 0;
  }
  return table;
})();

function crc32(bytes) {
  let c = 0xffffffff;
  for (let i = 0; i < bytes.length; i++) c = CRC_TABLE[(c ^ bytes[i]) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

/** Set the orientation tag of the EXIF block at block[start..] to 1; true when something changed. */
function resetTag(block) {
  let tag;
  try {
    tag = findOrientation(block, tiffStart(block));
  } catch {
    return false;
  }
  if (!tag.present || tag.at === undefined || tag.value === 1) return false;
  for (let i = 0; i < tag.size; i++) block[tag.at + i] = 0;
  block[tag.little ? tag.at : tag.at + tag.size - 1] = 1;
  return true;
}

function resetXmp(block) {
  const match = XMP_ORIENTATION.exec(latin1(block));
  if (!match || match[2] === "1") return false;
  block[match.index + match[0].length - 1] = 0x31; // the digit, same length: nothing else moves
  return true;
}

/**
 * A copy of the file with every orientation a browser might act on set to 1 (EXIF in each JPEG
 * APP1 segment, PNG eXIf and plain XMP text, WebP EXIF and XMP chunks), or the file itself when
 * there is none. Only metadata changes; the picture's own bytes are untouched.
 */
export function withoutOrientation(bytes, format) {
  const copy = bytes.slice();
  let changed = false;
  if (format === "JPEG") {
    for (const segment of segments(copy)) {
      if (segment.marker !== 0xe1) continue;
      const data = copy.subarray(segment.start, segment.end);
      if (hasPrefix(data, EXIF_PREFIX)) changed = resetTag(data) || changed;
      else changed = resetXmp(data) || changed;
    }
  } else if (format === "PNG") {
    for (const chunk of pngChunks(copy)) {
      const data = copy.subarray(chunk.start, chunk.end);
      let touched = false;
      if (chunk.type === "eXIf") touched = resetTag(data);
      else if (chunk.type === "iTXt" || chunk.type === "tEXt") touched = resetXmp(data);
      if (touched) {
        const crc = crc32(copy.subarray(chunk.at + 4, chunk.end));
        new DataView(copy.buffer, copy.byteOffset + chunk.end, 4).setUint32(0, crc);
        changed = true;
      }
    }
  } else if (format === "WEBP") {
    for (const chunk of riffChunks(copy)) {
      const data = copy.subarray(chunk.start, chunk.end);
      if (chunk.type === "EXIF") changed = resetTag(data) || changed;
      else if (chunk.type === "XMP ") changed = resetXmp(data) || changed;
    }
  }
  return changed ? copy : bytes;
}
