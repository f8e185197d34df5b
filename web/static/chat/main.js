/** Entry point of the chat widget: wires sign-in, the account menu, the transcript and the socket together.
 * Quick exit is not here: quickexit.js is loaded first and on its own, so it works whatever fails below. */

import { initAccountDeletion } from "./account.js";
import { initAuth, signOut } from "./auth.js";
import { Transcript, renderOptions, setBanner } from "./render.js";
import { ChatClient } from "./socket.js";
import { UploadPanel } from "./upload.js";

const TYPING_IDLE_MS = 3000;
const TYPING_SHOW_MAX_MS = 15000;
const RECONNECTING = "Reconnecting… your messages are safe";

const $ = (id) => document.getElementById(id);
const body = document.body;

const ui = {
  authView: $("auth-view"),
  chatView: $("chat-view"),
  account: $("account"),
  accountButton: $("account-button"),
  accountMenu: $("account-menu"),
  signedInName: $("signed-in-name"),
  signOut: $("sign-out"),
  newMessages: $("new-messages"),
  connection: $("connection-status"),
  queue: $("queue-banner"),
  scroller: $("transcript"),
  messages: $("messages"),
  typing: $("typing-indicator"),
  quickReplies: $("quick-replies"),
  composer: $("composer"),
  input: $("message-input"),
  sendError: $("send-error"),
};

const COMPOSER_MAX_PX = 120;

const transcript = new Transcript({
  list: ui.messages,
  scroller: ui.scroller,
  // The pill shows while something new is further down than the child can see.
  onUnseenChange(unseen) {
    ui.newMessages.hidden = !unseen;
  },
});
let stateOptions = null;
let lastBotOptions = [];
let conversationState = null;
let lastReadSent = 0;
let panelVisible = true;
let typingHideTimer = null;

/* Quick exit (quickexit.js) asks every part of the page to forget what it holds before it leaves. */
window.addEventListener("haven:quick-exit", () => {
  client.stop();
  uploads.show(false);
  transcript.clear();
  ui.quickReplies.replaceChildren();
  ui.input.value = "";
  stateOptions = null;
  lastBotOptions = [];
  const password = document.getElementById("password");
  if (password) password.value = "";
});

const client = new ChatClient(
  {
    onConversation(conversation, messages, { fresh }) {
      if (fresh) {
        transcript.clear();
        lastReadSent = 0;
        lastBotOptions = [];
      }
      conversationState = conversation.state;
      stateOptions = Array.isArray(conversation.options) ? conversation.options : null;
      showStep();
      addMessages(messages);
      // A whole history at once opens at its newest message, not at the start of the "burst".
      if (fresh) transcript.scrollToEnd();
      transcript.setReadSeq(conversation.read_seq);
      if (conversationState !== "queue") setBanner(ui.queue, "");
      showOptions();
    },
    onMessage(message) {
      addMessages([message]);
    },
    onState(state) {
      if (!state) return;
      conversationState = state.state;
      stateOptions = Array.isArray(state.options) ? state.options : null;
      showStep();
      if (conversationState !== "queue") setBanner(ui.queue, "");
      showOptions();
    },
    onTyping(event) {
      if (event.who === "bot" || event.who === "counsellor") showTyping(event.who, event.typing);
    },
    onReceipt(event) {
      transcript.setReadSeq(event.read_seq);
      transcript.setDeliveredSeq(event.delivered_seq);
    },
    onQueue(event) {
      setBanner(ui.queue, queueText(event));
    },
    onConnectionChange(connected) {
      setBanner(ui.connection, connected ? "" : RECONNECTING);
    },
    onAuthLost() {
      showAuth("Please sign in again to carry on chatting.");
    },
    onAcked(clientId, seq) {
      transcript.acknowledge(clientId, seq);
    },
    onRejected(entry, error) {
      transcript.removePending(entry.clientId);
      ui.sendError.textContent = error.message || "That didn't send. Please try again.";
      if (entry.event === "say") {
        // Nothing the child typed is lost: put it back in the box.
        const current = ui.input.value;
        ui.input.value = current ? `${entry.payload.text}\n${current}` : entry.payload.text;
      } else {
        showOptions();
      }
    },
  },
  { getLastSeq: () => transcript.highestSeq },
);

