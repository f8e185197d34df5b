/**
 * Fingerprint a picture or video on the child's own device, so only its hashes need leave it:
 * the page-side API the chat widget calls. The work runs in a Web Worker (worker.js), one file at
 * a time, so the chat stays responsive and a phone never decodes two big photos at once.
 *
 *   import { fingerprintFile, FingerprintError } from "/static/chat/fingerprint/index.js";
 *   const controller = new AbortController();
 *   const print = await fingerprintFile(file, { signal: controller.signal,
 *     onProgress: ({ stage, fraction }) => ..., maxBytes, maxPixels, maxVideoBytes });
 *
 * The result is the fingerprint object described in docs/PROTOCOL.md ("Fingerprints"). A refusal
 * rejects with a FingerprintError whose `code` is stable and whose `message` is for the child.
 */

export const MESSAGES = Object.freeze({
  empty_file: "That file is empty, so there is nothing in it to fingerprint. Please try choosing it again.",
  too_big: "That file is too big for us to fingerprint. Please try a smaller copy, such as a screenshot.",
  not_an_image: "That file doesn't look like a photo or a video. Please choose a picture or a video.",
  unsupported_format:
    "We can't read that kind of picture yet. Please choose a JPEG, PNG, WebP, GIF or HEIC, or take a screenshot of it.",
  cannot_decode:
    "This phone can't open that picture to make its fingerprint. You can send it to our team to check instead, or try a screenshot of it.",
  unsupported_browser:
    "This browser can't make fingerprints. You can send the picture to our team to check instead, or try another browser.",
  cancelled: "Stopped. Nothing was sent.",
});

export class FingerprintError extends Error {
  constructor(code) {
    super(MESSAGES[code] || MESSAGES.cannot_decode);
    this.name = "FingerprintError";
    this.code = code in MESSAGES ? code : "cannot_decode";
  }
}

const WORKER_URL = new URL("./worker.js", import.meta.url);
const LIMITS = ["maxBytes", "maxPixels", "maxVideoBytes"];
// One worker, kept while files keep coming: a second photo skips loading the modules and finds the
// hashing code already compiled. Idle for this long, it goes, and with it any memory it held.
const IDLE_MS = 60_000;
let worker = null;
let idle = 0;
let queue = Promise.resolve();

function endWorker() {
  clearTimeout(idle);
  if (worker) worker.terminate();
  worker = null;
}

function runInWorker(file, options, onProgress, signal) {
  return new Promise((resolve, reject) => {
    clearTimeout(idle);
    try {
      worker = worker || new Worker(WORKER_URL, { type: "module" });
    } catch {
      reject(new FingerprintError("unsupported_browser"));
      return;
    }
    const current = worker;
    const finish = (settle, value, keep) => {
      current.onmessage = current.onerror = null;
      if (signal) signal.removeEventListener("abort", abort);
      if (keep) idle = setTimeout(endWorker, IDLE_MS);
      else endWorker(); // cancelled or broken: ending the worker frees the decoded picture at once
      settle(value);
    };
    const abort = () => finish(reject, new FingerprintError("cancelled"), false);
    if (signal) signal.addEventListener("abort", abort, { once: true });
    current.onmessage = ({ data }) => {
      if (data.type === "progress") {
        if (onProgress) onProgress({ stage: data.stage, fraction: data.fraction });
      } else if (data.type === "done") {
        finish(resolve, Object.freeze(data.result), true);
      } else {
        finish(reject, new FingerprintError(data.code), true);
      }
    };
    current.onerror = (event) => {
      // The worker's modules did not load or run here (an old browser).
      event.preventDefault();
      finish(reject, new FingerprintError("unsupported_browser"), false);
    };
    current.postMessage({ file, options });
  });
}

/**
 * Fingerprint one File (or Blob). Resolves to the fingerprint object; rejects with a
 * FingerprintError (codes in MESSAGES). `signal` cancels, even while waiting its turn.
 */
export function fingerprintFile(file, { onProgress, signal, ...rest } = {}) {
  const options = Object.fromEntries(LIMITS.filter((key) => rest[key] != null).map((key) => [key, rest[key]]));
  const turn = queue.then(() => {
    if (signal && signal.aborted) throw new FingerprintError("cancelled");
    return runInWorker(file, options, onProgress, signal);
  });
  queue = turn.catch(() => {});
  if (!signal) return turn;
  return new Promise((resolve, reject) => {
    const abort = () => reject(new FingerprintError("cancelled"));
    if (signal.aborted) abort();
    signal.addEventListener("abort", abort, { once: true });
    turn.then(resolve, reject).finally(() => signal.removeEventListener("abort", abort));
  });
}
