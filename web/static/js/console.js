// The counsellor console: status, "Take next", my chats with unread counts, transcript, replies, notes, typing,
// canned responses, the child's earlier chats, handoffs and the wrap-up form. Everything goes through the
// /counsellor socket; the words for states and the risk thresholds come from the server (hello's vocabulary).
import { Vocabulary, caller, clock, connectStaff, dayAndClock, newClientId, plural } from "./common.js";
import { Transcript } from "./console/transcript.js";
import { Canned } from "./console/canned.js";

const $ = (id) => document.getElementById(id);
const app = $("console-app");
const ui = {
  status: $("console-status"), error: $("console-error"), alerts: $("alerts"),
  statusSelect: $("status-select"), capacity: $("capacity"), waiting: $("waiting-count"), takeNext: $("take-next"),
  chatList: $("chat-list"), noChats: $("no-chats"), panel: $("chat-panel"), facts: $("facts-panel"),
  title: $("chat-title"), state: $("chat-state"), age: $("chat-age"), risk: $("chat-risk"), presence: $("chat-presence"),
  typing: $("child-typing"), work: $("chat-work"), composer: $("composer"), input: $("reply-input"),
  note: $("note-button"), resume: $("resume"), startReport: $("start-report"), handBack: $("hand-back"),
  transferTo: $("transfer-to"), wrap: $("wrap-up"), wrapError: $("wrap-error"),
  history: $("history-list"), noHistory: $("no-history"),
};

const TYPING_IDLE_MS = 2500;
const IDLE_CHECK_MS = 30_000;
const PAGE_TITLE = "Counsellor console – Haven";

const socket = connectStaff(app.dataset.namespace, ui.status);
const { call, act, fail } = caller(socket, ui.error);
const vocabulary = new Vocabulary();
const transcript = new Transcript($("transcript"), vocabulary);
const canned = new Canned(ui.input, $("canned-hint"));
const chats = new Map(); // conversation_id -> summary (with unread)
let current = null; // the open conversation id
let currentFlags = null;
let idleMinutes = 30;
let waiting = 0;

const ageWords = (band) => (band ? band.replaceAll("_", "-") : "not given");

/* The chat list and the tab title --------------------------------------------------------------- */

function isIdle(chat) {
  return Date.now() - new Date(chat.last_activity_at).getTime() > idleMinutes * 60_000;
}

function renderTitle() {
  const unread = [...chats.values()].reduce((n, c) => n + (c.unread || 0), 0);
  const counts = [];
  if (unread) counts.push(`${unread} unread`);
  if (waiting) counts.push(`${waiting} waiting`);
  document.title = counts.length ? `(${counts.join(", ")}) ${PAGE_TITLE}` : PAGE_TITLE;
}

function renderList() {
  ui.chatList.replaceChildren();
  for (const chat of chats.values()) {
    const li = document.createElement("li");
    const button = document.createElement("button");
    button.type = "button";
    button.className = "chat-item";
    button.dataset.conversation = String(chat.conversation_id);
    if (chat.conversation_id === current) button.setAttribute("aria-current", "true");
    const level = vocabulary.riskLevel(chat.risk_score);
    const parts = [`Chat ${chat.conversation_id}`, vocabulary.stateLabel(chat.state)];
    if (level) parts.push(`${level} risk (${chat.risk_score})`);
    if (chat.age_band) parts.push(ageWords(chat.age_band));
    if (chat.unread) parts.push(`${chat.unread} unread`);
    if (chat.closed) parts.push("child left");
    else if (chat.offline) parts.push("child offline");
    else if (isIdle(chat)) parts.push("idle");
    button.textContent = parts.join(" · ");
    if (level === "high") button.classList.add("chat-item--urgent");
    button.addEventListener("click", () => openChat(chat.conversation_id));
    li.append(button);
    ui.chatList.append(li);
  }
  ui.noChats.hidden = chats.size > 0;
  renderTitle();
}

function remember(summary) {
  const previous = chats.get(summary.conversation_id);
  chats.set(summary.conversation_id, { ...previous, ...summary });
  renderList();
}

function forget(conversationId) {
  chats.delete(conversationId);
  if (current === conversationId) {
    current = null;
    ui.panel.hidden = true;
    ui.facts.hidden = true;
  }
  renderList();
}

function setWaiting(count) {
  waiting = count;
  ui.waiting.textContent = `${count} waiting`;
  renderTitle();
}

