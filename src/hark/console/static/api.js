// Hark's public HTTP API, as the console uses it. The key lives in sessionStorage only:
// it is sent in the Authorization header, never in a URL.
const KEY = "hark.apiKey";

export class ApiError extends Error {
  constructor(status, message, type) {
    super(message);
    this.status = status;
    this.type = type;
  }
}

export const session = {
  get key() { return sessionStorage.getItem(KEY); },
  set key(value) {
    if (value) sessionStorage.setItem(KEY, value);
    else sessionStorage.removeItem(KEY);
  },
};

export function apiUrl(path) {
  return new URL(`/v1${path}`, location.origin).href;
}

async function errorOf(response) {
  let message = `${response.status} ${response.statusText}`;
  let type;
  try {
    const body = await response.json();
    message = body.message || message;
    type = body.error_type;
  } catch { /* not JSON */ }
  return new ApiError(response.status, message, type);
}

export async function request(path, { method = "GET", body, key = session.key, raw = false } = {}) {
  const headers = { Authorization: `Bearer ${key}` };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  let response;
  try {
    response = await fetch(apiUrl(path), {
      method, headers, body: body === undefined ? undefined : JSON.stringify(body),
    });
  } catch {
    throw new ApiError(0, "Could not reach the Hark server. Is it running?");
  }
  if (!response.ok) throw await errorOf(response);
  if (raw) return response;
  return response.status === 204 ? null : response.json();
}

/** POST a file to /v1/files, reporting upload progress (0..1) as it goes. */
export function uploadFile(file, onProgress) {
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open("POST", apiUrl("/files"));
    xhr.setRequestHeader("Authorization", `Bearer ${session.key}`);
    xhr.upload.onprogress = (e) => { if (e.lengthComputable) onProgress(e.loaded / e.total); };
    xhr.onload = () => {
      let body = {};
      try { body = JSON.parse(xhr.responseText); } catch { /* not JSON */ }
      if (xhr.status === 201) resolve(body);
      else reject(new ApiError(xhr.status, body.message || `Upload failed (${xhr.status})`));
    };
    xhr.onerror = () => reject(new ApiError(0, "The upload was interrupted."));
    const form = new FormData();
    form.append("file", file, file.name);
    xhr.send(form);
  });
}

/** Fetch something the API serves into a Blob (audio players and downloads cannot send
 *  the Authorization header themselves). */
export async function fetchBlob(path) {
  const response = await request(path, { raw: true });
  return response.blob();
}
