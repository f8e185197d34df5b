/** The upload panel of the report step: choose or drop images or videos, one request each with progress, cancel and retry. */

const PARALLEL = 2;
// Pictures, and the videos phones record (MP4, MOV, WebM, 3GP); the server checks what each file really is.
const ACCEPT = "image/*,.heic,.heif,video/mp4,video/quicktime,video/webm,video/3gpp,.mp4,.mov,.m4v,.webm,.3gp";

function isVideo(file) {
  return /^video\//.test(file.type || "") || /\.(mp4|mov|m4v|webm|3gp)$/i.test(file.name || "");
}
const NETWORK_MESSAGE = "That file didn't send because the connection dropped. Tap Try again.";
const BUSY_MESSAGE = "Please wait until your images have finished sending.";

function el(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined && text !== null) node.textContent = String(text);
  return node;
}

function csrfToken() {
  const meta = document.querySelector('meta[name="csrf-token"]');
  return meta ? meta.content : "";
}

function megabytes(bytes) {
  return `${Math.max(1, Math.round(bytes / (1024 * 1024)))} MB`;
}

/**
 * One chosen file. The preview comes from the file on this device (an object URL), never
 * from the server: Haven does not send images back.
 */
class Item {
  constructor(panel, file, number) {
    this.panel = panel;
    this.file = file;
    this.xhr = null;
    this.state = "queued";
    this.video = isVideo(file);
    this.previewUrl = this.video ? "" : URL.createObjectURL(file);

    this.node = el("li", "upload__item");
    this.node.dataset.state = "queued";
    // A video is never played here (no sound, nothing moving by itself): it is named, not shown.
    const preview = this.video ? el("span", "upload__nopreview", "Video") : el("img", "upload__preview");
    if (!this.video) {
      preview.alt = `Preview of image ${number}, only on your device`;
      preview.src = this.previewUrl;
      // Some phones' formats (HEIC) have no preview in the browser: say so rather than show a broken icon.
      preview.addEventListener("error", () => preview.replaceWith(el("span", "upload__nopreview", "No preview")));
    }
    const body = el("div", "upload__body");
    this.name = el("p", "upload__name", file.name || `Image ${number}`);
    this.progress = el("progress", "upload__progress");
    this.progress.max = 100;
    this.progress.value = 0;
    this.progress.setAttribute("aria-label", `Sending ${file.name || `image ${number}`}`);
    this.status = el("p", "upload__state", "Waiting…");
    const actions = el("div", "upload__actions");
    this.cancelButton = el("button", "button button--link upload__cancel", "Cancel");
    this.cancelButton.type = "button";
    this.cancelButton.setAttribute("aria-label", `Cancel ${file.name || `image ${number}`}`);
    this.cancelButton.addEventListener("click", () => this.cancel());
    this.retryButton = el("button", "button button--link upload__retry", "Try again");
    this.retryButton.type = "button";
    this.retryButton.setAttribute("aria-label", `Try sending ${file.name || `image ${number}`} again`);
    this.retryButton.hidden = true;
    this.retryButton.addEventListener("click", () => this.retry());
    actions.append(this.cancelButton, this.retryButton);
    body.append(this.name, this.progress, this.status, actions);
    this.node.append(preview, body);
  }

  get active() {
    return this.state === "queued" || this.state === "sending";
  }

  setState(state, message) {
    this.state = state;
    this.node.dataset.state = state;
    if (message !== undefined) this.status.textContent = message;
    this.cancelButton.hidden = !this.active;
    this.retryButton.hidden = !(state === "failed" || state === "cancelled");
    if (state === "done") this.progress.value = 100;
    this.panel.changed();
  }

