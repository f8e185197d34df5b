/* Quick exit: leave Haven at once (the button, or Shift pressed three times), signed out and with nothing left on screen.
 *
 * A classic script loaded first and on its own, with no imports: it must work the moment the page shows and
 * whatever else fails to load. Leaving also locks the chat on this device: the session on this browser ends
 * (a keepalive POST to /auth/logout that outlives the page), so whoever picks the phone up next is asked to
 * sign in. The conversation stays on the server for the child's next sign-in.
 */
(function () {
  "use strict";

  var SHIFT_PRESSES = 3;
  var SHIFT_WINDOW_MS = 1500;
  var DEFAULT_EXIT = "https://www.google.co.uk/";
  var framed = window.parent !== window;
  var leaving = false;
  var presses = [];

  function exitUrl() {
    var raw = document.body && document.body.getAttribute("data-quick-exit");
    try {
      var url = new URL(raw || DEFAULT_EXIT, window.location.href);
      if (url.protocol === "https:" || url.protocol === "http:") return url.href;
    } catch (e) {
      /* fall through to the default */
    }
    return DEFAULT_EXIT;
  }

  function csrfToken() {
    var meta = document.querySelector('meta[name="csrf-token"]');
    return meta ? meta.getAttribute("content") || "" : "";
  }

  /* End this browser's session. keepalive lets the request finish after the page has gone. */
  function lock() {
    var token = csrfToken();
    try {
      fetch("/auth/logout", {
        method: "POST",
        keepalive: true,
        credentials: "same-origin",
        headers: { "X-CSRF-Token": token, Accept: "application/json" },
      }).catch(function () {});
      return;
    } catch (e) {
      /* no fetch, or keepalive refused: try a beacon (a form body carries the token) */
    }
    try {
      var form = new URLSearchParams();
      form.set("csrf_token", token);
      navigator.sendBeacon("/auth/logout", form);
    } catch (e) {
      /* leaving matters more than signing out */
    }
  }

  /* Forget what the page holds: the modules drop their state, then the visible chat goes. */
  function wipe() {
    try {
      window.dispatchEvent(new CustomEvent("haven:quick-exit"));
    } catch (e) {
      /* a module failing to tidy up must not stop us leaving */
    }
    try {
      var main = document.getElementById("main");
      if (main) main.replaceChildren();
      document.title = "";
      window.sessionStorage.clear();
    } catch (e) {
      /* ignore */
    }
  }

  function leave() {
    if (leaving) return;
    leaving = true;
    var target = exitUrl();
    lock();
    wipe();
    try {
      // replace(), not assign(): Back must not bring the chat back.
      window.top.location.replace(target);
      // Reading href throws for a cross-origin top: there we cannot tell whether the browser let us
      // navigate it, so also ask the launcher, which listens for this message.
      if (window.top === window || window.top.location.href) return;
    } catch (e) {
      /* a cross-site host may refuse */
    }
    try {
      if (framed) window.parent.postMessage({ type: "haven:quick-exit", url: target }, "*");
    } catch (e) {
      /* ignore */
    }
    window.location.replace(target);
  }

  window.havenQuickExit = leave;

  // Delegated from the document, so the button works before the rest of the page has loaded.
  document.addEventListener("click", function (event) {
    var target = event.target;
    if (!target || !target.closest) return;
    if (target.closest("#quick-exit")) {
      event.preventDefault();
      leave();
    } else if (target.closest("#close-chat") && framed) {
      window.parent.postMessage({ type: "haven:close" }, "*");
    }
  }, true);

  window.addEventListener("keydown", function (event) {
    if (event.key !== "Shift") {
      presses = [];
      return;
    }
    if (event.repeat) return;
    var now = Date.now();
    presses = presses.filter(function (t) { return now - t <= SHIFT_WINDOW_MS; });
    presses.push(now);
    if (presses.length >= SHIFT_PRESSES) {
      presses = [];
      leave();
    }
  }, true);

  // The launcher on the host page hears Shift x3 around the open panel and asks us to leave (and lock).
  window.addEventListener("message", function (event) {
    if (!framed || event.source !== window.parent) return;
    var data = event.data;
    if (data && data.type === "haven:quick-exit-request") leave();
  });

  document.addEventListener("DOMContentLoaded", function () {
    if (!framed) return;
    // Inside the launcher's panel: the widget's own header carries the close button (one title bar, not two).
    var close = document.getElementById("close-chat");
    if (close) close.hidden = false;
    document.documentElement.classList.add("is-framed");
    window.parent.postMessage({ type: "haven:exit-url", url: exitUrl() }, "*");
  });
})();
