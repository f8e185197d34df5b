/** The chat connection: hello on every connect, an in-memory outbox resent with the same client_id, acks with timeouts. */

const ACK_TIMEOUT_MS = 15000;
const BUSY_RETRY_MS = 1000;
const BUSY_RETRIES = 5;
const RETRY_CONNECT_MS = 3000;
const AUTH_ERRORS = new Set(["not_signed_in", "wrong_role"]);

export function newClientId() {
  if (window.crypto && typeof window.crypto.randomUUID === "function") {
    return "c-" + window.crypto.randomUUID();
  }
  // randomUUID needs a secure context; getRandomValues does not.
  const bytes = window.crypto.getRandomValues(new Uint8Array(16));
  return "c-" + Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

/**
 * One socket.io connection to /chat. Message text lives only in memory: a shared
 * family phone must not keep it in storage.
 *
 * handlers: onConversation(conversation, messages), onMessage(message), onState(state),
 * onTyping(event), onReceipt(event), onQueue(event), onConnectionChange(connected),
 * onAuthLost(code), onAcked(clientId, seq), onRejected(entry, error).
 */
export class ChatClient {
  constructor(handlers, { getLastSeq }) {
    this.handlers = handlers;
    this.getLastSeq = getLastSeq;
    this.socket = null;
    this.outbox = new Map();
    this.conversationId = null;
    this.ready = false;
    this.retryTimer = null;
  }

  start() {
    if (this.socket) return;
    if (typeof window.io !== "function") {
      this.handlers.onConnectionChange(false);
      return;
    }
    const socket = window.io("/chat", { transports: ["websocket", "polling"] });
    this.socket = socket;

    socket.on("connect", () => this.#hello());
    socket.on("disconnect", (reason) => {
      this.ready = false;
      this.handlers.onConnectionChange(false);
      // The server ended the connection on purpose; socket.io will not retry by itself.
      if (reason === "io server disconnect") this.#retryLater();
    });
    socket.on("connect_error", (error) => {
      this.ready = false;
      const code = error && error.message;
      if (AUTH_ERRORS.has(code)) {
        this.stop();
        this.handlers.onAuthLost(code);
        return;
      }
      this.handlers.onConnectionChange(false);
      if (!socket.active) this.#retryLater();
    });

    // This browser's session ended (quick exit or sign-out in another tab): lock this tab too, at once.
    socket.on("signed_out", () => {
      this.stop();
      this.handlers.onAuthLost("signed_out");
    });
    socket.on("message", (message) => {
      if (!this.#ours(message)) return;
      if (message.client_id) this.outbox.delete(message.client_id);
      this.handlers.onMessage(message);
    });
    socket.on("state", (state) => {
      if (state && this.conversationId !== null && state.conversation_id !== this.conversationId) {
        // A new conversation was opened (the old one closed): start again from its first message.
        this.#hello({ fresh: true });
        return;
      }
      this.handlers.onState(state);
    });
    socket.on("typing", (event) => this.#ours(event) && this.handlers.onTyping(event));
    socket.on("receipt", (event) => this.#ours(event) && this.handlers.onReceipt(event));
    socket.on("queue", (event) => this.#ours(event) && this.handlers.onQueue(event));
  }

  stop() {
    clearTimeout(this.retryTimer);
    if (this.socket) {
      this.socket.removeAllListeners();
      this.socket.disconnect();
    }
    this.socket = null;
    this.ready = false;
    this.outbox.clear();
    this.conversationId = null;
  }

  get connected() {
    return Boolean(this.socket && this.socket.connected && this.ready);
  }

  /** Queue a child's message (`say`) or quick reply (`choose`); sent now if we are online. */
  send(event, payload, extra = {}) {
    const clientId = newClientId();
    const entry = { clientId, event, payload: { ...payload, client_id: clientId }, attempt: 0, busy: 0, ...extra };
    this.outbox.set(clientId, entry);
    if (this.connected) this.#emit(entry);
    return entry;
  }

  typing(isTyping) {
    if (this.connected) this.socket.emit("typing", { typing: Boolean(isTyping) });
  }

  read(seq) {
    if (this.connected && seq > 0) this.socket.emit("read", { seq });
  }

  #ours(event) {
    if (!event) return false;
    return this.conversationId === null || event.conversation_id === undefined || event.conversation_id === this.conversationId;
  }

  #retryLater() {
    clearTimeout(this.retryTimer);
    this.retryTimer = setTimeout(() => {
      if (this.socket && !this.socket.connected) this.socket.connect();
    }, RETRY_CONNECT_MS);
  }

  async #hello({ fresh = false } = {}) {
    const socket = this.socket;
    if (!socket) return;
    const after = fresh ? 0 : this.getLastSeq();
    let reply;
    try {
      reply = await socket.timeout(ACK_TIMEOUT_MS).emitWithAck("hello", { after });
    } catch {
      if (socket === this.socket && socket.connected) setTimeout(() => this.#hello({ fresh }), BUSY_RETRY_MS);
      return;
    }
    if (socket !== this.socket) return;
    if (!reply || !reply.ok || !reply.conversation) {
      setTimeout(() => socket === this.socket && socket.connected && this.#hello({ fresh }), BUSY_RETRY_MS);
      return;
    }
    const conversation = reply.conversation;
    if (!fresh && this.conversationId !== null && conversation.id !== this.conversationId) {
      // Our old conversation is gone; seqs start again, so fetch the new one from the top.
      this.conversationId = conversation.id;
      this.#hello({ fresh: true });
      return;
    }
    const changed = this.conversationId !== conversation.id;
    this.conversationId = conversation.id;
    const messages = Array.isArray(reply.messages) ? reply.messages : [];
    for (const message of messages) if (message && message.client_id) this.outbox.delete(message.client_id);
    this.ready = true;
    this.handlers.onConversation(conversation, messages, { fresh: fresh || changed });
    this.handlers.onConnectionChange(true);
    for (const entry of this.outbox.values()) this.#emit(entry);
  }

  async #emit(entry) {
    const socket = this.socket;
    if (!socket || !this.connected) return;
    entry.attempt += 1;
    const attempt = entry.attempt;
    let reply;
    try {
      reply = await socket.timeout(ACK_TIMEOUT_MS).emitWithAck(entry.event, entry.payload);
    } catch {
      // No ack in time: keep it; resend now if still online (same client_id, stored once).
      if (this.outbox.get(entry.clientId) === entry && entry.attempt === attempt && this.connected) this.#emit(entry);
      return;
    }
    if (this.outbox.get(entry.clientId) !== entry) {
      // Already settled by a copy from `message`/`hello`; still tell the page the seq.
      if (reply && reply.ok) this.handlers.onAcked(entry.clientId, reply.seq);
      return;
    }
    if (reply && reply.ok) {
      this.outbox.delete(entry.clientId);
      this.handlers.onAcked(entry.clientId, reply.seq);
      return;
    }
    const error = (reply && reply.error) || { code: "unknown", message: "That didn't send. Please try again." };
    if (error.code === "busy" && entry.busy < BUSY_RETRIES) {
      entry.busy += 1;
      setTimeout(() => this.outbox.get(entry.clientId) === entry && this.#emit(entry), BUSY_RETRY_MS * entry.busy);
      return;
    }
    this.outbox.delete(entry.clientId);
    this.handlers.onRejected(entry, error);
  }
}
