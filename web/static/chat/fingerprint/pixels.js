/**
 * Decodes a picture in the browser into the luma rows PDQ reads, as the server's decode does
 * (bot/images/intake.py decode_for_hashing), a strip at a time so a 12-megapixel photo never needs
 * more than one full-size copy of itself in memory — and a JPEG none at all.
 *
 * - Small pictures (scale 1): every pixel, PDQ's float luma 0.299 R + 0.587 G + 0.114 B.
 * - Big pictures (scale 2, 4, 8): Pillow's integer luma averaged over scale x scale blocks, with
 *   Image.reduce's rounding, edges included. A JPEG is decoded straight at 1/2, 1/4 or 1/8 from its
 *   DCT blocks where the browser offers it (ImageDecoder with a desired size), as the server's
 *   JPEG draft mode does, which is most of the speed.
 * Colour stays as stored (no colour-profile conversion: the server ignores profiles too), and
 * alpha is dropped with the colour under it kept, as Pillow's convert("RGB") does: a VideoFrame made
 * from an ImageBitmap decoded with premultiplyAlpha "none" hands back the stored colours; a canvas
 * (the fallback) would blacken fully transparent pixels.
 */

import { lumaFirst } from "./jpeg.js";
import { Refusal } from "./refusal.js";

const STRIP_BYTES = 4 * 1024 * 1024;
const JPEG_MAX_DRAFT = 8;
const RGB_ORDER = { RGBA: [0, 1, 2], RGBX: [0, 1, 2], BGRA: [2, 1, 0], BGRX: [2, 1, 0] };
const MIME = { JPEG: "image/jpeg", PNG: "image/png", GIF: "image/gif", WEBP: "image/webp", HEIF: "image/heic" };
const YUV_FORMATS = new Set(["I420", "I420A", "I422", "I422A", "I444", "I444A", "NV12"]);

/** Pillow's multiplier for a mean of n values (Reduce.c division_UINT32, in 32-bit floats). */
function reduceMultiplier(n) {
  return Math.trunc(Math.fround(4294967296 / Math.fround(256 * n)));
}

/**
 * Sums luma into blocks of `scale` x `scale` and hands out each finished row of block means with
 * Image.reduce's arithmetic: ((sum + n // 2) * multiplier) >> 24, n the pixels in the block.
 */
class BlockMeans {
  constructor(width, height, scale, emit) {
    this.width = width;
    this.height = height;
    this.scale = scale;
    this.emit = emit;
    this.sums = new Uint32Array(Math.ceil(width / scale));
    this.out = new Uint8Array(this.sums.length);
    this.rowsIn = 0;
    this.blockRow = 0;
    this.fullColumns = Math.floor(width / scale);
    this.edgeWidth = width % scale;
  }

  /** Add one full-resolution row of integer luma (Uint8Array of `width`). */
  add(luma) {
    const { scale, sums, fullColumns } = this;
    let x = 0;
    for (let block = 0; block < fullColumns; block++) {
      let sum = 0;
      for (let k = 0; k < scale; k++) sum += luma[x++];
      sums[block] += sum;
    }
    if (this.edgeWidth) {
      let sum = 0;
      for (; x < this.width; x++) sum += luma[x];
      sums[fullColumns] += sum;
    }
    this.rowsIn++;
    const lastRow = this.blockRow * scale + this.rowsIn === this.height;
    if (this.rowsIn === scale || lastRow) this.flush();
  }

  flush() {
    const { scale, sums, out, fullColumns } = this;
    const rows = this.rowsIn;
    const mean = (sum, n) => Math.floor(((sum + Math.floor(n / 2)) * reduceMultiplier(n)) / 16777216);
    for (let block = 0; block < fullColumns; block++) out[block] = mean(sums[block], scale * rows);
    if (this.edgeWidth) out[fullColumns] = mean(sums[fullColumns], this.edgeWidth * rows);
    this.emit(this.blockRow, out);
    sums.fill(0);
    this.rowsIn = 0;
    this.blockRow++;
  }
}

/** Pillow's "L" from RGB: (R 19595 + G 38470 + B 7471 + 0x8000) >> 16. */
function integerLuma(pixels, offset, width, order, out) {
  const [r, g, b] = order;
  for (let x = 0, at = offset; x < width; x++, at += 4) {
    out[x] = (pixels[at + r] * 19595 + pixels[at + g] * 38470 + pixels[at + b] * 7471 + 0x8000) >> 16;
  }
}

