// The counsellor console: status, "Take next", my chats with unread counts, transcript, replies, notes,
// typing, canned responses, handoffs and the wrap-up form. Everything goes through the /counsellor socket.
import { connectStaff } from "./staff_socket.js";
import { Transcript } from "./console/transcript.js";
import { Canned } from "./console/canned.js";

const $ = (id) => document.getElementById(id);
const app = $("console-app");
const ui = {
  status: $("console-status"), error: $("console-error"), alerts: $("alerts"),
  statusSelect: $("status-select"), capacity: $("capacity"), waiting: $("waiting-count"), takeNext: $("take-next"),
  chatList: $("chat-list"), noChats: $("no-chats"), panel: $("chat-panel"), title: $("chat-title"),
  state: $("chat-state"), age: $("chat-age"), risk: $("chat-risk"), presence: $("chat-presence"),
  typing: $("child-typing"), composer: $("composer"), input: $("reply-input"), note: $("note-button"),
  wrap: $("wrap-up"), wrapError: $("wrap-error"),
};

const STATE_WORDS = {
  with_counsellor: "Talking with you", queue: "Waiting in the queue", menu: "With the bot (menu)",
  advice: "Reading advice", closed: "Left the chat", report_age: "Report: choosing age band",
  report_verify: "Report: age check", report_verifying: "Report: age check in progress",
  report_upload: "Report: adding images", report_confirm: "Report: confirming", report_submitted: "Report sent",
  adult_signpost: "Signposted to adult services",
};
const TYPING_IDLE_MS = 2500;
const IDLE_CHECK_MS = 30_000;

const socket = connectStaff(app.dataset.namespace, ui.status);
const transcript = new Transcript($("transcript"));
const canned = new Canned(ui.input, $("canned-hint"));
const chats = new Map(); // conversation_id -> summary (with unread)
let current = null; // the open conversation id
let idleMinutes = 30;

const newClientId = () => `c-${crypto.randomUUID()}`;
const fail = (error) => { ui.error.textContent = (error && error.message) || "That didn't work. Please try again."; };

function call(event, data = {}) {
  return new Promise((resolve) => {
    socket.timeout(10_000).emit(event, data, (err, reply) => {
      resolve(err ? { ok: false, error: { code: "timeout", message: "No answer from the server. Please try again." } } : reply);
    });
  });
}

async function act(event, data) {
  ui.error.textContent = "";
  const reply = await call(event, data);
  if (!reply.ok) fail(reply.error);
  return reply;
}

/* The chat list --------------------------------------------------------------------------- */

function isIdle(chat) {
  return Date.now() - new Date(chat.last_activity_at).getTime() > idleMinutes * 60_000;
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
    const parts = [`Chat ${chat.conversation_id}`, STATE_WORDS[chat.state] || chat.state];
    if (chat.risk_score >= 50) parts.push(`risk ${chat.risk_score}`);
    if (chat.age_band) parts.push(chat.age_band.replaceAll("_", "-"));
    if (chat.unread) parts.push(`${chat.unread} unread`);
    if (chat.closed) parts.push("child left");
    else if (chat.offline) parts.push("child offline");
    else if (isIdle(chat)) parts.push("idle");
    button.textContent = parts.join(" · ");
    if (chat.risk_score >= 90) button.classList.add("chat-item--urgent");
    button.addEventListener("click", () => openChat(chat.conversation_id));
    li.append(button);
    ui.chatList.append(li);
  }
  ui.noChats.hidden = chats.size > 0;
  document.title = `${[...chats.values()].reduce((n, c) => n + (c.unread || 0), 0) ? "(new) " : ""}Counsellor console – Haven`;
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
  }
  renderList();
}

/* One chat -------------------------------------------------------------------------------- */

function showFacts(chat, flags) {
  ui.title.textContent = `Chat ${chat.conversation_id}`;
  ui.state.textContent = STATE_WORDS[chat.state] || chat.state;
  ui.age.textContent = chat.age_band ? chat.age_band.replaceAll("_", "-") : "not given";
  const flagged = flags ? ` (${flags.length} flagged message${flags.length === 1 ? "" : "s"})` : "";
  ui.risk.textContent = `${chat.risk_score} of 100${flagged}`;
  ui.risk.className = chat.risk_score >= 90 ? "risk-high" : chat.risk_score >= 50 ? "risk-medium" : "";
  ui.presence.textContent = chat.closed ? "The child has left this chat. Please wrap up." : "";
}

