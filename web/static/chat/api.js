/** HTTP calls to Haven: JSON in and out, with the CSRF token the page (or the last response) gave us. */

const meta = document.querySelector('meta[name="csrf-token"]');
let csrfToken = meta ? meta.content : "";

const NETWORK_MESSAGE = "We couldn't reach Haven. Check your connection and try again.";

export class ApiError extends Error {
  constructor(code, message, status = 0) {
    super(message);
    this.code = code;
    this.status = status;
  }
}

export function setCsrfToken(token) {
  if (typeof token !== "string" || !token) return;
  csrfToken = token;
  if (meta) meta.content = token;
}

async function request(method, path, body) {
  const headers = { Accept: "application/json" };
  const init = { method, credentials: "same-origin", headers, cache: "no-store" };
  if (method !== "GET") {
    headers["X-CSRF-Token"] = csrfToken;
    if (body !== undefined) {
      headers["Content-Type"] = "application/json";
      init.body = JSON.stringify(body);
    }
  }
  let response;
  try {
    response = await fetch(path, init);
  } catch {
    throw new ApiError("network", NETWORK_MESSAGE);
  }
  let data = null;
  try {
    data = await response.json();
  } catch {
    data = null;
  }
  if (!response.ok || !data || data.ok !== true) {
    const error = (data && data.error) || {};
    throw new ApiError(
      error.code || "http_" + response.status,
      error.message || "Something went wrong. Please try again.",
      response.status,
    );
  }
  if (data.csrf_token) setCsrfToken(data.csrf_token);
  return data;
}

export const postJSON = (path, body) => request("POST", path, body);
export const getJSON = (path) => request("GET", path);

/** Ask who we are; also refreshes the CSRF token after the session changed. */
export async function refreshSession() {
  try {
    return await getJSON("/auth/me");
  } catch {
    return null;
  }
}
