/** "Delete my account": a confirm dialog that says what goes and what stays, then asks for the password. */

import { postJSON, refreshSession } from "./api.js";

function el(tag, props = {}, children = []) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(props)) {
    if (key === "text") node.textContent = value;
    else if (key === "class") node.className = value;
    else node.setAttribute(key, value);
  }
  for (const child of children) node.append(child);
  return node;
}

function buildDialog() {
  const password = el("input", {
    id: "delete-password", class: "field__input", type: "password", autocomplete: "current-password",
    required: "", "aria-describedby": "delete-what-goes delete-what-stays",
  });
  const error = el("p", { id: "delete-error", class: "error", role: "alert" });
  const confirm = el("button", { type: "submit", id: "delete-confirm", class: "button button--danger",
    text: "Delete my account" });
  const cancel = el("button", { type: "button", id: "delete-cancel", class: "button", text: "Keep my account" });
  const form = el("form", { id: "delete-form", class: "account-delete__form", novalidate: "" }, [
    el("h2", { id: "delete-heading", class: "account-delete__heading", text: "Delete your account?" }),
    el("p", { id: "delete-what-goes", text:
      "What goes: your username, all your chats and messages, and any images you sent that we still have. " +
      "This can't be undone." }),
    el("p", { id: "delete-what-stays", text:
      "What stays: if our team already added an image's fingerprint to the list websites use to find and " +
      "remove copies, the fingerprint stays so copies keep being taken down. It is no longer linked to you." }),
    el("div", { class: "field" }, [
      el("label", { for: "delete-password", class: "field__label", text: "Type your password to confirm" }),
      password,
    ]),
    error,
    el("div", { class: "account-delete__actions" }, [cancel, confirm]),
  ]);
  const dialog = el("dialog", { id: "delete-dialog", class: "account-delete", "aria-labelledby": "delete-heading" },
    [form]);
  return { dialog, form, password, error, confirm, cancel };
}

/** Wires the account menu's "Delete my account" button; `onDeleted` runs once the account is gone. */
export function initAccountDeletion({ open, beforeOpen = () => {}, onDeleted }) {
  const ui = buildDialog();
  document.body.append(ui.dialog);
  let pending = false;

  function close() {
    ui.password.value = "";
    ui.error.textContent = "";
    ui.dialog.close();
    document.getElementById("account-button").focus();
  }

  open.addEventListener("click", () => {
    beforeOpen();
    ui.error.textContent = "";
    ui.dialog.showModal();
    ui.password.focus();
  });
  ui.cancel.addEventListener("click", close);
  ui.form.addEventListener("submit", async (event) => {
    event.preventDefault();
    if (pending) return;
    if (!ui.password.value) {
      ui.error.textContent = "Please type your password to confirm.";
      ui.password.focus();
      return;
    }
    pending = true;
    ui.confirm.disabled = true;
    try {
      await postJSON("/auth/delete-account", { password: ui.password.value });
      ui.password.value = "";
      ui.dialog.close();
      await refreshSession();
      onDeleted();
    } catch (err) {
      ui.error.textContent = err.message;
      ui.password.focus();
    } finally {
      pending = false;
      ui.confirm.disabled = false;
    }
  });
}