/* The report's upload step: its own panel; the address for each file comes over the socket. */
const uploads = new UploadPanel({
  root: $("upload-panel"),
  input: $("upload-input"),
  drop: $("upload-drop"),
  list: $("upload-list"),
  status: $("upload-status"),
  done: $("upload-done"),
  async requestLink() {
    if (!client.connected) throw new Error("You're offline at the moment. Your image will send when you tap Try again.");
    let reply;
    try {
      reply = await client.socket.timeout(15000).emitWithAck("upload_link", {});
    } catch {
      throw new Error("We couldn't reach Haven. Check your connection and tap Try again.");
    }
    if (!reply || !reply.ok) throw new Error((reply && reply.error && reply.error.message) || "That didn't work. Please try again.");
    return reply;
  },
  onDone() {
    const option = (stateOptions ?? lastBotOptions).find((o) => o && o.id === "upload_done");
    choose(option || { id: "upload_done", label: "I've added them all" });
  },
});

/* The upload step is a sheet of its own: it takes the message box's place (its quick replies stay). */
function showStep() {
  const uploading = conversationState === "report_upload";
  uploads.show(uploading);
  ui.composer.hidden = uploading;
}

function addMessages(messages) {
  for (const message of messages) {
    if (message && message.sender === "bot" && Array.isArray(message.options)) lastBotOptions = message.options;
    if (message && message.sender !== "child") showTyping(message.sender, false);
  }
  if (transcript.addMessages(messages)) {
    showOptions();
    markRead();
  }
}

function showOptions() {
  let options = stateOptions ?? lastBotOptions;
  // The upload panel has its own "I've added them all", which waits for images still sending.
  if (uploads.visible && Array.isArray(options)) options = options.filter((o) => o && o.id !== "upload_done");
  const hadFocus = ui.quickReplies.contains(document.activeElement);
  renderOptions(ui.quickReplies, options, choose);
  if (hadFocus) ui.input.focus();
}

function choose(option) {
  ui.sendError.textContent = "";
  const entry = client.send("choose", { option: option.id }, { label: option.label });
  transcript.addPending(entry.clientId, option.label);
  // The next state brings the next set of options.
  renderOptions(ui.quickReplies, [], choose);
  ui.input.focus();
}

function queueText(event) {
  if (!event || typeof event.position !== "number" || event.position <= 0) return "";
  const where = event.position === 1 ? "You're next in the queue." : `You're number ${event.position} in the queue.`;
  if (typeof event.eta_minutes === "number") {
    const minutes = Math.max(1, event.eta_minutes);
    return `${where} A counsellor should be with you in about ${minutes} minute${minutes === 1 ? "" : "s"}.`;
  }
  return `${where} A counsellor will be with you as soon as they can.`;
}

function showTyping(who, isTyping) {
  clearTimeout(typingHideTimer);
  if (!isTyping) {
    if (!who || ui.typing.dataset.who === who) ui.typing.hidden = true;
    return;
  }
  ui.typing.dataset.who = who;
  ui.typing.textContent = who === "counsellor" ? "Counsellor is typing…" : "Haven is typing…";
  ui.typing.hidden = false;
  // If the "stopped typing" event is lost, do not say "typing" for ever.
  typingHideTimer = setTimeout(() => (ui.typing.hidden = true), TYPING_SHOW_MAX_MS);
}

function markRead() {
  if (document.visibilityState !== "visible" || !panelVisible || ui.chatView.hidden) return;
  const seq = transcript.highestSeq;
  if (seq > lastReadSent && client.connected) {
    lastReadSent = seq;
    client.read(seq);
  }
}

/* Composer: Enter sends, Shift+Enter is a new line; typing events are throttled. */
let typingSent = false;
let typingTimer = null;

function stopTyping() {
  clearTimeout(typingTimer);
  if (typingSent) {
    typingSent = false;
    client.typing(false);
  }
}

/* The message box grows with what is typed, up to a few lines; then it scrolls inside itself. */
function fitComposer() {
  ui.input.style.height = "auto";
  ui.input.style.height = `${Math.min(ui.input.scrollHeight + 4, COMPOSER_MAX_PX)}px`;
}

ui.input.addEventListener("input", () => {
  fitComposer();
  ui.sendError.textContent = "";
  if (!ui.input.value.trim()) {
    stopTyping();
    return;
  }
  if (!typingSent) {
    typingSent = true;
    client.typing(true);
  }
  clearTimeout(typingTimer);
  typingTimer = setTimeout(stopTyping, TYPING_IDLE_MS);
});

ui.input.addEventListener("keydown", (event) => {
  if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
    event.preventDefault();
    ui.composer.requestSubmit();
  }
});

