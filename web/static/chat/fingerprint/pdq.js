/**
 * PDQ (Meta's perceptual hash) of a picture fed one row at a time, computed the way Haven's server
 * computes it (bot/images/hashing.py), so a fingerprint made on a phone matches the checked route.
 *
 * PDQ blurs the luma with two passes of box filters about 1/128 of each side wide and keeps the
 * blurred value at 64 x 64 points (ThreatExchange pdq/cpp/downscaling). Each of those values is a
 * fixed weighted sum of the input, separable by rows and columns, so the picture never has to be
 * held whole: each row is folded into a 64 x 64 sum as it arrives. For a picture shrunk `scale`
 * times (block means), the weights of the full-size pixels are summed per block, exactly as
 * PDQ.hash_from_reduced_luma does; with scale 1 they are PDQ's own filter. EXIF orientation is
 * folded into the weights too (a flip reverses them, a quarter turn swaps rows and columns), so the
 * pixels stay as stored. The 16 x 16 DCT, the median cut and the quality score then follow
 * pdq/cpp/hashing/pdqhashing.cpp operation for operation in 32-bit floats.
 */

const GRID = 64;
const MIN_HASHABLE_DIM = 5; // pdqhashing.cpp: smaller pictures get the all-zero hash, quality 0
const f32 = Math.fround;

/**
 * PDQ's blur-and-sample along one side of `full` pixels, as weights on `reduced` block means of
 * `scale` pixels each: 64 sparse rows {lo, values}. Follows bot/images/hashing.py
 * _pdq_sampling_weights: window (full + 127) // 128, each output the mean of the inputs from
 * o + half - window to o + half - 1 clipped at the edges, half = (window + 2) // 2, two passes,
 * sampled at int((i + 0.5) * full / 64); pixels past reduced * scale are dropped.
 */
export function samplingWeights(full, reduced, scale) {
  const window = Math.floor((full + 2 * GRID - 1) / (2 * GRID));
  const half = Math.floor((window + 2) / 2);
  const low = (m) => Math.max(0, m + half - window);
  const high = (m) => Math.min(full - 1, m + half - 1);
  const kept = Math.min(full, reduced * scale);
  const rows = [];
  for (let i = 0; i < GRID; i++) {
    const sample = Math.floor(((i + 0.5) * full) / GRID);
    const firstLo = low(sample);
    const firstHi = high(sample);
    const spanLo = low(firstLo);
    const spanHi = high(firstHi);
    const pixels = new Float64Array(spanHi - spanLo + 1);
    for (let m = firstLo; m <= firstHi; m++) {
      const share = 1 / (high(m) - low(m) + 1);
      for (let p = low(m); p <= high(m); p++) pixels[p - spanLo] += share;
    }
    const count = firstHi - firstLo + 1;
    const blockLo = Math.floor(spanLo / scale);
    const blockHi = Math.min(reduced - 1, Math.floor(Math.min(spanHi, kept - 1) / scale));
    const values = new Float64Array(Math.max(0, blockHi - blockLo + 1));
    for (let p = spanLo; p <= Math.min(spanHi, kept - 1); p++) {
      values[Math.floor(p / scale) - blockLo] += pixels[p - spanLo] / count;
    }
    rows.push({ lo: blockLo, values });
  }
  return rows;
}

function reversed(rows, length) {
  return rows.map(({ lo, values }) => ({ lo: length - (lo + values.length), values: values.slice().reverse() }));
}

/** For each index 0..length-1, the grid lines whose weights reach it: [[line, weight], ...]. */
function invert(rows, length) {
  const byIndex = Array.from({ length }, () => []);
  rows.forEach(({ lo, values }, line) => {
    for (let k = 0; k < values.length; k++) if (values[k] !== 0) byIndex[lo + k].push(line, values[k]);
  });
  return byIndex;
}

// Where stored row r and column c land in the upright picture, per EXIF orientation (the table
// ImageOps.exif_transpose uses): whether rows and columns swap, and which axes run backwards.
const ORIENTATIONS = {
  1: { swap: false, flipRows: false, flipCols: false },
  2: { swap: false, flipRows: false, flipCols: true },
  3: { swap: false, flipRows: true, flipCols: true },
  4: { swap: false, flipRows: true, flipCols: false },
  5: { swap: true, flipRows: false, flipCols: false },
  6: { swap: true, flipRows: true, flipCols: false },
  7: { swap: true, flipRows: true, flipCols: true },
  8: { swap: true, flipRows: false, flipCols: true },
};

/**
 * Folds rows of a stored luma plane (width x height values, block means when scale > 1) into the
 * 64 x 64 grid PDQ samples from the picture shown upright under `orientation`.
 * `fullWidth` and `fullHeight` are the stored picture's size before any shrinking.
 */
