// HTTP calls of the review console: JSON with the page's CSRF token, and images as blobs from a POST,
// so no image ever has an address the browser could cache, keep in history or open again.
const csrf = () => document.querySelector('meta[name="csrf-token"]').content;

const FAILED = { ok: false, error: { code: "network", message: "No answer from the server. Please try again." } };

// `background`: a timer's refresh, not the analyst's own action, so it does not keep an idle sign-in alive.
export async function getJson(path, { background = false } = {}) {
  const headers = { Accept: "application/json" };
  if (background) headers["X-Haven-Background"] = "1";
  try {
    const response = await fetch(path, { headers, cache: "no-store" });
    return await response.json();
  } catch {
    return FAILED;
  }
}

export async function postJson(path, body = {}) {
  try {
    const response = await fetch(path, {
      method: "POST", cache: "no-store",
      headers: { "Content-Type": "application/json", Accept: "application/json", "X-CSRF-Token": csrf() },
      body: JSON.stringify(body),
    });
    return await response.json();
  } catch {
    return FAILED;
  }
}

// Returns a blob: URL for the image, or for one sampled frame of a video (`frame`: its position), which
// the caller revokes; or throws an Error with a plain message.
export async function imageUrl(imageId, kind, frame = null) {
  let response;
  try {
    const headers = { "X-CSRF-Token": csrf() };
    const options = { method: "POST", cache: "no-store", headers };
    if (frame !== null) {
      headers["Content-Type"] = "application/json";
      options.body = JSON.stringify({ frame });
    }
    response = await fetch(`/review/images/${imageId}/${kind}`, options);
  } catch {
    throw new Error(FAILED.error.message);
  }
  if (!response.ok) {
    let message = "This image can't be shown.";
    try { message = (await response.json()).error.message; } catch { /* not JSON */ }
    throw new Error(message);
  }
  return URL.createObjectURL(await response.blob());
}
