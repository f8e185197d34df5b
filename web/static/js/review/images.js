// One card per image or video in a grid of small blurred previews: a server-made blurred greyscale preview
// first (for a video or animated picture, a contact sheet of blurred frames), the clear image or one clear
// frame only when asked. One card is open at a time (the focused one), with its facts, "seen before" links
// with the timestamps of matching frames, partners' feedback and the assessment buttons.
// Nothing plays: a video is only ever still frames, and sound is never sent.
import { imageUrl } from "./api.js";

export const VERDICTS = [
  { id: "category_a", label: "Category A", key: "a" },
  { id: "category_b", label: "Category B", key: "b" },
  { id: "category_c", label: "Category C", key: "c" },
  { id: "not_indecent", label: "Not indecent", key: "n" },
  { id: "not_a_child", label: "Not a child", key: "x" },
  { id: "cannot_tell", label: "Cannot tell", key: "?" },
];
const VERDICT_WORDS = Object.fromEntries(VERDICTS.map((v) => [v.id, v.label]));
const FEEDBACK_WORDS = { removed: "removed copies", not_found: "found no copies", disputed: "disputes it" };

function clock(seconds) {
  const whole = Math.floor(seconds);
  return `${Math.floor(whole / 60)}:${String(whole % 60).padStart(2, "0")}`;
}

