// Connects a staff page to its socket.io namespace and reports the connection state in plain words.
export function connectStaff(namespace, statusEl) {
  const socket = window.io(namespace, { transports: ["websocket", "polling"] });
  const say = (text) => { statusEl.textContent = text; };
  socket.on("connect", () => say("Connected."));
  socket.on("disconnect", () => say("Connection lost – reconnecting…"));
  socket.on("connect_error", (err) => {
    say(err && err.message === "wrong_role" ? "Your account can't use this page." : "Can't connect – retrying…");
  });
  socket.on("signed_out", () => { window.location.assign("/staff/login"); });
  return socket;
}
