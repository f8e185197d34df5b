// Small formatting helpers shared by the dashboard's modules: durations, priorities, presence.
export const PRIORITY_WORDS = { urgent: "Urgent (high risk)", worrying: "Worrying", standard: "Standard" };
export const PRESENCE_WORDS = { available: "Available", busy: "Busy", away: "Away", offline: "Offline" };
export function duration(seconds) {
  const s = Math.max(0, Math.round(seconds));
  if (s < 60) return `${s} s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m} min ${String(s % 60).padStart(2, "0")} s`;
  return `${Math.floor(m / 60)} h ${String(m % 60).padStart(2, "0")} min`;
}

export function el(tag, text, className) {
  const node = document.createElement(tag);
  if (text !== undefined && text !== null) node.textContent = String(text);
  if (className) node.className = className;
  return node;
}

export function button(label, onClick, className = "secondary") {
  const b = el("button", label, className);
  b.type = "button";
  b.addEventListener("click", onClick);
  return b;
}
