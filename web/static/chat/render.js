/** The visible transcript: message bubbles, delivery status, quick replies and banners. Text only via textContent. */

const TIME_FORMAT = new Intl.DateTimeFormat("en-GB", { hour: "2-digit", minute: "2-digit" });
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

export class Transcript {
  constructor({ list, scroller }) {
    this.list = list;
    this.scroller = scroller;
    this.bySeq = new Map();
    this.byClientId = new Map();
    this.readSeq = 0;
    this.stuck = true;
    // Keep the newest message in view when the panel or the phone keyboard resizes the list.
    scroller.addEventListener("scroll", () => (this.stuck = this.#nearBottom()), { passive: true });
    if (typeof ResizeObserver === "function") {
      new ResizeObserver(() => this.stuck && this.scrollToEnd()).observe(scroller);
    }
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
  }

  /** Show the child's own message before the server has acknowledged it. */
  addPending(clientId, text) {
    const node = this.#build({ sender: "child", text, at: new Date().toISOString(), client_id: clientId });
    node.dataset.clientId = clientId;
    this.#setStatus(node, "sending");
    const stick = this.#nearBottom();
    this.list.append(node);
    this.byClientId.set(clientId, node);
    if (stick) this.scrollToEnd();
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
    const stick = this.#nearBottom();
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
      added += 1;
    }
    this.refreshStatuses();
    if (stick && added) this.scrollToEnd();
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

  scrollToEnd() {
    this.scroller.scrollTop = this.scroller.scrollHeight;
    this.stuck = true;
  }

  #nearBottom() {
    const s = this.scroller;
    return s.scrollHeight - s.scrollTop - s.clientHeight < 80;
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

    const name = el("p", "message__sender", senderLabel(message));
    const text = el("p", "message__text", message.text ?? "");
    node.append(name, text);

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

    const meta = el("p", "message__meta");
    const time = el("time", "message__time", formatTime(message.at));
    if (message.at) time.dateTime = message.at;
    meta.append(time);
    if (sender === "child") {
      meta.append(el("span", "message__dot", " · "));
      meta.append(el("span", "message__status"));
    }
    node.append(meta);
    return node;
  }
}

/** Quick-reply buttons: real <button>s, one per option. */
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
  container.hidden = usable.length === 0;
}

export function setBanner(node, text) {
  node.textContent = text || "";
}