/** pdqhash's float luma: float32(R * 0.299 + G * 0.587 + B * 0.114), computed in doubles as numpy does. */
function floatLuma(pixels, offset, width, order, out) {
  const [r, g, b] = order;
  for (let x = 0, at = offset; x < width; x++, at += 4) {
    out[x] = pixels[at + r] * 0.299 + pixels[at + g] * 0.587 + pixels[at + b] * 0.114;
  }
}

/**
 * Reads an ImageBitmap a strip of rows at a time, as often as asked:
 * {width, height, order, strips(rows) -> async iterator of {y, count, pixels}, close()}.
 */
function stripReader(bitmap) {
  const width = bitmap.width;
  const height = bitmap.height;
  if (typeof VideoFrame === "function") {
    let frame = null;
    try {
      frame = new VideoFrame(bitmap, { timestamp: 0 });
    } catch {
      // No VideoFrame from bitmaps here: read through a canvas instead.
    }
    if (frame && RGB_ORDER[frame.format]) {
      return {
        width, height, order: RGB_ORDER[frame.format],
        async *strips(rows) {
          const buffer = new Uint8Array(width * rows * 4);
          for (let y = 0; y < height; y += rows) {
            const count = Math.min(rows, height - y);
            await frame.copyTo(buffer, {
              rect: { x: frame.visibleRect.x, y: frame.visibleRect.y + y, width, height: count },
              layout: [{ offset: 0, stride: width * 4 }],
            });
            yield { y, count, pixels: buffer };
          }
        },
        close: () => frame.close(),
      };
    }
    if (frame) frame.close();
  }
  if (typeof OffscreenCanvas !== "function") throw new Refusal("unsupported_browser");
  return {
    width, height, order: [0, 1, 2],
    async *strips(rows) {
      const canvas = new OffscreenCanvas(width, rows);
      const context = canvas.getContext("2d", { willReadFrequently: true, alpha: true });
      context.imageSmoothingEnabled = false;
      for (let y = 0; y < height; y += rows) {
        const count = Math.min(rows, height - y);
        context.clearRect(0, 0, width, rows);
        context.drawImage(bitmap, 0, y, width, count, 0, 0, width, count);
        yield { y, count, pixels: context.getImageData(0, 0, width, count).data };
      }
    },
    close: () => {},
  };
}

/**
 * A 16-bit grey PNG is stretched by the server to fill 0-255 (intake._to_rgb scales by the
 * picture's own maximum) where browsers keep the top 8 bits: the same stretch, from those 8 bits.
 */
async function greyStretch(reader, rows) {
  let top = 0;
  for await (const { count, pixels } of reader.strips(rows)) {
    for (let at = reader.order[0]; at < count * reader.width * 4; at += 4) if (pixels[at] > top) top = pixels[at];
  }
  const table = new Uint8Array(256);
  for (let v = 0; v < 256; v++) table[v] = top > 0 ? Math.min(255, Math.trunc((v * 255) / top)) : v;
  return (pixels, count) => {
    for (let at = 0; at < count * reader.width * 4; at++) pixels[at] = table[pixels[at]];
  };
}

function stripRows(width, scale) {
  const rows = Math.max(1, Math.floor(STRIP_BYTES / (width * 4)));
  return Math.max(scale, rows - (rows % scale));
}

/**
 * Every row of the stored picture's luma plane goes to sink.row(r, values), after
 * sink.begin({width, height, fullWidth, fullHeight, scale}) says what is coming.
 * `scaleFor(width, height)` picks the reduction once the true size is known.
 */
