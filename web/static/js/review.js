// The review console: the queue of waiting reports (oldest first), one report's facts and images, keyboard
// assessing, decisions (with a second analyst when required), and a reminder to take breaks.
import { clock, plural } from "./common.js";
import { getJson, postJson } from "./review/api.js";
import { BreakReminder } from "./review/breaks.js";
import { ImageCards, VERDICTS } from "./review/images.js";

const $ = (id) => document.getElementById(id);
const ui = {
  status: $("review-status"), queueCount: $("queue-count"), error: $("review-error"), queue: $("queue-list"), empty: $("queue-empty"),
  panel: $("report-panel"), title: $("report-title"), reportStatus: $("report-status"), age: $("report-age"),
  band: $("report-band"), check: $("report-check"), count: $("report-images"), pending: $("pending-line"),
  form: $("decide-form"), reasonField: $("reason-field"), reason: $("decide-reason"),
  messageField: $("message-field"), message: $("decide-message"), decideError: $("decide-error"),
  confirmBox: $("confirm-box"), confirmText: $("confirm-text"), withdraw: $("withdraw"),
  thread: $("thread"), threadList: $("thread-list"), answers: $("answers-alert"), answersText: $("answers-text"),
  answersOpen: $("answers-open"),
};
const PAGE_TITLE = "Review console – Haven";

const STATUS_WORDS = {
  submitted: "Waiting for review", in_review: "In review", needs_info: "Waiting for more information",
  actioned: "Actioned", hashes_published: "Actioned: hashes published", not_actioned: "Not actioned",
  withdrawn: "Withdrawn", closed: "Closed",
};
const OUTCOME_WORDS = { actioned: "actioned", not_actioned: "not actioned", needs_info: "more information needed" };
const BAND_WORDS = { under_13: "Under 13", "13_15": "13 to 15", "16_17": "16 or 17", "18_plus": "18 or over" };
const CHECK_WORDS = { yes: "Under 18", no: "18 or over", unknown: "Not known" };

let me = null;
let current = null; // the open report (as the server last sent it)
const breaks = new BreakReminder($("break-reminder"), $("break-minutes"), $("break-dismiss"));
const cards = new ImageCards($("image-list"), { onAssess: assess, onError: fail });

function fail(error) {
  ui.error.textContent = (error && error.message) || "That didn't work. Please try again.";
}

function waited(iso) {
  const minutes = Math.max(0, Math.round((Date.now() - new Date(iso).getTime()) / 60_000));
  if (minutes < 60) return plural(minutes, "minute");
  const hours = Math.round(minutes / 60);
  if (hours < 48) return plural(hours, "hour");
  return plural(Math.round(hours / 24), "day");
}

/* The child answered a question: say so at the top (and in the tab title) until the report is opened. */
let answeredId = null;
function showAnswers(reports) {
  const answered = reports.filter((r) => r.answered);
  document.title = answered.length ? `(${answered.length} answered) ${PAGE_TITLE}` : PAGE_TITLE;
  ui.answers.hidden = answered.length === 0;
  if (!answered.length) return;
  answeredId = answered[0].id;
  ui.answersText.textContent = answered.length === 1
    ? `The child has answered your question on report ${answered[0].reference}.`
    : `Children have answered your questions on ${plural(answered.length, "report")}: ` +
      answered.map((r) => r.reference).join(", ") + ".";
}

/* The queue ---------------------------------------------------------------------------------- */

async function loadQueue({ background = false } = {}) {
  const reply = await getJson("/review/api/queue", { background });
  if (!reply.ok) { fail(reply.error); return; }
  me = reply.me;
  breaks.setMinutes(reply.break_minutes);
  ui.queue.replaceChildren();
  for (const item of reply.reports) {
    const li = document.createElement("li");
    const button = document.createElement("button");
    button.type = "button";
    button.className = "queue-item";
    button.dataset.reportId = String(item.id);
    if (current && current.id === item.id) button.setAttribute("aria-current", "true");
    const band = BAND_WORDS[item.age_band] || "age not given";
    const pending = item.decision_pending ? " · decision waiting for a second analyst" : "";
    const answered = item.answered ? " · the child answered" : "";
    button.textContent = `${item.reference} · waiting ${waited(item.submitted_at)} · ${band} · ` +
      `${item.assessed}/${item.images} assessed · ${STATUS_WORDS[item.status] || item.status}${pending}${answered}`;
    button.addEventListener("click", () => openReport(item.id));
    li.append(button);
    ui.queue.append(li);
  }
  ui.empty.hidden = reply.reports.length > 0;
  showAnswers(reply.reports);
  // Its own element: a queue refresh must not overwrite the confirmation of what the analyst just did.
  ui.queueCount.textContent = `${plural(reply.reports.length, "report")} ${reply.reports.length === 1 ? "is" : "are"} waiting.`;
}

