/** The visible transcript: message bubbles, delivery status, quick replies and banners. Text only via textContent. */

const TIME_FORMAT = new Intl.DateTimeFormat("en-GB", { hour: "2-digit", minute: "2-digit", hourCycle: "h23" });
const SAFE_LINK_PROTOCOLS = new Set(["https:", "http:", "tel:"]);
const STATUS_LABELS = { sending: "Sending…", sent: "Sent", delivered: "Delivered", read: "Read" };

function el(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined && text !== null) node.textContent = String(text);
  return node;
}

function senderLabel(message) {
  switch (message.sender) {
    case "child":
      return "You";
    case "bot":
      return "Haven";
    case "counsellor":
      return message.sender_name || "Counsellor";
    default:
      return "Haven";
  }
}

function safeHref(raw) {
  try {
    const url = new URL(String(raw), window.location.href);
    return SAFE_LINK_PROTOCOLS.has(url.protocol) ? url.href : null;
  } catch {
    return null;
  }
}

function formatTime(iso) {
  const date = iso ? new Date(iso) : new Date();
  return Number.isNaN(date.getTime()) ? "" : TIME_FORMAT.format(date);
}

// How close to the end counts as "at the end" (a line or so of slack).
const END_SLACK_PX = 48;
// Messages arriving within this long of each other are one burst (a reply and what follows it).
const BURST_GAP_MS = 2500;
// Space kept above the start of a burst that is taller than the view.
const BURST_MARGIN_PX = 8;
// A burst that opens with a message this long (an outcome, say) is read from its first line; short ones
// ("Got it: 2 images received") just follow the newest.
const LONG_MESSAGE_CHARS = 160;

export class Transcript {
  /**
   * `onUnseenChange(unseen)` hears when there is something new below what the child can see (for the
   * "new messages" pill), and when there no longer is.
   */
  constructor({ list, scroller, onUnseenChange = () => {} }) {
    this.list = list;
    this.scroller = scroller;
    this.onUnseenChange = onUnseenChange;
    this.bySeq = new Map();
    this.byClientId = new Map();
    this.readSeq = 0;
    // Whether the view follows new messages. Only the child moving *up* turns it off, and reaching the end
    // turns it back on: our own moves only ever go down, and the browser clamping the scroll when the view
    // grows lands on the end, so neither can be mistaken for the child scrolling away.
    this.following = true;
    this.unseen = false;
    this.lastTop = 0;
    // The first message of the newest burst: when a burst is taller than the view, its start stays in view
    // (the child reads an outcome from its first line, not from its last).
    this.burstStart = null;
    this.lastArrival = 0;
    scroller.addEventListener("scroll", () => this.#scrolled(), { passive: true });
    if (typeof ResizeObserver === "function") {
      // The view shrinking (keyboard, upload sheet, options) or the list growing keeps the newest in view.
      const keep = new ResizeObserver(() => this.following && this.#follow());
      keep.observe(scroller);
      keep.observe(list);
    }
  }

  #setUnseen(unseen) {
    if (unseen === this.unseen) return;
    this.unseen = unseen;
    this.onUnseenChange(unseen);
  }

  #scrolled() {
    const top = this.scroller.scrollTop;
    if (this.atEnd()) {
      this.following = true;
      this.burstStart = null;
      this.#setUnseen(false);
    } else if (top < this.lastTop - 1) {
      this.following = false;
    }
    this.lastTop = top;
  }

  atEnd() {
    const s = this.scroller;
    return s.scrollHeight - s.scrollTop - s.clientHeight <= END_SLACK_PX;
  }

