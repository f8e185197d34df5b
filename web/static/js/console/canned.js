// Canned responses: "/shortcut" in the reply box becomes the saved text when the counsellor presses Tab.
export class Canned {
  constructor(input, hint) {
    this.input = input;
    this.hint = hint;
    this.items = new Map();
    input.addEventListener("input", () => this.#showHint());
    input.addEventListener("keydown", (event) => {
      if (event.key === "Tab" && !event.shiftKey && this.#match()) {
        event.preventDefault();
        this.expand();
      }
    });
  }

  set(list) {
    this.items = new Map((list || []).map((item) => [item.shortcut, item.text]));
    this.#showHint();
  }

  #match() {
    const found = /^\/([a-z0-9_-]+)$/i.exec(this.input.value.trim());
    return found ? this.items.get(found[1].toLowerCase()) : undefined;
  }

  expand() {
    const text = this.#match();
    if (text === undefined) return false;
    this.input.value = text;
    this.hint.textContent = "";
    return true;
  }

  #showHint() {
    const value = this.input.value.trim();
    if (!value.startsWith("/")) { this.hint.textContent = ""; return; }
    const prefix = value.slice(1).toLowerCase();
    const names = [...this.items.keys()].filter((name) => name.startsWith(prefix));
    this.hint.textContent = names.length
      ? `Saved responses: ${names.map((n) => "/" + n).join(", ")}. Press Tab to insert an exact match.`
      : "No saved response starts like that.";
  }
}
