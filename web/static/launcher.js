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

  var launcher, panel, frame, closeButton, open = false;

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
    var bar = el("div", { class: "haven-panel__bar" });
    bar.appendChild(el("span", { class: "haven-panel__title", "aria-hidden": "true" }, "Haven chat"));
    closeButton = el("button", { type: "button", id: "haven-close", class: "haven-panel__close", "aria-label": "Close chat" });
    closeButton.appendChild(el("span", { "aria-hidden": "true" }, "\u00d7"));
    closeButton.addEventListener("click", closePanel);
    bar.appendChild(closeButton);
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
    panel.appendChild(bar);
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

  window.addEventListener("message", function (event) {
    if (event.origin !== origin || !frame || event.source !== frame.contentWindow) return;
    var data = event.data || {};
    if (data.type === "haven:quick-exit") {
      var url = safeExitUrl(data.url);
      if (panel) panel.parentNode.removeChild(panel);
      window.location.replace(url || "https://www.google.co.uk/");
    } else if (data.type === "haven:close") {
      closePanel();
    }
  });

  document.addEventListener("keydown", function (event) {
    if (event.key === "Escape" && open) closePanel();
  });

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
