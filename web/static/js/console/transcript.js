// Renders a chat's transcript for staff: every message as text (never HTML), notes and whispers marked as private.
const SENDER_LABELS = { child: "Child", bot: "Haven bot", system: "Haven", counsellor: "Counsellor", supervisor: "Supervisor" };

export function messageItem(message) {
  const li = document.createElement("li");
  const sender = Object.hasOwn(SENDER_LABELS, message.sender) ? message.sender : "system";
  li.className = `msg msg--${sender}`;
  if (message.visibility === "staff") li.classList.add("msg--note");
  // A supervisor's whisper: for the counsellor only, and marked so it is never mistaken for a note.
  if (message.kind === "whisper") li.classList.add("msg--whisper");
  if (message.risk_score >= 50) li.classList.add("msg--risk");
  li.dataset.seq = String(message.seq);

  const meta = document.createElement("span");
  meta.className = "msg__meta";
  const who = message.kind === "whisper" ? `Whisper from supervisor ${message.sender_name} (the child can't see this)` :
    message.visibility === "staff" ? `Private note · ${message.sender_name}` :
    sender === "counsellor" ? message.sender_name : SENDER_LABELS[sender];
  const at = new Date(message.at);
  meta.textContent = `${who} · ${at.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" })}` +
    (message.risk_score >= 50 ? ` · risk ${message.risk_score}` : "");

  const text = document.createElement("span");
  text.className = "msg__text";
  text.textContent = message.text;
  li.append(meta, text);
  return li;
}

export class Transcript {
  constructor(list) {
    this.list = list;
    this.seqs = new Set();
  }

  clear() {
    this.list.replaceChildren();
    this.seqs.clear();
  }

  add(message) {
    if (this.seqs.has(message.seq)) return false;
    this.seqs.add(message.seq);
    const item = messageItem(message);
    const later = [...this.list.children].find((li) => Number(li.dataset.seq) > message.seq);
    this.list.insertBefore(item, later || null);
    item.scrollIntoView({ block: "nearest" });
    return true;
  }

  lastSeq() {
    return this.seqs.size ? Math.max(...this.seqs) : 0;
  }
}