export class PdqAccumulator {
  constructor({ width, height, fullWidth, fullHeight, scale, orientation = 1 }) {
    const { swap, flipRows, flipCols } = ORIENTATIONS[orientation] || ORIENTATIONS[1];
    this.swap = swap;
    this.scale = scale;
    this.tooSmall = fullWidth < MIN_HASHABLE_DIM || fullHeight < MIN_HASHABLE_DIM;
    // Stored rows keep their own axis (upright rows, or upright columns when turned); only the
    // direction and which grid index they feed change with the orientation.
    let alongRows = samplingWeights(fullHeight, height, scale);
    let alongCols = samplingWeights(fullWidth, width, scale);
    if (flipRows) alongRows = reversed(alongRows, height);
    if (flipCols) alongCols = reversed(alongCols, width);
    this.rowLines = invert(alongRows, height);
    this.colRows = alongCols;
    this.width = width;
    this.sums = new Float64Array(GRID * GRID);
    this.dots = new Float64Array(GRID);
  }

  /** Add stored row `r` (an array-like of `width` luma values). */
  addRow(r, values, offset = 0, step = 1) {
    const lines = this.rowLines[r];
    if (!lines || lines.length === 0) return;
    const dots = this.dots;
    for (let k = 0; k < GRID; k++) {
      const { lo, values: w } = this.colRows[k];
      let sum = 0;
      let at = offset + lo * step;
      for (let c = 0; c < w.length; c++, at += step) sum += w[c] * values[at];
      dots[k] = sum;
    }
    const sums = this.sums;
    for (let n = 0; n < lines.length; n += 2) {
      const base = lines[n] * GRID;
      const weight = lines[n + 1];
      for (let k = 0; k < GRID; k++) sums[base + k] += weight * dots[k];
    }
  }

  /** The 64 x 64 grid in upright order (row-major), as PDQ's 32-bit floats. */
  grid() {
    const out = new Float32Array(GRID * GRID);
    for (let a = 0; a < GRID; a++) {
      for (let b = 0; b < GRID; b++) {
        let value = this.sums[a * GRID + b];
        if (this.scale > 1) {
          // The server rounds the blurred grid to 8 bits before pdqhash reads it as a picture.
          value = Math.min(255, Math.max(0, roundHalfEven(f32(value))));
        }
        out[this.swap ? b * GRID + a : a * GRID + b] = value;
      }
    }
    return out;
  }

  /** {hash: 64 lowercase hex digits, quality: 0-100}. */
  digest() {
    if (this.tooSmall) return { hash: "0".repeat(64), quality: 0 };
    return hashFromGrid(this.grid());
  }
}

function roundHalfEven(x) {
  const floor = Math.floor(x);
  const diff = x - floor;
  if (diff > 0.5) return floor + 1;
  if (diff < 0.5) return floor;
  return floor % 2 === 0 ? floor : floor + 1;
}

const DCT = (() => {
  const matrix = new Float32Array(16 * GRID);
  const scaleFactor = f32(Math.sqrt(2 / GRID));
  for (let i = 0; i < 16; i++) {
    for (let j = 0; j < GRID; j++) {
      matrix[i * GRID + j] = f32(scaleFactor * Math.cos((Math.PI / 2 / GRID) * (i + 1) * (2 * j + 1)));
    }
  }
  return matrix;
})();

/** pdqImageDomainQualityMetric: how much real gradient the 64 x 64 picture has. */
export function quality(grid) {
  let sum = 0;
  for (let i = 0; i < GRID - 1; i++) {
    for (let j = 0; j < GRID; j++) {
      sum += Math.abs(Math.trunc(f32(f32(f32(grid[i * GRID + j] - grid[(i + 1) * GRID + j]) * 100) / 255)));
    }
  }
  for (let i = 0; i < GRID; i++) {
    for (let j = 0; j < GRID - 1; j++) {
      sum += Math.abs(Math.trunc(f32(f32(f32(grid[i * GRID + j] - grid[i * GRID + j + 1]) * 100) / 255)));
    }
  }
  return Math.min(100, Math.trunc(sum / 90));
}

/** dct64To16, the median cut and ThreatExchange's hex order (bit 255 first). */
export function hashFromGrid(grid) {
  const partial = new Float32Array(16 * GRID);
  for (let i = 0; i < 16; i++) {
    for (let j = 0; j < GRID; j++) {
      let sum = 0;
      for (let k = 0; k < GRID; k++) sum = f32(sum + f32(DCT[i * GRID + k] * grid[k * GRID + j]));
      partial[i * GRID + j] = sum;
    }
  }
  const coefficients = new Float32Array(256);
  for (let i = 0; i < 16; i++) {
    for (let j = 0; j < 16; j++) {
      let sum = 0;
      for (let k = 0; k < GRID; k++) sum = f32(sum + f32(partial[i * GRID + k] * DCT[j * GRID + k]));
      coefficients[i * 16 + j] = sum;
    }
  }
  // Torben's median as pdqhashing.cpp uses it picks the 128th smallest of the 256.
  const median = coefficients.slice().sort()[127];
  let hex = "";
  for (let top = 255; top >= 0; top -= 4) {
    let nibble = 0;
    for (let bit = top; bit > top - 4; bit--) nibble = (nibble << 1) | (coefficients[bit] > median ? 1 : 0);
    hex += nibble.toString(16);
  }
  return { hash: hex, quality: quality(grid) };
}