/* One chat -------------------------------------------------------------------------------------- */

function showFacts(chat) {
  ui.title.textContent = `Chat ${chat.conversation_id}`;
  ui.state.textContent = vocabulary.stateLabel(chat.state);
  ui.age.textContent = ageWords(chat.age_band);
  const flags = currentFlags ? ` (${plural(currentFlags.length, "flagged message")})` : "";
  ui.risk.textContent = `${chat.risk_score} of 100${flags}`;
  const level = vocabulary.riskLevel(chat.risk_score);
  ui.risk.className = level ? `risk-${level}` : "";
  ui.presence.textContent = chat.closed ? "The child has left this chat. Please wrap up." : "";
  // "Take over from the bot" only while the bot has the child (the report flow, say), never mid-conversation.
  const talking = chat.state === "with_counsellor";
  ui.resume.hidden = talking || chat.closed;
  ui.startReport.hidden = !talking;
  ui.handBack.hidden = !talking;
}

function historyItem(past) {
  const li = document.createElement("li");
  li.className = "history-item";
  const when = document.createElement("p");
  const closed = past.closed_at ? ` to ${clock(past.closed_at)}` : "";
  when.append(Object.assign(document.createElement("strong"), { textContent: `${dayAndClock(past.opened_at)}${closed}` }));
  const level = vocabulary.riskLevel(past.risk_score);
  const risk = document.createElement("p");
  risk.textContent = `Highest risk ${past.risk_score} of 100 · ${plural(past.flagged, "flagged message")}`;
  if (level || past.flagged) li.classList.add("history-item--risk");
  li.append(when, risk);
  if (!past.wrap_ups.length) {
    li.append(Object.assign(document.createElement("p"), { className: "hint", textContent: "No wrap-up notes." }));
  }
  for (const wrap of past.wrap_ups) {
    const who = document.createElement("p");
    const topics = wrap.topics.length ? ` · ${wrap.topics.join(", ")}` : "";
    who.textContent = `${wrap.counsellor} · risk ${wrap.risk_level}${topics}`;
    if (wrap.safeguarding) who.append(" ", Object.assign(document.createElement("span"), { className: "tag", textContent: "safeguarding" }));
    li.append(who);
    if (wrap.notes) li.append(Object.assign(document.createElement("p"), { className: "notes", textContent: wrap.notes }));
  }
  return li;
}

async function loadHistory(conversationId) {
  const reply = await call("history", { conversation_id: conversationId });
  if (current !== conversationId) return;
  ui.history.replaceChildren();
  const earlier = reply.ok ? reply.chats.filter((c) => !c.current) : [];
  for (const past of earlier) ui.history.append(historyItem(past));
  ui.noHistory.textContent = reply.ok ? "This is the child's first chat." : "Earlier chats couldn't be loaded.";
  ui.noHistory.hidden = earlier.length > 0;
}

async function openChat(conversationId, detail = null) {
  const reply = detail || await act("open", { conversation_id: conversationId });
  if (!reply.ok) return;
  current = conversationId;
  currentFlags = reply.risk_flags || [];
  transcript.clear();
  transcript.setFlags(currentFlags);
  reply.messages.forEach((m) => transcript.add(m));
  remember({ ...reply.chat, unread: 0 });
  showFacts(chats.get(conversationId));
  ui.panel.hidden = false;
  ui.facts.hidden = false;
  transcript.toEnd();
  showWrapUp(false);
  ui.typing.hidden = true;
  markRead();
  loadHistory(conversationId);
  loadColleagues();
  ui.input.focus();
}

function markRead() {
  if (current === null || document.hidden) return;
  const seq = transcript.lastSeq();
  if (seq) call("read", { conversation_id: current, seq });
}

/** The next chat to look at: unread first (most unread), then the rest in list order after the open one. */
function nextChat() {
  const list = [...chats.values()];
  if (!list.length) return null;
  const unread = list.filter((c) => c.unread && c.conversation_id !== current).sort((a, b) => b.unread - a.unread);
  if (unread.length) return unread[0].conversation_id;
  const at = list.findIndex((c) => c.conversation_id === current);
  return list[(at + 1) % list.length].conversation_id;
}

/* Status and taking chats ----------------------------------------------------------------------- */

