// What every staff page shares: the socket and its plain-words status, acknowledged calls, client ids, 24-hour
// times, plural words, and the state labels and risk thresholds the server sends (never copied in here).

export function connectStaff(namespace, statusEl) {
  const socket = window.io(namespace, { transports: ["websocket", "polling"] });
  const say = (text) => { statusEl.textContent = text; };
  socket.on("connect", () => say("Connected."));
  socket.on("disconnect", () => say("Connection lost – reconnecting…"));
  socket.on("connect_error", (err) => {
    say(err && err.message === "wrong_role" ? "Your account can't use this page." : "Can't connect – retrying…");
  });
  socket.on("signed_out", () => { window.location.assign("/staff/login"); });
  return socket;
}

export const newClientId = () => `c-${crypto.randomUUID()}`;

const TIMEOUT = { ok: false, error: { code: "timeout", message: "No answer from the server. Please try again." } };

/** `call` resolves to the ack (or a timeout error); `act` also shows a refusal in `errorEl`. */
export function caller(socket, errorEl) {
  const fail = (error) => { errorEl.textContent = (error && error.message) || "That didn't work. Please try again."; };
  const call = (event, data = {}) => new Promise((resolve) => {
    socket.timeout(10_000).emit(event, data, (err, reply) => resolve(err ? TIMEOUT : reply));
  });
  const act = async (event, data) => {
    errorEl.textContent = "";
    const reply = await call(event, data);
    if (!reply.ok) fail(reply.error);
    return reply;
  };
  return { call, act, fail };
}

/* Times: 24-hour everywhere, as the child's widget shows them. */
const CLOCK = new Intl.DateTimeFormat("en-GB", { hour: "2-digit", minute: "2-digit", hourCycle: "h23" });
const DAY_CLOCK = new Intl.DateTimeFormat("en-GB", {
  weekday: "short", day: "numeric", month: "short", hour: "2-digit", minute: "2-digit", hourCycle: "h23",
});
const WEEKDAY_CLOCK = new Intl.DateTimeFormat("en-GB", {
  weekday: "short", hour: "2-digit", minute: "2-digit", hourCycle: "h23",
});

export const clock = (iso) => CLOCK.format(new Date(iso));
export const dayAndClock = (iso) => DAY_CLOCK.format(new Date(iso));
export const weekdayAndClock = (iso) => WEEKDAY_CLOCK.format(new Date(iso));

/** "1 chat", "2 chats"; `many` for words that do not just add an s. */
export function plural(count, one, many = `${one}s`) {
  return `${count} ${count === 1 ? one : many}`;
}

/**
 * The server's words for dialog states and its risk thresholds, from the `vocabulary` field of the hello ack:
 * {"states": {state: label}, "risk": {"high": min_score, "medium": min_score}}. Until a server sends it, states
 * read as their names in plain words and risk as a bare score (no level is guessed here).
 */
export class Vocabulary {
  constructor() {
    this.states = {};
    this.risk = null;
  }

  set(vocabulary) {
    if (!vocabulary || typeof vocabulary !== "object") return;
    if (vocabulary.states && typeof vocabulary.states === "object") this.states = vocabulary.states;
    const risk = vocabulary.risk;
    if (risk && Number.isFinite(risk.high) && Number.isFinite(risk.medium)) this.risk = risk;
  }

  stateLabel(state) {
    if (!state) return "";
    if (Object.hasOwn(this.states, state)) return String(this.states[state]);
    const words = String(state).replaceAll("_", " ");
    return words.charAt(0).toUpperCase() + words.slice(1);
  }

  /** "high", "medium" or "" (below medium, or no thresholds known yet). */
  riskLevel(score) {
    if (!this.risk || !Number.isFinite(score)) return "";
    if (score >= this.risk.high) return "high";
    if (score >= this.risk.medium) return "medium";
    return "";
  }
}
