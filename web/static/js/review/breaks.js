// The break reminder: after a set time of reviewing, ask the analyst to step away. The clock starts when
// they first open a report and restarts when they say they've had a break.
export class BreakReminder {
  constructor(box, minutesSpan, dismissButton) {
    this.box = box;
    this.minutesSpan = minutesSpan;
    this.minutes = 30;
    this.timer = null;
    dismissButton.addEventListener("click", () => {
      this.box.hidden = true;
      this.timer = null;
      this.start();
    });
  }

  setMinutes(minutes) {
    this.minutes = minutes;
  }

  // Called whenever the analyst opens a report; only the first call after a break starts the clock.
  start() {
    if (this.timer !== null || !this.box.hidden) return;
    this.timer = setTimeout(() => this.show(), this.minutes * 60_000);
  }

  show() {
    this.minutesSpan.textContent = String(this.minutes);
    this.box.hidden = false;
    this.box.querySelector("button").focus();
  }
}