/* One report --------------------------------------------------------------------------------- */

async function openReport(reportId) {
  ui.error.textContent = "";
  const started = await postJson(`/review/api/reports/${reportId}/start`);
  // A decided report cannot be started again; it can still be looked at.
  if (!started.ok && started.error.code !== "wrong_state") { fail(started.error); return; }
  breaks.start();
  await showReport(reportId, true, (started.ok && started.new_answers) || 0);
  await loadQueue();
}

async function showReport(reportId, focus, newAnswers = 0) {
  const reply = await getJson(`/review/api/reports/${reportId}`);
  if (!reply.ok) { fail(reply.error); return; }
  current = reply.report;
  const report = current;
  ui.panel.hidden = false;
  ui.title.textContent = `Report ${report.reference}`;
  ui.reportStatus.textContent = STATUS_WORDS[report.status] || report.status;
  ui.age.textContent = report.submitted_at ? `${waited(report.submitted_at)} ago` : "";
  ui.band.textContent = BAND_WORDS[report.age_band] || "Not given";
  const method = report.verification_method ? ` (${report.verification_method.replaceAll("_", " ")})` : "";
  ui.check.textContent = `${CHECK_WORDS[report.under_18] || report.under_18}${method}`;
  const assessed = report.images.filter((i) => i.verdict).length;
  ui.count.textContent = `${report.images.length} (${assessed} assessed)`;

  const pending = report.pending;
  const editable = report.status === "in_review" && !pending;
  showThread(report.thread || [], newAnswers);
  cards.render(report, editable);
  ui.form.hidden = !editable;
  ui.withdraw.hidden = !["submitted", "in_review", "needs_info"].includes(report.status);
  ui.pending.hidden = !pending;
  ui.confirmBox.hidden = !pending;
  if (pending) {
    const mine = pending.decided_by === me;
    const words = `A decision (${OUTCOME_WORDS[pending.outcome]}) is waiting for a second analyst.`;
    ui.pending.textContent = words;
    ui.confirmText.textContent = mine ? "Another analyst has to confirm your decision." : "Check the images, then confirm it or send it back.";
    $("confirm").disabled = mine;
  }
  if (focus) {
    const first = document.querySelector(".image-card");
    if (first) first.focus();
  }
}

/** The questions and answers; the last `newAnswers` answers (unopened until now) are marked New. */
function showThread(thread, newAnswers) {
  ui.threadList.replaceChildren();
  const firstNew = thread.filter((item) => item.sender === "child").length - newAnswers;
  let answer = 0;
  for (const item of thread) {
    const isNew = item.sender === "child" && (answer++ >= firstNew || !item.seen);
    const li = document.createElement("li");
    li.className = `thread-item thread-item--${item.sender}`;
    const meta = document.createElement("p");
    meta.className = "meta";
    meta.textContent = `${item.sender === "child" ? "The child answered" : "Our team asked"} · ${clock(item.at)}`;
    if (isNew) meta.append(Object.assign(document.createElement("span"), { className: "tag-new", textContent: "New" }));
    const text = document.createElement("p");
    text.textContent = item.text;
    li.append(meta, text);
    ui.threadList.append(li);
  }
  ui.thread.hidden = thread.length === 0;
}