async function hello() {
  const reply = await call("hello");
  if (!reply.ok) return fail(reply.error);
  vocabulary.set(reply.vocabulary);
  idleMinutes = reply.idle_minutes;
  ui.statusSelect.value = reply.me.status;
  ui.statusSelect.disabled = false;
  ui.takeNext.disabled = false;
  ui.capacity.textContent = `up to ${plural(reply.me.capacity, "chat")}`;
  setWaiting(reply.waiting);
  canned.set(reply.canned);
  const held = new Set(reply.chats.map((c) => c.conversation_id));
  for (const id of [...chats.keys()]) if (!held.has(id)) forget(id);
  reply.chats.forEach(remember);
  if (current !== null && held.has(current)) openChat(current);
}

socket.on("connect", hello);

ui.statusSelect.addEventListener("change", async () => {
  const reply = await act("status", { status: ui.statusSelect.value });
  if (reply.ok) ui.status.textContent = `You are ${reply.status}.`;
});

async function takeNext() {
  ui.takeNext.disabled = true;
  const reply = await act("take_next");
  ui.takeNext.disabled = false;
  if (reply.ok) openChat(reply.chat.conversation_id, reply);
}
ui.takeNext.addEventListener("click", takeNext);

/* Writing --------------------------------------------------------------------------------------- */

async function submit(note) {
  if (current === null) return;
  canned.expand();
  const text = ui.input.value;
  if (!text.trim()) return fail({ message: "Type a message first." });
  const reply = await act(note ? "note" : "send", { conversation_id: current, text, client_id: newClientId() });
  if (reply.ok) {
    ui.input.value = "";
    stopTyping();
    transcript.toEnd();
  }
}

ui.composer.addEventListener("submit", (event) => { event.preventDefault(); submit(false); });
ui.note.addEventListener("click", () => submit(true));
ui.input.addEventListener("keydown", (event) => {
  if (event.key !== "Enter" || event.shiftKey || event.isComposing) return;
  event.preventDefault();
  // Ctrl+Enter keeps it private: the mistaken key sends a note, never a note to the child.
  submit(event.ctrlKey || event.metaKey);
});

let typingSent = false;
let typingTimer = null;
function stopTyping() {
  clearTimeout(typingTimer);
  if (typingSent && current !== null) call("typing", { conversation_id: current, typing: false });
  typingSent = false;
}
ui.input.addEventListener("input", () => {
  if (current === null) return;
  if (!typingSent) {
    typingSent = true;
    call("typing", { conversation_id: current, typing: true });
  }
  clearTimeout(typingTimer);
  typingTimer = setTimeout(stopTyping, TYPING_IDLE_MS);
});

/* Shortcuts for the whole page: Alt+N next chat, Alt+T take next. */
document.addEventListener("keydown", (event) => {
  if (!event.altKey || event.ctrlKey || event.metaKey) return;
  if (event.code === "KeyN") {
    event.preventDefault();
    const next = nextChat();
    if (next !== null) openChat(next);
  } else if (event.code === "KeyT" && !ui.takeNext.disabled) {
    event.preventDefault();
    takeNext();
  }
});

/* Handoffs and wrap-up -------------------------------------------------------------------------- */

async function endWith(event, data = {}) {
  if (current === null) return null;
  const id = current;
  const reply = await act(event, { conversation_id: id, ...data });
  if (reply.ok && event !== "start_report" && event !== "resume") forget(id);
  return reply;
}

/** The transfer list: counsellors online now, with their load, asked for whenever it is about to be used. */
async function loadColleagues() {
  const reply = await call("colleagues");
  if (!reply.ok) return;
  const chosen = ui.transferTo.value;
  ui.transferTo.replaceChildren();
  for (const c of reply.counsellors) {
    const option = document.createElement("option");
    option.value = c.username;
    option.textContent = `${c.username} (${c.presence}, ${c.load} of ${plural(c.capacity, "chat")})`;
    ui.transferTo.append(option);
  }
  if (!reply.counsellors.length) {
    ui.transferTo.append(Object.assign(document.createElement("option"), { value: "", textContent: "No counsellor online" }));
  }
  if ([...ui.transferTo.options].some((o) => o.value === chosen)) ui.transferTo.value = chosen;
}
ui.transferTo.addEventListener("focus", loadColleagues);
ui.transferTo.addEventListener("pointerdown", loadColleagues);

