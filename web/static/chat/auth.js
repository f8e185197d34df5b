/** Sign in and register inside the widget: one form, two modes, errors read out from role="alert". */

import { postJSON, refreshSession } from "./api.js";

const MODES = {
  login: { path: "/auth/login", submit: "Sign in", autocomplete: "current-password", tab: "tab-login" },
  register: { path: "/auth/register", submit: "Create account", autocomplete: "new-password", tab: "tab-register" },
};

export function initAuth({ onSignedIn }) {
  const form = document.getElementById("auth-form");
  const username = document.getElementById("username");
  const password = document.getElementById("password");
  const error = document.getElementById("auth-error");
  const submit = document.getElementById("auth-submit");
  const registerHint = document.getElementById("register-hint");
  const passwordHint = document.getElementById("password-hint");
  const tabs = [document.getElementById("tab-login"), document.getElementById("tab-register")];
  let mode = "login";
  let pending = false;

  function showError(message) {
    error.textContent = message || "";
  }

  function setMode(next, { focusTab = false } = {}) {
    mode = next;
    const config = MODES[mode];
    form.dataset.mode = mode;
    for (const tab of tabs) {
      const selected = tab.id === config.tab;
      tab.setAttribute("aria-selected", String(selected));
      tab.tabIndex = selected ? 0 : -1;
      if (selected && focusTab) tab.focus();
    }
    form.setAttribute("aria-labelledby", config.tab);
    submit.textContent = config.submit;
    password.autocomplete = config.autocomplete;
    registerHint.hidden = mode !== "register";
    passwordHint.hidden = mode !== "register";
    const describedBy = mode === "register" ? "register-hint" : "";
    if (describedBy) username.setAttribute("aria-describedby", describedBy);
    else username.removeAttribute("aria-describedby");
    if (mode === "register") password.setAttribute("aria-describedby", "password-hint");
    else password.removeAttribute("aria-describedby");
    showError("");
  }

  tabs.forEach((tab, index) => {
    tab.addEventListener("click", () => setMode(index === 0 ? "login" : "register"));
    tab.addEventListener("keydown", (event) => {
      const moves = { ArrowLeft: -1, ArrowRight: 1, Home: -index, End: tabs.length - 1 - index };
      if (!(event.key in moves)) return;
      event.preventDefault();
      const next = (index + moves[event.key] + tabs.length) % tabs.length;
      setMode(next === 0 ? "login" : "register", { focusTab: true });
    });
  });

  function check() {
    const name = username.value.trim();
    if (!name) return [username, "Please enter a username."];
    if (!password.value) return [password, "Please enter a password."];
    if (mode === "register" && password.value.length < 8) {
      return [password, "Your password needs at least 8 characters."];
    }
    return null;
  }

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    if (pending) return;
    const problem = check();
    if (problem) {
      showError(problem[1]);
      problem[0].setAttribute("aria-invalid", "true");
      problem[0].focus();
      return;
    }
    username.removeAttribute("aria-invalid");
    password.removeAttribute("aria-invalid");
    pending = true;
    submit.disabled = true;
    form.setAttribute("aria-busy", "true");
    showError("");
    try {
      const data = await postJSON(MODES[mode].path, { username: username.value.trim(), password: password.value });
      // The session (and so the CSRF token) changed; if the reply did not carry the new token, ask for it.
      if (!data.csrf_token) await refreshSession();
      password.value = "";
      onSignedIn(data.user || { username: username.value.trim() });
    } catch (err) {
      showError(err.message);
      if (err.code && err.code.startsWith("username")) username.setAttribute("aria-invalid", "true");
      if (err.code && err.code.startsWith("password")) password.setAttribute("aria-invalid", "true");
    } finally {
      pending = false;
      submit.disabled = false;
      form.removeAttribute("aria-busy");
    }
  });

  for (const input of [username, password]) {
    input.addEventListener("input", () => input.removeAttribute("aria-invalid"));
  }

  return {
    reset(message = "") {
      setMode("login");
      // A shared phone: the next person should not see who was signed in.
      username.value = "";
      password.value = "";
      showError(message);
    },
    focus() {
      username.focus();
    },
  };
}

export async function signOut() {
  await postJSON("/auth/logout");
  await refreshSession();
}