  async start() {
    const attempt = (this.attempt = (this.attempt || 0) + 1);
    this.setState("sending", "Sending…");
    let link;
    try {
      link = await this.panel.requestLink();
    } catch (error) {
      if (attempt === this.attempt && this.state === "sending") this.setState("failed", error.message || NETWORK_MESSAGE);
      return;
    }
    // Cancelled (or cancelled and retried) while we waited for the address.
    if (this.state !== "sending" || attempt !== this.attempt) return;
    const cap = this.video ? link.max_video_bytes : link.max_file_bytes;
    if (typeof cap === "number" && cap > 0 && this.file.size > cap) {
      this.setState("failed", this.video
        ? `That video is bigger than ${megabytes(cap)}, which is the most we can take for one video. ` +
          "Please send a shorter clip of the part you want removed."
        : `That file is bigger than ${megabytes(cap)}, which is the most we can take for one picture. ` +
          "Please try a smaller copy, such as a screenshot.");
      return;
    }
    await new Promise((resolve) => this.#send(link.url, resolve));
  }

  #send(url, resolve) {
    const xhr = new XMLHttpRequest();
    this.xhr = xhr;
    xhr.open("POST", url);
    xhr.responseType = "json";
    xhr.setRequestHeader("X-CSRF-Token", csrfToken());
    xhr.setRequestHeader("Accept", "application/json");
    xhr.upload.addEventListener("progress", (event) => {
      if (!event.lengthComputable) return;
      const percent = Math.min(99, Math.floor((event.loaded / event.total) * 100));
      this.progress.value = percent;
      this.status.textContent = `Sending… ${percent}%`;
    });
    xhr.addEventListener("load", () => {
      this.xhr = null;
      const body = xhr.response && typeof xhr.response === "object" ? xhr.response : null;
      const result = body && Array.isArray(body.results) && body.results.length ? body.results[0] : null;
      if (xhr.status === 200 && result && result.ok) {
        this.setState("done", result.message || "Received.");
        if (typeof body.received === "number") this.panel.setReceived(body.received);
      } else {
        const error = (result && result.error) || (body && body.error) || {};
        this.setState("failed", error.message || "That file didn't send. Please try again.");
      }
      resolve();
    });
    xhr.addEventListener("error", () => {
      this.xhr = null;
      this.setState("failed", NETWORK_MESSAGE);
      resolve();
    });
    xhr.addEventListener("abort", () => {
      this.xhr = null;
      this.setState("cancelled", "Cancelled. Nothing from this file was kept.");
      resolve();
    });
    const form = new FormData();
    form.append("file", this.file, this.file.name || "image");
    xhr.send(form);
  }

  cancel() {
    if (this.xhr) {
      this.xhr.abort();
    } else if (this.active) {
      this.setState("cancelled", "Cancelled.");
    }
  }

  retry() {
    this.progress.value = 0;
    this.setState("queued", "Waiting…");
    this.panel.pump();
  }

  dispose() {
    if (this.xhr) this.xhr.abort();
    if (this.previewUrl) URL.revokeObjectURL(this.previewUrl);
  }
}

/**
 * The panel shown while the chat is in the upload step.
 * requestLink(): resolves to {url, max_file_bytes, ...} from the socket's `upload_link`, or throws Error(message).
 * onDone(): the child says they've added them all.
 */
export class UploadPanel {
  constructor({ root, input, drop, list, status, done, requestLink, onDone }) {
    this.root = root;
    this.input = input;
    this.drop = drop;
    this.list = list;
    this.statusLine = status;
    this.doneButton = done;
    this.requestLink = requestLink;
    this.onDone = onDone;
    this.items = [];
    this.received = 0;
    input.accept = ACCEPT;

    input.addEventListener("change", () => {
      this.addFiles(input.files);
      // Let the same file be chosen again later (after a failure, say).
      input.value = "";
    });
    drop.addEventListener("dragover", (event) => {
      event.preventDefault();
      drop.dataset.over = "true";
    });
    drop.addEventListener("dragleave", () => delete drop.dataset.over);
    drop.addEventListener("drop", (event) => {
      event.preventDefault();
      delete drop.dataset.over;
      if (event.dataTransfer) this.addFiles(event.dataTransfer.files);
    });
    done.addEventListener("click", () => {
      if (this.busy) {
        this.statusLine.textContent = BUSY_MESSAGE;
        return;
      }
      this.statusLine.textContent = "";
      this.onDone();
    });
  }

  get visible() {
    return !this.root.hidden;
  }

  get busy() {
    return this.items.some((item) => item.active);
  }

  show(visible) {
    if (visible === this.visible) return;
    this.root.hidden = !visible;
    if (!visible) this.reset();
  }

  addFiles(files) {
    for (const file of Array.from(files || [])) {
      const item = new Item(this, file, this.items.length + 1);
      this.items.push(item);
      this.list.append(item.node);
    }
    this.pump();
  }

  /** Start queued items, a few at a time so one slow phone connection isn't split ten ways. */
  pump() {
    let running = this.items.filter((item) => item.state === "sending").length;
    for (const item of this.items) {
      if (running >= PARALLEL) break;
      if (item.state === "queued") {
        running += 1;
        item.start().then(() => this.pump());
      }
    }
    this.changed();
  }

  setReceived(count) {
    this.received = Math.max(this.received, count);
  }

  changed() {
    const sending = this.items.filter((item) => item.active).length;
    this.doneButton.setAttribute("aria-disabled", sending ? "true" : "false");
    if (!sending && this.statusLine.textContent === BUSY_MESSAGE) this.statusLine.textContent = "";
  }

  /** Forget everything on this device: abort requests and drop previews (quick exit, sign-out, step over). */
  reset() {
    for (const item of this.items) item.dispose();
    this.items = [];
    this.list.replaceChildren();
    this.statusLine.textContent = "";
    this.received = 0;
    this.input.value = "";
  }
}
