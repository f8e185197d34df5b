// The supervisor dashboard: live figures pushed over the /supervisor socket (never polled), reading any live
// chat without the child being told, whispers to the counsellor, reassigning and taking over chats,
// metrics with charts and CSV, and team settings.
import { Vocabulary, caller, clock, connectStaff, dayAndClock, newClientId, plural } from "./common.js";
import { Transcript } from "./console/transcript.js";
import { Dashboard } from "./supervisor/dashboard.js";
import { Metrics } from "./supervisor/metrics.js";
import { button, el } from "./supervisor/format.js";

const $ = (id) => document.getElementById(id);
const app = $("supervisor-app");
const ui = {
  status: $("supervisor-status"), error: $("sv-error"), alert: $("sv-alert"), monitor: $("monitor"),
  title: $("monitor-title"), facts: $("monitor-facts"), whisper: $("whisper-form"), whisperInput: $("whisper-input"),
  send: $("send-form"), sendInput: $("send-input"),
};
const DAYS = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"];

const socket = connectStaff(app.dataset.namespace, ui.status);
const { call, act, fail } = caller(socket, ui.error);
const vocabulary = new Vocabulary();
const transcript = new Transcript($("monitor-transcript"), vocabulary);
let me = null;
let watching = null; // the conversation being read
const held = new Set(); // chats this supervisor has taken over

const tell = (text) => { ui.status.textContent = text; };

/* Reading a chat and stepping in ------------------------------------------------------------ */

function showChat(reply) {
  const chat = reply.chat;
  watching = chat.conversation_id;
  ui.title.textContent = `Chat ${chat.conversation_id}`;
  const where = vocabulary.stateLabel(chat.state);
  const who = chat.holder ? `with ${chat.holder}` : chat.waiting ? "waiting in the queue" : "with the bot";
  ui.facts.textContent = `${where} · ${who} · risk ${chat.risk_score} of 100`;
  transcript.clear();
  reply.messages.forEach((m) => transcript.add(m));
  transcript.toEnd();
  loadHistory(chat.conversation_id);
  const mine = me && chat.holder_id === me.user_id;
  if (mine) held.add(chat.conversation_id);
  ui.send.hidden = !mine;
  ui.whisper.hidden = mine;
  ui.monitor.hidden = false;
}

async function monitor(conversationId) {
  if (watching !== null && watching !== conversationId && !held.has(watching)) {
    call("unmonitor", { conversation_id: watching });
  }
  const reply = await act("monitor", { conversation_id: conversationId });
  if (!reply.ok) return;
  showChat(reply);
  ui.monitor.scrollIntoView({ block: "start" });
  ui.title.setAttribute("tabindex", "-1");
  ui.title.focus();
}

async function takeOver(conversationId) {
  const reply = await act("take_over", { conversation_id: conversationId });
  if (!reply.ok) return;
  showChat(reply);
  tell(`You hold chat ${conversationId} now. The child has been told.`);
  ui.sendInput.focus();
}

async function reassign(conversationId, username) {
  const reply = await act("reassign", { conversation_id: conversationId, to: username });
  if (reply.ok) tell(`Chat ${conversationId} given to ${reply.to}.`);
  if (reply.ok && held.has(conversationId)) {
    held.delete(conversationId);
    if (watching === conversationId) closeChat();
  }
}

async function capacity(username, value) {
  const reply = await act("set_capacity", { username, capacity: value });
  if (reply.ok) tell(`${username} now takes up to ${reply.capacity} chats at once.`);
}

function closeChat() {
  if (watching !== null && !held.has(watching)) call("unmonitor", { conversation_id: watching });
  watching = null;
  ui.monitor.hidden = true;
}

/* The child's earlier chats beside the one being read (supervisors may see every child's). */
async function loadHistory(conversationId) {
  const list = $("monitor-history");
  const reply = await call("history", { conversation_id: conversationId });
  if (watching !== conversationId) return;
  list.replaceChildren();
  const earlier = reply.ok ? reply.chats.filter((c) => !c.current) : [];
  for (const past of earlier) {
    const closed = past.closed_at ? ` to ${clock(past.closed_at)}` : "";
    const notes = past.wrap_ups.map((w) => `${w.counsellor}, risk ${w.risk_level}${w.safeguarding ? ", safeguarding" : ""}` +
      (w.notes ? `: ${w.notes}` : "")).join(" · ");
    list.append(el("li", `${dayAndClock(past.opened_at)}${closed} · highest risk ${past.risk_score} · ` +
      `${plural(past.flagged, "flagged message")}${notes ? ` · ${notes}` : ""}`));
  }
  $("no-monitor-history").hidden = earlier.length > 0;
}