async function assess(imageId, verdict) {
  ui.error.textContent = "";
  const reply = await postJson(`/review/api/images/${imageId}/assess`, { verdict });
  if (!reply.ok) { fail(reply.error); return; }
  const card = document.querySelector(`.image-card[data-image-id="${imageId}"]`);
  const index = Array.from(document.querySelectorAll(".image-card")).indexOf(card);
  // Update the card in place (keeping a revealed image) and move on to the next one.
  const image = current.images.find((i) => i.id === imageId);
  image.verdict = verdict;
  for (const button of card.querySelectorAll("button.verdict")) {
    button.setAttribute("aria-pressed", String(button.dataset.verdict === verdict));
  }
  card.querySelector(".verdict-line").textContent = `Assessed: ${VERDICTS.find((v) => v.id === verdict).label}`;
  const assessed = current.images.filter((i) => i.verdict).length;
  ui.count.textContent = `${current.images.length} (${assessed} assessed)`;
  ui.status.textContent = `Image ${index + 1} assessed.`;
  const cardsNow = document.querySelectorAll(".image-card");
  if (index + 1 < cardsNow.length) cardsNow[index + 1].focus();
  else $("decide-title").focus();
}

function chosenOutcome() {
  const checked = ui.form.querySelector("input[name=outcome]:checked");
  return checked ? checked.value : "";
}

ui.form.addEventListener("change", () => {
  const outcome = chosenOutcome();
  ui.reasonField.hidden = outcome !== "not_actioned";
  ui.messageField.hidden = outcome !== "needs_info";
});

ui.form.addEventListener("submit", async (event) => {
  event.preventDefault();
  ui.decideError.textContent = "";
  const outcome = chosenOutcome();
  if (!outcome) { ui.decideError.textContent = "Choose an outcome."; return; }
  const body = { outcome };
  if (outcome === "not_actioned") body.reason = ui.reason.value;
  if (outcome === "needs_info") body.message = ui.message.value;
  const reply = await postJson(`/review/api/reports/${current.id}/decide`, body);
  if (!reply.ok) { ui.decideError.textContent = reply.error.message; return; }
  ui.form.reset();
  ui.reasonField.hidden = ui.messageField.hidden = true;
  ui.status.textContent = reply.decision.status === "pending"
    ? "Decision recorded. It takes effect when a second analyst confirms it."
    : `Decision recorded: ${OUTCOME_WORDS[reply.decision.outcome]}. The child has been told in their chat.`;
  await showReport(current.id, false);
  await loadQueue();
});

async function act(path, done) {
  ui.error.textContent = "";
  const reply = await postJson(path);
  if (!reply.ok) { fail(reply.error); return; }
  ui.status.textContent = done;
  await showReport(current.id, false);
  await loadQueue();
}

$("confirm").addEventListener("click", () => act(`/review/api/reports/${current.id}/confirm`,
  "Decision confirmed. The child has been told in their chat."));
$("reject").addEventListener("click", () => act(`/review/api/reports/${current.id}/reject`,
  "Decision sent back. The report is in review again."));
ui.withdraw.addEventListener("click", () => {
  if (window.confirm("Withdraw this report? Its images will be destroyed and the child told.")) {
    act(`/review/api/reports/${current.id}/withdraw`, "Report withdrawn. The child has been told in their chat.");
  }
});
$("refresh").addEventListener("click", () => loadQueue());
ui.answersOpen.addEventListener("click", () => { if (answeredId !== null) openReport(answeredId); });

/* Keyboard ----------------------------------------------------------------------------------- */

document.addEventListener("keydown", (event) => {
  if (event.ctrlKey || event.metaKey || event.altKey || !current) return;
  const target = event.target;
  if (target.closest && target.closest("input, textarea, select, [contenteditable]")) return;
  const key = event.key.toLowerCase();
  if (key === "j" || key === "arrowdown") { cards.move(1); event.preventDefault(); return; }
  if (key === "k" || key === "arrowup") { cards.move(-1); event.preventDefault(); return; }
  if (key === "d") { $("decide-title").focus(); event.preventDefault(); return; }
  const card = cards.focused();
  if (!card) return;
  if (key === "v") { cards.reveal(card); event.preventDefault(); return; }
  const verdict = VERDICTS.find((v) => v.key === key);
  const editable = current.status === "in_review" && !current.pending;
  if (verdict && editable) { assess(Number(card.dataset.imageId), verdict.id); event.preventDefault(); }
});

loadQueue();
// Often enough that a child's answer is noticed within a quarter of a minute; a timer, not the analyst,
// so it does not keep an idle sign-in alive.
setInterval(() => loadQueue({ background: true }), 15_000);