ui.composer.addEventListener("submit", (event) => {
  event.preventDefault();
  const text = ui.input.value.trim();
  if (!text) {
    ui.sendError.textContent = "Type a message first.";
    ui.input.focus();
    return;
  }
  ui.sendError.textContent = "";
  stopTyping();
  const entry = client.send("say", { text });
  transcript.addPending(entry.clientId, text);
  ui.input.value = "";
  fitComposer();
  ui.input.focus();
});

ui.newMessages.addEventListener("click", () => {
  transcript.scrollToEnd();
  ui.input.focus();
});

/* The on-screen keyboard: size the app to the visual viewport, so the message box is never under it. */
function fitViewport() {
  const vv = window.visualViewport;
  if (!vv) return;
  document.documentElement.style.setProperty("--app-height", `${Math.round(vv.height)}px`);
  // iOS pans the whole page up under the keyboard instead; put the header back.
  if (window.scrollY || document.documentElement.scrollTop) window.scrollTo(0, 0);
}
if (window.visualViewport) {
  window.visualViewport.addEventListener("resize", fitViewport);
  window.visualViewport.addEventListener("scroll", fitViewport);
  fitViewport();
}

/* The account menu: a disclosure button; Escape or a tap elsewhere closes it. */
function setAccountMenu(open, { focusButton = false } = {}) {
  ui.accountMenu.hidden = !open;
  ui.accountButton.setAttribute("aria-expanded", String(open));
  if (open) ui.signOut.focus();
  else if (focusButton) ui.accountButton.focus();
}
ui.accountButton.addEventListener("click", () => setAccountMenu(ui.accountMenu.hidden));
ui.accountMenu.addEventListener("keydown", (event) => {
  if (event.key === "Escape") {
    event.stopPropagation();
    setAccountMenu(false, { focusButton: true });
  }
});
document.addEventListener("click", (event) => {
  if (!ui.accountMenu.hidden && !ui.account.contains(event.target)) setAccountMenu(false);
});

/* Views. */
const auth = initAuth({
  onSignedIn(user) {
    showChat(user);
    ui.input.focus();
  },
});

function resetChat() {
  client.stop();
  uploads.show(false);
  ui.composer.hidden = false;
  transcript.clear();
  stateOptions = null;
  lastBotOptions = [];
  conversationState = null;
  lastReadSent = 0;
  renderOptions(ui.quickReplies, [], choose);
  setBanner(ui.connection, "");
  setBanner(ui.queue, "");
  ui.typing.hidden = true;
  ui.input.value = "";
  ui.sendError.textContent = "";
}

function showChat(user) {
  resetChat();
  ui.signedInName.textContent = (user && user.username) || "";
  ui.authView.hidden = true;
  ui.chatView.hidden = false;
  ui.account.hidden = false;
  client.start();
}

function showAuth(message = "") {
  resetChat();
  setAccountMenu(false);
  ui.account.hidden = true;
  ui.chatView.hidden = true;
  ui.authView.hidden = false;
  auth.reset(message);
  auth.focus();
}

ui.signOut.addEventListener("click", async () => {
  ui.signOut.disabled = true;
  setAccountMenu(false);
  try {
    await signOut();
    showAuth();
  } catch (err) {
    ui.sendError.textContent = err.message;
  } finally {
    ui.signOut.disabled = false;
  }
});

initAccountDeletion({
  open: $("delete-account"),
  beforeOpen: () => setAccountMenu(false),
  onDeleted: () => showAuth("Your account has been deleted."),
});

/* Read receipts only while the child can actually see the chat. */
document.addEventListener("visibilitychange", markRead);

/* Messages from the launcher on the host page: whether the panel is open. */
window.addEventListener("message", (event) => {
  if (event.source !== window.parent || window.parent === window) return;
  const data = event.data;
  if (data && data.type === "haven:visibility") {
    panelVisible = Boolean(data.visible);
    markRead();
  }
});

/* Escape asks the launcher to close the panel (it cannot hear keys pressed inside this frame). */
document.addEventListener("keydown", (event) => {
  if (event.key === "Escape" && window.parent !== window && !document.querySelector("dialog[open]")) {
    window.parent.postMessage({ type: "haven:close" }, "*");
  }
});

if (body.dataset.signedIn === "true") {
  showChat({ username: body.dataset.username });
} else {
  ui.authView.hidden = false;
}
