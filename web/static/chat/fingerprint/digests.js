/**
 * MD5, SHA-1 and SHA-256 of a file's exact bytes, the three cryptographic hashes hash lists match
 * files by: the browser's own WebCrypto where it has the algorithm, hash-wasm (from npm, served from
 * /static/vendor) for MD5, which WebCrypto leaves out, and for files too big to hold in memory at
 * once (videos), since WebCrypto cannot hash in pieces.
 */

const VENDOR = new URL("../../vendor/", import.meta.url);
const CHUNK_BYTES = 4 * 1024 * 1024;

async function hashWasm(...names) {
  // hash-wasm's one-algorithm UMD files each add their functions to globalThis.hashwasm.
  await Promise.all(names.map((name) => import(new URL(`hash-wasm-${name}.umd.min.js`, VENDOR).href)));
  return globalThis.hashwasm;
}

const hex = (buffer) => Array.from(new Uint8Array(buffer), (b) => b.toString(16).padStart(2, "0")).join("");

/** {md5, sha1, sha256} of bytes already in memory. */
export async function digestBytes(bytes) {
  const subtle = globalThis.crypto && globalThis.crypto.subtle;
  if (!subtle) {
    // WebCrypto exists only on secure pages (https, or this computer).
    const lib = await hashWasm("md5", "sha1", "sha256");
    const [md5, sha1, sha256] = await Promise.all([lib.md5(bytes), lib.sha1(bytes), lib.sha256(bytes)]);
    return { md5, sha1, sha256 };
  }
  const lib = await hashWasm("md5");
  const [md5, sha1, sha256] = await Promise.all([
    lib.md5(bytes),
    subtle.digest("SHA-1", bytes).then(hex),
    subtle.digest("SHA-256", bytes).then(hex),
  ]);
  return { md5, sha1, sha256 };
}

/** {md5, sha1, sha256} of a Blob read a piece at a time; onBytes(done) after each piece. */
export async function digestStream(blob, onBytes = () => {}) {
  const lib = await hashWasm("md5", "sha1", "sha256");
  const hashers = await Promise.all([lib.createMD5(), lib.createSHA1(), lib.createSHA256()]);
  for (const hasher of hashers) hasher.init();
  for (let at = 0; at < blob.size; at += CHUNK_BYTES) {
    const piece = new Uint8Array(await blob.slice(at, at + CHUNK_BYTES).arrayBuffer());
    for (const hasher of hashers) hasher.update(piece);
    onBytes(Math.min(blob.size, at + CHUNK_BYTES));
  }
  const [md5, sha1, sha256] = hashers.map((hasher) => hasher.digest("hex"));
  return { md5, sha1, sha256 };
}