const dashboard = new Dashboard({ monitor, takeOver, reassign, capacity }, vocabulary);
const metrics = new Metrics(fail);

ui.whisper.addEventListener("submit", async (event) => {
  event.preventDefault();
  const text = ui.whisperInput.value;
  if (!text.trim()) return fail({ message: "Type the whisper first." });
  const reply = await act("whisper", { conversation_id: watching, text, client_id: newClientId() });
  if (reply.ok) {
    ui.whisperInput.value = "";
    tell("Whisper sent to the counsellor.");
  }
});
$("take-over").addEventListener("click", () => takeOver(watching));
$("stop-monitor").addEventListener("click", closeChat);

ui.send.addEventListener("submit", async (event) => {
  event.preventDefault();
  const text = ui.sendInput.value;
  if (!text.trim()) return fail({ message: "Type a message first." });
  const reply = await act("send", { conversation_id: watching, text, client_id: newClientId() });
  if (reply.ok) ui.sendInput.value = "";
});

async function finish(event, data = {}) {
  const id = watching;
  const reply = await act(event, { conversation_id: id, ...data });
  if (!reply.ok) return;
  held.delete(id);
  closeChat();
  tell(`Chat ${id} ended.`);
}
$("hand-back").addEventListener("click", () => finish("hand_back"));
$("wrap-up").addEventListener("click", () => finish("wrap_up", {
  risk_level: $("wrap-risk").value, safeguarding: $("wrap-safeguarding").checked, topics: [],
}));

/* Team settings ------------------------------------------------------------------------------ */

function showOpening(team) {
  $("default-capacity").textContent = String(team.default_capacity);
  const hours = (team.opening_hours || []).map(([day, start, end]) => {
    const hm = (m) => `${String(Math.floor(m / 60)).padStart(2, "0")}:${String(m % 60).padStart(2, "0")}`;
    return `${DAYS[day]} ${hm(start)}–${hm(end)}`;
  });
  $("opening-hours").textContent = `${hours.join(", ") || "Closed"} (${team.timezone})`;
}

function showCanned(canned) {
  const list = $("canned-list");
  list.replaceChildren();
  for (const c of canned) {
    const li = el("li");
    li.append(el("strong", `/${c.shortcut}`), el("span", ` ${c.text} `),
      button(`Delete /${c.shortcut}`, async () => { await act("canned_delete", { shortcut: c.shortcut }); }));
    list.append(li);
  }
}

$("canned-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const reply = await act("canned_save", { shortcut: $("canned-shortcut").value, text: $("canned-text").value });
  if (reply.ok) {
    $("canned-form").reset();
    tell(`Saved /${reply.shortcut}.`);
  }
});

/* What the server pushes --------------------------------------------------------------------- */

socket.on("connect", async () => {
  const reply = await call("hello");
  if (!reply.ok) return fail(reply.error);
  vocabulary.set(reply.vocabulary);
  me = reply.me;
  reply.held.forEach((id) => held.add(id));
  dashboard.show(reply.dashboard);
  showCanned(reply.canned);
  showOpening(reply.team);
  if (watching !== null) monitor(watching);
});
socket.on("dashboard", (snapshot) => dashboard.show(snapshot));
socket.on("canned", (event) => showCanned(event.canned));
socket.on("message", (message) => {
  if (message.conversation_id === watching) transcript.add(message);
});
socket.on("state", (event) => {
  if (event.conversation_id === watching && event.state === "closed") ui.facts.textContent = "The child has left this chat.";
});
socket.on("assigned", (event) => {
  if (event.conversation_id && me) held.add(event.conversation_id);
});
socket.on("unassigned", (event) => {
  held.delete(event.conversation_id);
  if (event.conversation_id === watching) {
    ui.send.hidden = true;
    ui.whisper.hidden = false;
  }
});
socket.on("safeguarding_alert", (event) => {
  ui.alert.hidden = false;
  ui.alert.textContent = `Safeguarding concern raised on chat ${event.conversation_id}.`;
});
socket.on("counsellor_offline", (event) => {
  ui.alert.hidden = false;
  ui.alert.textContent = `The counsellor on chat ${event.conversation_id} lost their connection.`;
});

metrics.load();