async function openChat(conversationId, detail = null) {
  const reply = detail || await act("open", { conversation_id: conversationId });
  if (!reply.ok) return;
  current = conversationId;
  transcript.clear();
  reply.messages.forEach((m) => transcript.add(m));
  remember({ ...reply.chat, unread: 0 });
  showFacts(chats.get(conversationId), reply.risk_flags);
  ui.panel.hidden = false;
  ui.wrap.hidden = true;
  ui.typing.hidden = true;
  markRead();
  ui.input.focus();
}

function markRead() {
  if (current === null || document.hidden) return;
  const seq = transcript.lastSeq();
  if (seq) call("read", { conversation_id: current, seq });
}

/* Status and taking chats ----------------------------------------------------------------- */

async function hello() {
  const reply = await call("hello");
  if (!reply.ok) return fail(reply.error);
  idleMinutes = reply.idle_minutes;
  ui.statusSelect.value = reply.me.status;
  ui.statusSelect.disabled = false;
  ui.takeNext.disabled = false;
  ui.capacity.textContent = `Up to ${reply.me.capacity} chats at once`;
  ui.waiting.textContent = `${reply.waiting} waiting`;
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

ui.takeNext.addEventListener("click", async () => {
  ui.takeNext.disabled = true;
  const reply = await act("take_next");
  ui.takeNext.disabled = false;
  if (reply.ok) openChat(reply.chat.conversation_id, reply);
});

/* Writing --------------------------------------------------------------------------------- */

async function submit(note) {
  if (current === null) return;
  canned.expand();
  const text = ui.input.value;
  if (!text.trim()) return fail({ message: "Type a message first." });
  const reply = await act(note ? "note" : "send", { conversation_id: current, text, client_id: newClientId() });
  if (reply.ok) {
    ui.input.value = "";
    stopTyping();
  }
}

ui.composer.addEventListener("submit", (event) => { event.preventDefault(); submit(false); });
ui.note.addEventListener("click", () => submit(true));
ui.input.addEventListener("keydown", (event) => {
  if (event.key === "Enter" && !event.shiftKey) {
    event.preventDefault();
    submit(false);
  }
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

/* Handoffs and wrap-up -------------------------------------------------------------------- */

async function endWith(event, data = {}) {
  if (current === null) return null;
  const id = current;
  const reply = await act(event, { conversation_id: id, ...data });
  if (reply.ok && event !== "start_report" && event !== "resume") forget(id);
  return reply;
}

$("start-report").addEventListener("click", async () => {
  const reply = await endWith("start_report");
  if (reply && reply.ok) ui.status.textContent = "The report flow has started. You'll see each step here.";
});
$("resume").addEventListener("click", () => endWith("resume"));
$("hand-back").addEventListener("click", () => endWith("hand_back"));
$("to-queue").addEventListener("click", () => endWith("transfer", { to_queue: true }));
$("transfer-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const to = $("transfer-to").value.trim();
  if (!to) return fail({ message: "Type the counsellor's username." });
  const reply = await endWith("transfer", { to });
  if (reply && reply.ok) ui.status.textContent = `Chat transferred to ${reply.to}.`;
});

$("end-chat").addEventListener("click", () => {
  ui.wrap.hidden = false;
  ui.wrapError.textContent = "";
  $("wrap-risk").focus();
});
$("wrap-cancel").addEventListener("click", () => { ui.wrap.hidden = true; $("end-chat").focus(); });
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
  ui.wrap.hidden = true;
  forget(id);
  ui.status.textContent = "Chat ended and wrap-up saved.";
  ui.takeNext.focus();
});

/* What the server tells us ---------------------------------------------------------------- */

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

socket.on("queue_summary", (event) => { ui.waiting.textContent = `${event.waiting} waiting`; });
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