$("start-report").addEventListener("click", async () => {
  const reply = await endWith("start_report");
  if (reply && reply.ok) ui.status.textContent = "The report flow has started. You'll see each step here.";
});
ui.resume.addEventListener("click", () => endWith("resume"));
ui.handBack.addEventListener("click", () => endWith("hand_back"));
$("to-queue").addEventListener("click", () => endWith("transfer", { to_queue: true }));
$("transfer-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const to = ui.transferTo.value;
  if (!to) return fail({ message: "Nobody else is online to take this chat. You can put it back in the queue." });
  const reply = await endWith("transfer", { to });
  if (reply && reply.ok) ui.status.textContent = `Chat transferred to ${reply.to}.`;
});

function showWrapUp(open) {
  ui.wrap.hidden = !open;
  ui.work.hidden = open;
  ui.wrapError.textContent = "";
}

$("end-chat").addEventListener("click", () => {
  showWrapUp(true);
  $("wrap-risk").focus();
});
$("wrap-cancel").addEventListener("click", () => { showWrapUp(false); $("end-chat").focus(); });
ui.wrap.addEventListener("submit", async (event) => {
  event.preventDefault();
  const topics = [...ui.wrap.querySelectorAll("input[name=topic]:checked")].map((box) => box.value);
  const form = {
    topics, risk_level: $("wrap-risk").value, safeguarding: $("wrap-safeguarding").checked, notes: $("wrap-notes").value,
  };
  if (!form.risk_level) {
    ui.wrapError.textContent = "Choose a risk level.";
    $("wrap-risk").focus();
    return;
  }
  const reply = await call("wrap_up", { conversation_id: current, ...form });
  if (!reply.ok) {
    ui.wrapError.textContent = reply.error.message;
    return;
  }
  const id = current;
  ui.wrap.reset();
  showWrapUp(false);
  forget(id);
  ui.status.textContent = "Chat ended and wrap-up saved.";
  ui.takeNext.focus();
});

/* What the server tells us ---------------------------------------------------------------------- */

socket.on("message", (message) => {
  const chat = chats.get(message.conversation_id);
  if (!chat) return;
  if (message.sender === "child") {
    // Tells the child's widget the message reached their counsellor ("Delivered").
    socket.emit("delivered", { conversation_id: message.conversation_id, seq: message.seq });
  }
  chat.last_activity_at = message.at;
  if (message.conversation_id === current) {
    transcript.add(message);
    if (message.sender === "child") {
      ui.typing.hidden = true;
      markRead();
    }
  } else if (message.sender === "child") {
    chat.unread = (chat.unread || 0) + 1;
  }
  renderList();
});

socket.on("state", (event) => {
  const chat = chats.get(event.conversation_id);
  if (!chat) return;
  chat.state = event.state;
  chat.closed = event.state === "closed";
  if (event.conversation_id === current) showFacts(chat);
  renderList();
});

socket.on("typing", (event) => {
  if (event.conversation_id !== current || event.who !== "child") return;
  ui.typing.hidden = !event.typing;
});

socket.on("risk", (event) => {
  const chat = chats.get(event.conversation_id);
  if (!chat) return;
  chat.risk_score = Math.max(chat.risk_score, event.risk_score);
  if (event.conversation_id === current) showFacts(chat);
  renderList();
});

socket.on("child_presence", (event) => {
  const chat = chats.get(event.conversation_id);
  if (!chat) return;
  chat.offline = !event.online;
  if (event.conversation_id === current && !chat.closed) {
    ui.presence.textContent = event.online ? "The child is connected again." : "The child's connection has dropped.";
  }
  renderList();
});

socket.on("queue_summary", (event) => setWaiting(event.waiting));
socket.on("canned", (event) => canned.set(event.canned));
socket.on("assigned", async (event) => {
  const reply = await call("open", { conversation_id: event.conversation_id });
  if (reply.ok) remember({ ...reply.chat, unread: reply.messages.filter((m) => m.sender === "child").length });
  ui.alerts.hidden = false;
  ui.alerts.textContent = `Chat ${event.conversation_id} was transferred to you.`;
});
socket.on("unassigned", (event) => {
  call("leave", { conversation_id: event.conversation_id });
  forget(event.conversation_id);
});
socket.on("safeguarding_alert", (event) => {
  ui.alerts.hidden = false;
  ui.alerts.textContent = `Safeguarding concern raised on chat ${event.conversation_id}.`;
});

document.addEventListener("visibilitychange", markRead);
setInterval(renderList, IDLE_CHECK_MS);
