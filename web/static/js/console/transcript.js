// Renders a chat's transcript for staff: every message as text (never HTML), notes and whispers marked as private.
// The list scrolls on its own and follows new messages unless the reader has scrolled up.
import { clock } from "../common.js";

const FOLLOW_SLACK_PX = 60;
const SENDER_LABELS = { child: "Child", bot: "Haven bot", system: "Haven", counsellor: "Counsellor", supervisor: "Supervisor" };

export function messageItem(message, vocabulary, flagged = false) {
  const li = document.createElement("li");
  const sender = Object.hasOwn(SENDER_LABELS, message.sender) ? message.sender : "system";
  li.className = `msg msg--${sender}`;
  if (message.visibility === "staff") li.classList.add("msg--note");
  // A supervisor's whisper: for the counsellor only, and marked so it is never mistaken for a note.
  if (message.kind === "whisper") li.classList.add("msg--whisper");
  // The server's thresholds decide the level; without them, the messages the server flagged still stand out.
  const level = (vocabulary ? vocabulary.riskLevel(message.risk_score) : "") || (flagged ? "flagged" : "");
  if (level) li.classList.add("msg--risk");
  li.dataset.seq = String(message.seq);

  const meta = document.createElement("span");
  meta.className = "msg__meta";
  const who = message.kind === "whisper" ? `Whisper from supervisor ${message.sender_name} (the child can't see this)` :
    message.visibility === "staff" ? `Private note · ${message.sender_name}` :
    sender === "counsellor" ? message.sender_name : SENDER_LABELS[sender];
  meta.textContent = `${who} · ${clock(message.at)}` + (level ? ` · ${level} risk (${message.risk_score})` : "");

  const text = document.createElement("span");
  text.className = "msg__text";
  text.textContent = message.text;
  li.append(meta, text);
  return li;
}

export class Transcript {
  constructor(list, vocabulary = null) {
    this.list = list;
    this.vocabulary = vocabulary;
    this.seqs = new Set();
    this.flagged = new Set();
  }

  /** The seqs the server flagged as risky (ChatDetail.risk_flags). */
  setFlags(flags) {
    this.flagged = new Set((flags || []).map((f) => f.seq));
  }

  clear() {
    this.list.replaceChildren();
    this.seqs.clear();
  }

  add(message) {
    if (this.seqs.has(message.seq)) return false;
    this.seqs.add(message.seq);
    const list = this.list;
    const following = list.scrollHeight - list.scrollTop - list.clientHeight <= FOLLOW_SLACK_PX;
    const item = messageItem(message, this.vocabulary, this.flagged.has(message.seq));
    const later = [...list.children].find((li) => Number(li.dataset.seq) > message.seq);
    list.insertBefore(item, later || null);
    if (following && !later) list.scrollTop = list.scrollHeight;
    return true;
  }

  toEnd() {
    this.list.scrollTop = this.list.scrollHeight;
  }

  lastSeq() {
    return this.seqs.size ? Math.max(...this.seqs) : 0;
  }
}
