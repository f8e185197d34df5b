// The staff pages' shared helpers: the server's vocabulary (and the fallback without it), plurals, 24-hour times.
import assert from "node:assert/strict";
import { test } from "node:test";

import { Vocabulary, clock, dayAndClock, plural } from "../../web/static/js/common.js";

test("state labels and risk levels come from the server's vocabulary", () => {
  const words = new Vocabulary();
  words.set({ states: { with_counsellor: "Talking with a counsellor" }, risk: { high: 90, medium: 50 } });
  assert.equal(words.stateLabel("with_counsellor"), "Talking with a counsellor");
  assert.equal(words.riskLevel(95), "high");
  assert.equal(words.riskLevel(90), "high");
  assert.equal(words.riskLevel(89), "medium");
  assert.equal(words.riskLevel(49), "");
  // A state the server did not name reads as plain words, never as an identifier.
  assert.equal(words.stateLabel("report_upload"), "Report upload");
});

test("without a vocabulary: plain state words and no guessed risk level", () => {
  const words = new Vocabulary();
  words.set(undefined);
  assert.equal(words.stateLabel("report_withdraw_confirm"), "Report withdraw confirm");
  assert.equal(words.riskLevel(99), "");
  words.set({ risk: { high: "90" } });  // malformed thresholds are ignored
  assert.equal(words.riskLevel(99), "");
});

test("plural words are right for one and for many", () => {
  assert.equal(plural(1, "chat"), "1 chat");
  assert.equal(plural(0, "chat"), "0 chats");
  assert.equal(plural(2, "child", "children"), "2 children");
});

test("times are 24-hour", () => {
  const at = "2026-12-01T21:05:00";
  assert.equal(clock(at), "21:05");
  assert.match(dayAndClock(at), /21:05/);
  assert.doesNotMatch(dayAndClock(at), /pm/i);
});