  /** Where the newest burst starts, in the scroller's content coordinates. */
  #burstTop() {
    const node = this.burstStart;
    if (!node || !node.isConnected) return Infinity;
    const s = this.scroller;
    return node.getBoundingClientRect().top - s.getBoundingClientRect().top + s.scrollTop - BURST_MARGIN_PX;
  }

  /** Show the newest message, or the start of the newest burst if all of it does not fit. Instant on purpose. */
  #follow() {
    const s = this.scroller;
    const end = s.scrollHeight - s.clientHeight;
    const target = Math.max(0, Math.min(end, this.#burstTop()));
    if (target > s.scrollTop) s.scrollTop = target;
    this.lastTop = s.scrollTop;
    this.#setUnseen(!this.atEnd());
  }

  #noteArrival(node, text) {
    const now = Date.now();
    if (!(this.burstStart && this.burstStart.isConnected) || now - this.lastArrival > BURST_GAP_MS) {
      this.burstStart = String(text || "").length >= LONG_MESSAGE_CHARS ? node : null;
    }
    this.lastArrival = now;
  }

  get highestSeq() {
    let max = 0;
    for (const seq of this.bySeq.keys()) if (seq > max) max = seq;
    return max;
  }

  /** Highest seq of a message someone other than the child sent. */
  get highestOtherSeq() {
    let max = 0;
    for (const [seq, node] of this.bySeq) {
      const who = node.dataset.sender;
      if ((who === "bot" || who === "counsellor") && seq > max) max = seq;
    }
    return max;
  }

  clear() {
    this.list.replaceChildren();
    this.bySeq.clear();
    this.byClientId.clear();
    this.readSeq = 0;
    this.deliveredSeq = 0;
    this.following = true;
    this.burstStart = null;
    this.#setUnseen(false);
  }

  /** Show the child's own message before the server has acknowledged it. */
  addPending(clientId, text) {
    const node = this.#build({ sender: "child", text, at: new Date().toISOString(), client_id: clientId });
    node.dataset.clientId = clientId;
    this.#setStatus(node, "sending");
    this.list.append(node);
    this.byClientId.set(clientId, node);
    // The child just wrote this: always show it, and what answers it reads on from here.
    this.burstStart = node;
    this.lastArrival = Date.now();
    this.following = true;
    this.#follow();
  }

  removePending(clientId) {
    const node = this.byClientId.get(clientId);
    if (node && !node.dataset.seq) {
      node.remove();
      this.byClientId.delete(clientId);
    }
  }

  /** The server stored our message as `seq`. */
  acknowledge(clientId, seq) {
    const node = this.byClientId.get(clientId);
    if (!node || typeof seq !== "number") return;
    if (this.bySeq.has(seq) && this.bySeq.get(seq) !== node) {
      // Another copy (from `message` or `hello`) got there first.
      node.remove();
      this.byClientId.delete(clientId);
      return;
    }
    this.#place(node, seq);
    this.refreshStatuses();
  }

  /** Add messages from the server, skipping any seq already shown. Returns the number added. */
  addMessages(messages) {
    let added = 0;
    for (const message of messages) {
      if (!message || typeof message.seq !== "number" || this.bySeq.has(message.seq)) continue;
      const pending = message.client_id ? this.byClientId.get(message.client_id) : null;
      if (pending && !pending.dataset.seq) {
        this.#place(pending, message.seq);
        continue;
      }
      const node = this.#build(message);
      if (message.client_id) this.byClientId.set(message.client_id, node);
      this.#place(node, message.seq);
      if (!node.nextElementSibling || !node.nextElementSibling.dataset.seq) this.#noteArrival(node, message.text);
      added += 1;
    }
    this.refreshStatuses();
    if (added) this.#arrived();
    return added;
  }

  setReadSeq(seq) {
    if (typeof seq === "number" && seq > this.readSeq) {
      this.readSeq = seq;
      this.refreshStatuses();
    }
  }

  setDeliveredSeq(seq) {
    if (typeof seq === "number" && seq > (this.deliveredSeq || 0)) {
      this.deliveredSeq = seq;
      this.refreshStatuses();
    }
  }

  refreshStatuses() {
    const readUpTo = Math.max(this.readSeq, this.highestOtherSeq - 1);
    const deliveredUpTo = Math.max(readUpTo, this.deliveredSeq || 0);
    for (const node of this.list.querySelectorAll('.message[data-sender="child"]')) {
      const seq = Number(node.dataset.seq || 0);
      if (!seq) this.#setStatus(node, "sending");
      else if (seq <= readUpTo) this.#setStatus(node, "read");
      else this.#setStatus(node, seq <= deliveredUpTo ? "delivered" : "sent");
    }
  }

  /** Jump to the very end and follow from now on (the pill, a fresh conversation). */
  scrollToEnd() {
    const s = this.scroller;
    s.scrollTop = s.scrollHeight;
    this.lastTop = s.scrollTop;
    this.following = true;
    this.burstStart = null;
    this.#setUnseen(false);
  }

  #arrived() {
    if (this.following) this.#follow();
    else this.#setUnseen(true);
  }

  /** Put `node` in seq order; bubbles still waiting for a seq stay at the end. */
  #place(node, seq) {
    node.dataset.seq = String(seq);
    this.bySeq.set(seq, node);
    let before = null;
    for (const other of this.list.children) {
      if (other === node) continue;
      const otherSeq = Number(other.dataset.seq || 0);
      if (!otherSeq || otherSeq > seq) {
        before = other;
        break;
      }
    }
    if (node.nextElementSibling !== before || node.parentNode !== this.list) {
      this.list.insertBefore(node, before);
    }
  }

  #setStatus(node, status) {
    const holder = node.querySelector(".message__status");
    if (!holder || node.dataset.status === status) return;
    node.dataset.status = status;
    holder.textContent = STATUS_LABELS[status];
  }

  #build(message) {
    const sender = ["child", "bot", "counsellor", "system"].includes(message.sender) ? message.sender : "system";
    const node = el("li", `message message--${sender}`);
    node.dataset.sender = sender;

    // One line for who and when (and, for the child's own, how far it got), so short messages stay short.
    const head = el("p", "message__meta");
    head.append(el("span", "message__sender", senderLabel(message)), el("span", "message__dot", " · "));
    const time = el("time", "message__time", formatTime(message.at));
    if (message.at) time.dateTime = message.at;
    head.append(time);
    if (sender === "child") {
      head.append(el("span", "message__dot", " · "));
      head.append(el("span", "message__status"));
    }
    node.append(head, el("p", "message__text", message.text ?? ""));

    if (Array.isArray(message.links) && message.links.length) {
      const links = el("ul", "message__links");
      for (const link of message.links) {
        const href = link && safeHref(link.url);
        if (!href) continue;
        const a = el("a", "message__link", link.label || href);
        a.href = href;
        a.target = "_blank";
        a.rel = "noopener noreferrer";
        const item = el("li");
        item.append(a);
        links.append(item);
      }
      if (links.childElementCount) node.append(links);
    }

    return node;
  }
}

// Up to this many short options share one row; more become a two-column sheet.
const ROW_MAX = 3;
const ROW_LABEL_CHARS = 34;

/** Quick-reply buttons: real <button>s, one per option, in a row when few and short, a sheet when many. */
export function renderOptions(container, options, onChoose) {
  container.replaceChildren();
  const usable = Array.isArray(options) ? options.filter((o) => o && o.id && o.label) : [];
  for (const option of usable) {
    const button = el("button", "quick-reply", option.label);
    button.type = "button";
    button.dataset.option = option.id;
    button.addEventListener("click", () => onChoose(option));
    container.append(button);
  }
  const letters = usable.reduce((n, o) => n + String(o.label).length, 0);
  container.dataset.layout = usable.length <= ROW_MAX && letters <= ROW_LABEL_CHARS ? "row" : "sheet";
  container.hidden = usable.length === 0;
}

export function setBanner(node, text) {
  node.textContent = text || "";
}
