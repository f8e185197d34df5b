/**
 * What a file is, from its leading bytes, the way the server decides (bot/images/intake.py
 * sniff_format), and a picture's size from its header, so a decompression bomb is refused before
 * anything tries to decode it on a child's phone.
 */

import { segments } from "./jpeg.js";

const HEIF_BRANDS = new Set(["heic", "heix", "heim", "heis", "hevc", "hevx", "hevm", "hevs", "mif1", "msf1"]);
// ISO media brands of pictures Haven does not take (AVIF and friends): refused like the server does.
const OTHER_PICTURE_BRANDS = new Set(["avif", "avis", "avio", "jpeg", "jpgs", "j2ki", "j2is", "crx "]);

const ascii = (bytes, start, end) => String.fromCharCode(...bytes.subarray(start, end));
const startsWith = (bytes, magic, at = 0) => magic.every((value, i) => bytes[at + i] === value);

// The server's list of other picture formats (intake._KNOWN_OTHER_IMAGE_MAGIC).
const OTHER_PICTURE_MAGIC = [
  [0x42, 0x4d], // BMP
  [0x49, 0x49, 0x2a, 0x00], // TIFF, and raw camera formats built on it
  [0x4d, 0x4d, 0x00, 0x2a],
  [0x38, 0x42, 0x50, 0x53], // Photoshop
  [0x00, 0x00, 0x01, 0x00], // ICO
  [0xff, 0x0a], // JPEG XL codestream
  [0x00, 0x00, 0x00, 0x0c, 0x4a, 0x58, 0x4c, 0x20],
  [0x00, 0x00, 0x00, 0x0c, 0x6a, 0x50, 0x20, 0x20], // JPEG 2000
  [0x25, 0x50, 0x44, 0x46], // PDF
];

/**
 * {kind: "image", format: "JPEG"|"PNG"|"GIF"|"WEBP"|"HEIF"} or {kind: "video", format} or
 * {kind: "other_picture"} (a picture format Haven does not take) or {kind: "unknown"}.
 * `head` is the first 64 bytes or more.
 */
export function sniff(head) {
  if (startsWith(head, [0xff, 0xd8, 0xff])) return { kind: "image", format: "JPEG" };
  if (startsWith(head, [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a])) return { kind: "image", format: "PNG" };
  const six = ascii(head, 0, 6);
  if (six === "GIF87a" || six === "GIF89a") return { kind: "image", format: "GIF" };
  if (ascii(head, 0, 4) === "RIFF") {
    const type = ascii(head, 8, 12);
    if (type === "WEBP") return { kind: "image", format: "WEBP" };
    if (type === "AVI ") return { kind: "video", format: "AVI" };
  }
  if (ascii(head, 4, 8) === "ftyp") {
    const brand = ascii(head, 8, 12);
    if (HEIF_BRANDS.has(brand)) return { kind: "image", format: "HEIF" };
    if (OTHER_PICTURE_BRANDS.has(brand)) return { kind: "other_picture" };
    // Every other ISO media brand (isom, mp41, mp42, qt, M4V, 3gp...) is a video container.
    return { kind: "video", format: brand.trim() === "qt" ? "QUICKTIME" : "MP4" };
  }
  if (startsWith(head, [0x1a, 0x45, 0xdf, 0xa3])) return { kind: "video", format: "WEBM" };
  if (OTHER_PICTURE_MAGIC.some((magic) => startsWith(head, magic))) return { kind: "other_picture" };
  return { kind: "unknown" };
}

const u16le = (b, i) => b[i] | (b[i + 1] << 8);
const u24le = (b, i) => b[i] | (b[i + 1] << 8) | (b[i + 2] << 16);
const u32be = (b, i) => ((b[i] << 24) >>> 0) + ((b[i + 1] << 16) | (b[i + 2] << 8) | b[i + 3]);

/**
 * The stored size from the header: {width, height, ...} or null when the header is damaged. A JPEG
 * adds `components`: 1 (grey), 3 (colour) or 4 (CMYK); a PNG its `bitDepth` and `colourType`.
 */
export function headerSize(bytes, format) {
  try {
    if (format === "PNG") {
      if (ascii(bytes, 12, 16) !== "IHDR") return null;
      return { width: u32be(bytes, 16), height: u32be(bytes, 20), bitDepth: bytes[24], colourType: bytes[25] };
    }
    if (format === "GIF") return { width: u16le(bytes, 6), height: u16le(bytes, 8) };
    if (format === "WEBP") return webpSize(bytes);
    if (format === "JPEG") return jpegSize(bytes);
  } catch {
    return null;
  }
  return null; // HEIF: the browser that can decode it tells us after decoding
}

function jpegSize(bytes) {
  for (const segment of segments(bytes)) {
    if (!segment.sof) continue;
    const frame = bytes.subarray(segment.start, segment.end);
    if (frame.length < 6) return null;
    return { height: (frame[1] << 8) | frame[2], width: (frame[3] << 8) | frame[4], components: frame[5] };
  }
  return null;
}

function webpSize(bytes) {
  const chunk = ascii(bytes, 12, 16);
  const data = 20;
  if (chunk === "VP8X") return { width: u24le(bytes, data + 4) + 1, height: u24le(bytes, data + 7) + 1 };
  if (chunk === "VP8 ") {
    if (!startsWith(bytes, [0x9d, 0x01, 0x2a], data + 3)) return null;
    return { width: u16le(bytes, data + 6) & 0x3fff, height: u16le(bytes, data + 8) & 0x3fff };
  }
  if (chunk === "VP8L") {
    if (bytes[data] !== 0x2f) return null;
    const bits = bytes[data + 1] | (bytes[data + 2] << 8) | (bytes[data + 3] << 16) | (bytes[data + 4] << 24);
    return { width: (bits & 0x3fff) + 1, height: ((bits >>> 14) & 0x3fff) + 1 };
  }
  return null;
}
