// Draws the pushed dashboard snapshot: figures, the traffic light, waiting children, live chats, the team
// and safeguarding alerts. Wait times tick every second from the snapshot's timestamps between pushes.
import { clock } from "../common.js";
import { PRESENCE_WORDS, PRIORITY_WORDS, button, duration, el } from "./format.js";

const $ = (id) => document.getElementById(id);
const HEALTH_WORDS = { green: "Queue health: good", amber: "Queue health: under pressure", red: "Queue health: act now" };

export class Dashboard {
  constructor(actions, vocabulary) {
    this.actions = actions; // { monitor(id), takeOver(id), reassign(id, username), capacity(username, n) }
    this.vocabulary = vocabulary;
    this.snapshot = null;
    this.offset = 0; // server clock minus ours, so waits shown match the server's
    setInterval(() => this.tick(), 1000);
  }

  serverNow() {
    return Date.now() + this.offset;
  }

  show(snapshot) {
    this.snapshot = snapshot;
    this.offset = Date.parse(snapshot.at) - Date.now();
    this.figures();
    this.health();
    this.redraw("waiting-rows", () => this.waiting());
    this.redraw("active-rows", () => this.active());
    this.redraw("team-rows", () => this.team());
    this.alerts();
  }

  // A push must not pull a select or a capacity box out from under the supervisor's hands: while focus is
  // inside a table, its redraw waits until focus leaves it.
  redraw(id, draw) {
    const rows = $(id);
    if (!rows.contains(document.activeElement)) {
      draw();
      return;
    }
    rows.addEventListener("focusout", () => {
      setTimeout(() => { if (!rows.contains(document.activeElement)) draw(); }, 0);
    }, { once: true });
  }

  figures() {
    const { counts, waiting_by_priority: byPriority } = this.snapshot;
    $("fig-waiting").textContent = String(counts.waiting);
    $("fig-priority").textContent =
      `${byPriority.urgent} urgent · ${byPriority.worrying} worrying · ${byPriority.standard} standard`;
    $("fig-online").textContent = String(counts.online);
    $("fig-team").textContent = `${counts.available} available · ${counts.busy} busy · ${counts.away} away`;
    $("fig-load").textContent = `${counts.load} / ${counts.capacity}`;
    $("fig-active").textContent = String(counts.active_chats);
    $("fig-high-risk").textContent = String(counts.high_risk_waiting + counts.high_risk_chats);
    $("fig-high-risk").closest(".figure").classList.toggle("figure--alarm",
      counts.high_risk_waiting + counts.high_risk_chats > 0);
    this.tick();
  }

  health() {
    const { light, reasons } = this.snapshot.health;
    const box = $("health");
    box.className = `health health--${light}`;
    box.dataset.light = light;
    $("health-word").textContent = HEALTH_WORDS[light] || light;
    $("health-reasons").textContent = reasons.join(" ");
  }

  waitedSeconds(iso) {
    return (this.serverNow() - Date.parse(iso)) / 1000;
  }

  tick() {
    if (!this.snapshot) return;
    const longest = this.snapshot.waiting.reduce((m, w) => Math.max(m, this.waitedSeconds(w.waiting_since)), 0);
    $("fig-longest").textContent = this.snapshot.waiting.length ? duration(longest) : "–";
    for (const cell of document.querySelectorAll("[data-since]")) {
      cell.textContent = duration(this.waitedSeconds(cell.dataset.since));
    }
  }

  reassignControls(conversationId, exclude) {
    const wrap = el("span", null, "reassign");
    const select = el("select");
    select.setAttribute("aria-label", `Counsellor to give chat ${conversationId} to`);
    const online = this.snapshot.counsellors.filter((c) => c.presence === "available" || c.presence === "busy");
    for (const c of online) {
      if (c.username === exclude) continue;
      const option = el("option", `${c.username} (${c.load}/${c.capacity})`);
      option.value = c.username;
      select.append(option);
    }
    if (!select.options.length) return el("span", "No counsellor online to assign", "hint");
    wrap.append(select, button("Assign", () => this.actions.reassign(conversationId, select.value)));
    return wrap;
  }

  waiting() {
    const rows = $("waiting-rows");
    rows.replaceChildren();
    for (const w of this.snapshot.waiting) {
      const tr = el("tr");
      tr.dataset.conversation = String(w.conversation_id);
      if (w.priority === "urgent") tr.className = "row--urgent";
      const since = el("td");
      since.dataset.since = w.waiting_since;
      const actions = el("td", null, "actions");
      actions.append(button("Read", () => this.actions.monitor(w.conversation_id)),
        this.reassignControls(w.conversation_id, null));
      tr.append(el("td", w.position), el("td", `Chat ${w.conversation_id}${w.returned ? " (returned)" : ""}`),
        el("td", PRIORITY_WORDS[w.priority] || w.priority, `priority priority--${w.priority}`), since, actions);
      rows.append(tr);
    }
    $("no-waiting").hidden = this.snapshot.waiting.length > 0;
    this.tick();
  }

  active() {
    const rows = $("active-rows");
    rows.replaceChildren();
    for (const a of this.snapshot.active) {
      const tr = el("tr");
      tr.dataset.conversation = String(a.conversation_id);
      if (a.high_risk) tr.className = "row--urgent";
      const chat = el("td", `Chat ${a.conversation_id}`);
      chat.append(el("span", this.vocabulary.stateLabel(a.state), "sub"));
      if (a.idle) chat.append(el("span", "idle", "tag"));
      const since = el("td");
      since.dataset.since = a.started_at;
      const risk = el("td", a.high_risk ? `High (${a.risk_score})` : String(a.risk_score),
        a.high_risk ? "priority priority--urgent" : "");
      const actions = el("td", null, "actions");
      actions.append(button("Read", () => this.actions.monitor(a.conversation_id)),
        button("Take over", () => this.actions.takeOver(a.conversation_id)),
        this.reassignControls(a.conversation_id, a.holder));
      tr.append(chat, el("td", a.holder_role === "counsellor" ? a.holder : `${a.holder} (${a.holder_role})`),
        risk, since, actions);
      rows.append(tr);
    }
    $("no-active").hidden = this.snapshot.active.length > 0;
    this.tick();
  }

  team() {
    const rows = $("team-rows");
    rows.replaceChildren();
    for (const c of this.snapshot.counsellors) {
      const tr = el("tr");
      const form = el("form", null, "capacity-form");
      const input = el("input");
      input.type = "number";
      input.min = "1";
      input.max = "10";
      input.value = String(c.capacity);
      input.setAttribute("aria-label", `Capacity of ${c.username}`);
      const save = el("button", "Set", "secondary");
      save.type = "submit";
      form.append(input, save);
      form.addEventListener("submit", (event) => {
        event.preventDefault();
        this.actions.capacity(c.username, Number(input.value));
      });
      const capacity = el("td");
      capacity.append(form);
      tr.append(el("td", c.username), el("td", PRESENCE_WORDS[c.presence] || c.presence, `presence presence--${c.presence}`),
        el("td", `${c.load} / ${c.capacity}`), capacity);
      rows.append(tr);
    }
    $("no-team").hidden = this.snapshot.counsellors.length > 0;
  }

  alerts() {
    const list = $("alert-list");
    list.replaceChildren();
    for (const a of this.snapshot.alerts) {
      list.append(el("li", `${clock(a.at)} · chat ${a.conversation_id} · ${a.counsellor} · risk ${a.risk_level}`));
    }
    $("no-alerts").hidden = this.snapshot.alerts.length > 0;
  }
}
