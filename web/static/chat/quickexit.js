/** Quick exit: leave Haven at once (button or Shift pressed three times), leaving nothing on screen. */

const SHIFT_PRESSES = 3;
const SHIFT_WINDOW_MS = 1500;

function safeUrl(raw) {
  try {
    const url = new URL(raw, window.location.href);
    if (url.protocol === "https:" || url.protocol === "http:") return url.href;
  } catch {
    /* fall through to the default */
  }
  return "https://www.google.co.uk/";
}

/**
 * Wire up quick exit. `beforeLeave` wipes the visible conversation; it must be quick
 * and must not throw in a way that stops us leaving.
 */
export function initQuickExit({ url, button, beforeLeave }) {
  const target = safeUrl(url);
  let leaving = false;

  function leave() {
    if (leaving) return;
    leaving = true;
    try {
      beforeLeave();
    } catch {
      /* leaving matters more than tidying up */
    }
    try {
      // replace(), not assign(): Back must not bring the chat back.
      window.top.location.replace(target);
      // Reading href throws for a cross-origin top: there we cannot tell whether the
      // browser let us navigate it, so fall through and also ask the launcher.
      if (window.top === window || window.top.location.href) return;
    } catch {
      /* a cross-site host may refuse; the launcher listens for the message below */
    }
    try {
      if (window.parent !== window) {
        // Only the exit address is sent, so any listening origin may have it.
        window.parent.postMessage({ type: "haven:quick-exit", url: target }, "*");
      }
    } catch {
      /* ignore */
    }
    window.location.replace(target);
  }

  button.addEventListener("click", (event) => {
    event.preventDefault();
    leave();
  });

  let presses = [];
  document.addEventListener(
    "keydown",
    (event) => {
      if (event.key !== "Shift") {
        presses = [];
        return;
      }
      if (event.repeat) return;
      const now = performance.now();
      presses = presses.filter((t) => now - t <= SHIFT_WINDOW_MS);
      presses.push(now);
      if (presses.length >= SHIFT_PRESSES) {
        presses = [];
        leave();
      }
    },
    true,
  );

  return leave;
}
