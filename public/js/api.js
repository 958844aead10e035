// Calls to the API: credentials added, JSON errors turned into ApiError, Server-Sent Events read one by one.

let bearer = async () => null;

export function useCredentials(provider) {
  bearer = provider;
}

export class ApiError extends Error {
  constructor(status, code, message, details = {}, retryAfter = null) {
    super(message);
    this.status = status;
    this.code = code;
    this.details = details;
    this.retryAfter = retryAfter;
  }
}

async function headers(extra = {}) {
  const token = await bearer();
  return token ? { ...extra, Authorization: `Bearer ${token}` } : extra;
}

async function errorFrom(response) {
  const data = await response.json().catch(() => null);
  const error = (data && data.error) || {};
  const retryAfter = Number(response.headers.get("Retry-After")) || null;
  return new ApiError(response.status, error.code || `http_${response.status}`, error.message || response.statusText,
    error, retryAfter);
}

async function send(path, init) {
  try {
    return await fetch(path, init);
  } catch (error) {
    if (error.name === "AbortError") throw error;
    throw new ApiError(0, "network", error.message);
  }
}

export async function request(method, path, body, signal) {
  const init = { method, signal, headers: await headers(body === undefined ? {} : { "Content-Type": "application/json" }) };
  if (body !== undefined) init.body = JSON.stringify(body);
  const response = await send(path, init);
  if (!response.ok) throw await errorFrom(response);
  return response.json();
}

// GET a file (a download): the answer as a Blob.
export async function blob(path) {
  const response = await send(path, { method: "GET", headers: await headers() });
  if (!response.ok) throw await errorFrom(response);
  return response.blob();
}

// POST a body that is not JSON (an SDP offer); the answer's text and headers.
export async function postText(path, body, contentType) {
  const response = await send(path, { method: "POST", body, headers: await headers({ "Content-Type": contentType }) });
  if (!response.ok) throw await errorFrom(response);
  return { text: await response.text(), headers: response.headers };
}

export async function* events(path, body, signal) {
  const response = await send(path, {
    method: "POST", signal, body: JSON.stringify(body),
    headers: await headers({ "Content-Type": "application/json", Accept: "text/event-stream" }),
  });
  if (!response.ok) throw await errorFrom(response);
  const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = "";
  for (;;) {
    let chunk;
    try {
      chunk = await reader.read();
    } catch (error) {
      if (error.name === "AbortError") throw error;
      throw new ApiError(0, "network", error.message);
    }
    if (chunk.done) return;
    buffer += chunk.value;
    let end;
    while ((end = buffer.indexOf("\n\n")) >= 0) {
      const block = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      const data = block.split("\n").filter((line) => line.startsWith("data: ")).map((line) => line.slice(6)).join("\n");
      if (data) yield JSON.parse(data);
    }
  }
}