function el(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

export class ImageCards {
  constructor(list, { onAssess, onError }) {
    this.list = list;
    this.onAssess = onAssess;
    this.onError = onError;
    this.urls = [];
    this.cards = [];
  }

  clear() {
    for (const url of this.urls) URL.revokeObjectURL(url);
    this.urls = [];
    this.cards = [];
    this.list.replaceChildren();
  }

  render(report, editable) {
    this.clear();
    report.images.forEach((image, index) => {
      const card = this.card(image, index, report.images.length, editable);
      this.cards.push(card);
      this.list.append(card);
      if (image.viewable) this.load(card, image.id, "preview");
    });
  }

  /** Open one card (closing the one open before): it spans the row and shows its controls. */
  open(card) {
    for (const other of this.cards) {
      const opening = other === card;
      if ((other.dataset.open === "true") !== opening) other.dataset.open = String(opening);
      other.setAttribute("aria-expanded", String(opening));
    }
  }

  card(image, index, total, editable) {
    const li = el("li", "image-card");
    li.tabIndex = 0;
    li.dataset.imageId = String(image.id);
    li.dataset.open = "false";
    const title = `Image ${index + 1} of ${total}`;
    li.setAttribute("aria-label", title);
    // Focus (keyboard, J/K) or a click opens the card; only one is open at a time.
    li.addEventListener("focusin", () => this.open(li));
    li.addEventListener("click", () => this.open(li));
    li.append(el("h3", "", title));

    const sampled = image.sampled || [];
    const moving = sampled.length > 1 || image.media === "video";
    const figure = el("figure", "image-figure");
    const img = el("img", "image-view image-view--blurred");
    img.alt = moving ? `${title}, contact sheet of blurred greyscale frames` : `${title}, blurred greyscale preview`;
    figure.append(img);
    const caption = el("figcaption", "hint", !image.viewable ? "Image destroyed: only its hashes remain"
      : moving ? `Blurred frames (${Math.min(sampled.length, 12)} of ${sampled.length}); nothing plays, no sound`
        : "Blurred preview");
    figure.append(caption);
    li.append(figure);

    if (moving) {
      li.append(this.frameList(image, sampled, title));
    } else {
      const reveal = el("button", "secondary reveal", "Show clear image (V)");
      reveal.type = "button";
      reveal.disabled = !image.viewable;
      reveal.addEventListener("click", () => this.reveal(li));
      li.append(reveal);
    }

    const facts = el("p", "image-facts");
    const bits = image.media === "video"
      ? [`video (${image.format}, ${(image.codec || "").toUpperCase()}), ${image.width}×${image.height}`,
        `${clock(image.duration || 0)} long`, `${Math.ceil(image.byte_size / 1024)} KB`,
        `${sampled.length} frames hashed`]
      : [`${image.format}, ${image.width}×${image.height}`, `${Math.ceil(image.byte_size / 1024)} KB`];
    if (image.media !== "video" && image.frames > 1) {
      bits.push(`moving picture, ${image.frames} frames (${sampled.length} hashed)`);
    }
    if (image.pdq_quality !== null && image.pdq_quality !== undefined) {
      bits.push(`PDQ quality ${image.pdq_quality}${image.pdq_quality < 50 ? " (low: matching is unreliable)" : ""}`);
    }
    facts.textContent = bits.join(" · ");
    li.append(facts);

    if (image.seen_before.length) {
      const seen = el("ul", "seen-before");
      seen.setAttribute("aria-label", "Seen before");
      for (const item of image.seen_before) {
        const where = item.source === "report" ? `report ${item.ref}` : `hash list entry ${item.ref}`;
        const verdict = item.verdict ? `, ${VERDICT_WORDS[item.verdict] || item.verdict}` : "";
        let frames = "";
        if (item.frames && item.frames.length) {
          const times = item.frames.slice(0, 8).map(clock).join(", ") + (item.frames.length > 8 ? "…" : "");
          frames = moving ? `; frames at ${times} match` : `; matches its frames at ${times}`;
        }
        const shares = item.query_percent !== null && item.query_percent !== undefined
          ? `; ${item.query_percent}% of this, ${item.other_percent}% of that` : "";
        seen.append(el("li", "", `Seen before: ${where} (distance ${item.distance}${verdict}${frames}${shares})`));
      }
      li.append(seen);
    }
    if (image.hash_entry) {
      const entry = image.hash_entry;
      li.append(el("p", "hash-entry",
        `On the hash list as ${entry.id} (category ${entry.category})${entry.active ? "" : ", withdrawn"}`));
      if (image.feedback.length) {
        const feedback = el("ul", "feedback");
        feedback.setAttribute("aria-label", "Partner feedback");
        for (const item of image.feedback) {
          const note = item.note ? `: ${item.note}` : "";
          feedback.append(el("li", "", `${item.partner} ${FEEDBACK_WORDS[item.verdict] || item.verdict}${note}`));
        }
        li.append(feedback);
      }
    }

    const group = el("div", "verdicts");
    group.setAttribute("role", "group");
    group.setAttribute("aria-label", `Assessment of ${title.toLowerCase()}`);
    for (const verdict of VERDICTS) {
      const button = el("button", "verdict", `${verdict.label} (${verdict.key.toUpperCase()})`);
      button.type = "button";
      button.dataset.verdict = verdict.id;
      button.setAttribute("aria-pressed", String(image.verdict === verdict.id));
      button.disabled = !editable;
      button.addEventListener("click", () => this.onAssess(image.id, verdict.id));
      group.append(button);
    }
    li.append(group);
    li.append(el("p", "verdict-line", image.verdict ? `Assessed: ${VERDICT_WORDS[image.verdict]}` : "Not assessed yet"));
    return li;
  }

  /** The sampled frames as buttons, frames that match the list or another report marked; each reveals one frame. */
  frameList(image, sampled, title) {
    const matching = new Set();
    for (const item of image.seen_before) for (const at of item.frames || []) matching.add(Math.round(at * 1000));
    const box = el("div", "frames");
    const list = el("ol", "frame-list");
    list.setAttribute("aria-label", `Frames of ${title.toLowerCase()}: choose one to see it clear`);
    const view = el("img", "image-view frame-view");
    view.hidden = true;
    const label = el("p", "hint frame-label");
    for (const frame of sampled) {
      const hit = matching.has(Math.round(frame.timestamp * 1000));
      const button = el("button", hit ? "secondary frame frame--match" : "secondary frame",
        `${clock(frame.timestamp)}${hit ? " (matches)" : ""}`);
      button.type = "button";
      button.disabled = !image.viewable;
      button.setAttribute("aria-label", `Show the frame at ${clock(frame.timestamp)} clear${hit ? "; it matches" : ""}`);
      button.addEventListener("click", () => this.revealFrame(image.id, frame, view, label));
      const item = el("li");
      item.append(button);
      list.append(item);
    }
    box.append(list, label, view);
    return box;
  }

  async revealFrame(imageId, frame, view, label) {
    try {
      const url = await imageUrl(imageId, "reveal", frame.position);
      this.urls.push(url);
      view.src = url;
      view.alt = `Frame at ${clock(frame.timestamp)}, clear`;
      view.hidden = false;
      label.textContent = `Frame at ${clock(frame.timestamp)}, clear`;
    } catch (error) {
      this.onError(error);
    }
  }

  async load(card, imageId, kind) {
    const img = card.querySelector("img");
    try {
      const url = await imageUrl(imageId, kind);
      this.urls.push(url);
      img.src = url;
    } catch (error) {
      this.onError(error);
    }
  }

  async reveal(card) {
    const img = card.querySelector("img");
    const button = card.querySelector("button.reveal");
    if (!button || !img.classList.contains("image-view--blurred")) return;
    button.disabled = true;
    await this.load(card, Number(card.dataset.imageId), "reveal");
    img.classList.remove("image-view--blurred");
    img.alt = `${card.getAttribute("aria-label")}, clear image`;
    card.querySelector("figcaption").textContent = "Clear image";
    button.textContent = "Clear image shown";
  }

  focused() {
    return document.activeElement && document.activeElement.closest ? document.activeElement.closest(".image-card") : null;
  }

  move(step) {
    if (!this.cards.length) return;
    const at = this.cards.indexOf(this.focused());
    const next = at < 0 ? 0 : Math.min(this.cards.length - 1, Math.max(0, at + step));
    this.cards[next].focus();
  }
}