export async function decodeLuma(bytes, format, header, scaleFor, sink, onProgress = () => {}) {
  if (format === "JPEG" && header && header.components !== 4) {
    const scale = scaleFor(header.width, header.height);
    if (scale > 1 && (await jpegReduced(bytes, header, scale, sink))) return;
  }
  if (typeof createImageBitmap !== "function") throw new Refusal("unsupported_browser");
  let bitmap;
  try {
    bitmap = await createImageBitmap(new Blob([bytes], { type: MIME[format] }), {
      premultiplyAlpha: "none", colorSpaceConversion: "none", imageOrientation: "from-image",
    });
  } catch {
    throw new Refusal("cannot_decode"); // HEIC on most browsers, or a damaged file
  }
  let reader = null;
  try {
    reader = stripReader(bitmap);
    const { width, height, order } = reader;
    const scale = scaleFor(width, height);
    sink.begin({ width: Math.ceil(width / scale), height: Math.ceil(height / scale), fullWidth: width, fullHeight: height, scale });
    const rows = stripRows(width, scale);
    const sixteenBitGrey = format === "PNG" && header && header.bitDepth === 16 && header.colourType === 0;
    const stretch = sixteenBitGrey ? await greyStretch(reader, rows) : () => {};
    if (scale === 1) {
      const luma = new Float32Array(width);
      for await (const { y, count, pixels } of reader.strips(rows)) {
        stretch(pixels, count);
        for (let k = 0; k < count; k++) {
          floatLuma(pixels, k * width * 4, width, order, luma);
          sink.row(y + k, luma);
        }
        onProgress((y + count) / height);
      }
    } else {
      const luma = new Uint8Array(width);
      const blocks = new BlockMeans(width, height, scale, (r, means) => sink.row(r, means));
      for await (const { y, count, pixels } of reader.strips(rows)) {
        stretch(pixels, count);
        for (let k = 0; k < count; k++) {
          integerLuma(pixels, k * width * 4, width, order, luma);
          blocks.add(luma);
        }
        onProgress((y + count) / height);
      }
    }
  } finally {
    if (reader) reader.close();
    bitmap.close();
  }
}

/**
 * A big JPEG decoded at 1/2, 1/4 or 1/8 of its size by the browser's JPEG decoder (the DCT-domain
 * scaling the server's draft mode uses); false when the browser cannot, so the caller decodes in full.
 */
async function jpegReduced(bytes, header, scale, sink) {
  if (typeof ImageDecoder !== "function") return false;
  try {
    if (!(await ImageDecoder.isTypeSupported("image/jpeg"))) return false;
  } catch {
    return false;
  }
  const draft = Math.min(scale, JPEG_MAX_DRAFT);
  const width = Math.ceil(header.width / draft);
  const height = Math.ceil(header.height / draft);
  // With Y in the first channel the decode is the server's luma to the level; without (grey or RGB
  // JPEGs) there is no colour conversion to lose anything in, and Pillow's luma of RGB is exact.
  const marked = lumaFirst(bytes);
  let frame;
  try {
    const decoder = new ImageDecoder({
      data: marked || bytes, type: "image/jpeg", colorSpaceConversion: "none", premultiplyAlpha: "none",
      desiredWidth: width, desiredHeight: height,
    });
    ({ image: frame } = await decoder.decode({ frameIndex: 0 }));
    decoder.close();
  } catch {
    return false;
  }
  try {
    const rect = frame.visibleRect;
    if (rect.width !== width || rect.height !== height) return false;
    const plane = new Uint8Array(width * height);
    if (YUV_FORMATS.has(frame.format) && !marked) {
      // A JPEG's Y is full-range luma: what the server's decoder hands back in "L" mode. (A marked
      // copy is RGB to the decoder: planes made from it would not hold Y, so they are not used.)
      const all = new Uint8Array(frame.allocationSize());
      const [{ offset, stride }] = await frame.copyTo(all);
      for (let y = 0; y < height; y++) {
        const start = offset + y * stride;
        plane.set(all.subarray(start, start + width), y * width);
      }
    } else if (RGB_ORDER[frame.format]) {
      const pixels = new Uint8Array(width * height * 4);
      await frame.copyTo(pixels, { rect, layout: [{ offset: 0, stride: width * 4 }] });
      const order = RGB_ORDER[frame.format];
      if (marked) {
        for (let y = 0, at = order[0]; y < height * width; y++, at += 4) plane[y] = pixels[at];
      } else {
        const row = new Uint8Array(width);
        for (let y = 0; y < height; y++) {
          integerLuma(pixels, y * width * 4, width, order, row);
          plane.set(row, y * width);
        }
      }
    } else {
      return false;
    }
    const further = scale / draft;
    sink.begin({
      width: Math.ceil(width / further), height: Math.ceil(height / further),
      fullWidth: header.width, fullHeight: header.height, scale,
    });
    if (further === 1) {
      for (let y = 0; y < height; y++) sink.row(y, plane.subarray(y * width, (y + 1) * width));
    } else {
      const blocks = new BlockMeans(width, height, further, (r, means) => sink.row(r, means));
      for (let y = 0; y < height; y++) blocks.add(plane.subarray(y * width, (y + 1) * width));
    }
    return true;
  } finally {
    frame.close();
  }
}
