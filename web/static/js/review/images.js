// One card per image in a grid of small blurred previews: a server-made blurred greyscale preview first, the
// clear image only when asked. One card is open at a time (the focused one), with its facts, "seen before"
// links, hash-list feedback from partners and the assessment buttons.
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

    const figure = el("figure", "image-figure");
    const img = el("img", "image-view image-view--blurred");
    img.alt = `${title}, blurred greyscale preview`;
    figure.append(img);
    const caption = el("figcaption", "hint", image.viewable ? "Blurred preview" : "Image destroyed: only its hashes remain");
    figure.append(caption);
    li.append(figure);

    const reveal = el("button", "secondary reveal", "Show clear image (V)");
    reveal.type = "button";
    reveal.disabled = !image.viewable;
    reveal.addEventListener("click", () => this.reveal(li));
    li.append(reveal);

    const facts = el("p", "image-facts");
    const bits = [`${image.format}, ${image.width}×${image.height}`, `${Math.ceil(image.byte_size / 1024)} KB`];
    if (image.frames > 1) bits.push(`moving picture, ${image.frames} frames`);
    bits.push(`PDQ quality ${image.pdq_quality}${image.pdq_quality < 50 ? " (low: matching is unreliable)" : ""}`);
    facts.textContent = bits.join(" · ");
    li.append(facts);

    if (image.seen_before.length) {
      const seen = el("ul", "seen-before");
      seen.setAttribute("aria-label", "Seen before");
      for (const item of image.seen_before) {
        const where = item.source === "report" ? `report ${item.ref}` : `hash list entry ${item.ref}`;
        const verdict = item.verdict ? `, ${VERDICT_WORDS[item.verdict] || item.verdict}` : "";
        seen.append(el("li", "", `Seen before: ${where} (distance ${item.distance}${verdict})`));
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
    if (!img.classList.contains("image-view--blurred")) return;
    const button = card.querySelector("button.reveal");
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
