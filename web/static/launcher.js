/* Haven launcher: the one script a host page adds. It shows a "Chat to us" button that opens Haven's chat. */
(function () {
  "use strict";

  var script = document.currentScript;
  if (!script || window.__havenLauncher) return;
  window.__havenLauncher = true;

  var scriptUrl = new URL(script.src, window.location.href);
  var origin = scriptUrl.origin;
  var version = scriptUrl.searchParams.get("v") || "";
  var chatUrl = origin + "/chat";
  var cssUrl = origin + "/static/chat/launcher.css" + (version ? "?v=" + encodeURIComponent(version) : "");

  /*
   * The chat needs its session cookie inside the frame, which browsers only keep for a
   * same-site frame. For another site, open the chat in its own window instead.
   * data-haven-mode="frame" or "window" on the script tag overrides the guess.
   */
  function registrable(host) {
    var parts = host.split(".");
    if (parts.length <= 2) return host;
    var last2 = parts.slice(-2).join(".");
    // Common two-part public suffixes (example.org.uk), so "org.uk" is never taken as a site.
    if (/^(co|org|ac|gov|net|me|ltd|plc|sch|nhs|police|com)\.[a-z]{2}$/.test(last2)) {
      return parts.slice(-3).join(".");
    }
    return last2;
  }
  function sameSite() {
    var here = window.location;
    if (here.origin === origin) return true;
    if (here.protocol !== scriptUrl.protocol) return false;
    return registrable(here.hostname) === registrable(scriptUrl.hostname);
  }
  var mode = script.getAttribute("data-haven-mode") || (sameSite() ? "frame" : "window");

  var SHIFT_PRESSES = 3;
  var SHIFT_WINDOW_MS = 1500;
  // How long the chat gets to sign out and answer before we leave without it.
  var EXIT_GRACE_MS = 400;
  var launcher, panel, frame, open = false;
  var exitUrl = "https://www.google.co.uk/";
  var leaving = false;
  var presses = [];

  function el(tag, attrs, text) {
    var node = document.createElement(tag);
    for (var key in attrs) node.setAttribute(key, attrs[key]);
    if (text) node.textContent = text;
    return node;
  }

  function tellFrame(visible) {
    if (frame && frame.contentWindow) {
      frame.contentWindow.postMessage({ type: "haven:visibility", visible: visible }, origin);
    }
  }

  function build() {
    panel = el("div", {
      id: "haven-panel",
      class: "haven-panel",
      role: "dialog",
      "aria-modal": "false",
      "aria-label": "Haven chat",
      hidden: "",
    });
    // No title bar of our own: the chat's header has the name, Quick exit and its close button.
    frame = el("iframe", {
      id: "haven-frame",
      class: "haven-panel__frame",
      title: "Haven chat",
      src: chatUrl,
      referrerpolicy: "no-referrer",
    });
    frame.addEventListener("load", function () {
      tellFrame(open);
    });
    panel.appendChild(frame);
    document.body.appendChild(panel);
  }

  function openPanel() {
    if (mode === "window") {
      var win = window.open(chatUrl, "haven-chat", "noopener");
      if (!win) window.location.href = chatUrl;
      return;
    }
    if (!panel) build();
    panel.hidden = false;
    open = true;
    launcher.setAttribute("aria-expanded", "true");
    document.documentElement.classList.add("haven-open");
    tellFrame(true);
    frame.focus();
  }

  function closePanel() {
    if (!panel || !open) return;
    panel.hidden = true;
    open = false;
    launcher.setAttribute("aria-expanded", "false");
    document.documentElement.classList.remove("haven-open");
    tellFrame(false);
    launcher.focus();
  }

  function safeExitUrl(raw) {
    try {
      var url = new URL(raw);
      return url.protocol === "https:" || url.protocol === "http:" ? url.href : null;
    } catch (e) {
      return null;
    }
  }

  function leaveNow(url) {
    if (panel && panel.parentNode) panel.parentNode.removeChild(panel);
    window.location.replace(safeExitUrl(url) || exitUrl);
  }

  /*
   * Quick exit from the host page while the panel is open (focus is out here, so the chat cannot hear the
   * keys). The panel goes at once; the chat is asked to sign out on this device and wipe itself, and says
   * when it is leaving. If it does not answer quickly (it failed to load), we leave anyway.
   */
  function quickExit() {
    if (leaving) return;
    leaving = true;
    if (panel) panel.hidden = true;
    if (frame && frame.contentWindow) {
      frame.contentWindow.postMessage({ type: "haven:quick-exit-request" }, origin);
    }
    setTimeout(function () { leaveNow(null); }, EXIT_GRACE_MS);
  }

  window.addEventListener("message", function (event) {
    if (event.origin !== origin || !frame || event.source !== frame.contentWindow) return;
    var data = event.data || {};
    if (data.type === "haven:quick-exit") {
      leaving = true;
      leaveNow(data.url);
    } else if (data.type === "haven:exit-url") {
      exitUrl = safeExitUrl(data.url) || exitUrl;
    } else if (data.type === "haven:close") {
      closePanel();
    }
  });

  document.addEventListener("keydown", function (event) {
    if (event.key === "Escape" && open) closePanel();
    if (!open) return;
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
      quickExit();
    }
  }, true);

  function start() {
    var link = el("link", { rel: "stylesheet", href: cssUrl });
    document.head.appendChild(link);
    launcher = el("button", {
      type: "button",
      id: "haven-launcher",
      class: "haven-launcher",
      "aria-haspopup": "dialog",
      "aria-expanded": "false",
      "aria-controls": "haven-panel",
    }, "Chat to us");
    if (mode === "window") {
      launcher.removeAttribute("aria-haspopup");
      launcher.removeAttribute("aria-expanded");
      launcher.removeAttribute("aria-controls");
    }
    launcher.addEventListener("click", function () {
      if (open) closePanel();
      else openPanel();
    });
    document.body.appendChild(launcher);
  }

  if (document.body) start();
  else document.addEventListener("DOMContentLoaded", start);
})();
