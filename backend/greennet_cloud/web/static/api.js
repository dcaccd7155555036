// The GreenNet Cloud JSON API as the dashboard uses it: requests, errors, session tokens.
//
// Where the tokens live: the access token (a short-lived JWT) only in memory; the refresh
// token in sessionStorage, so reloading the page keeps the session while closing the tab
// ends it. sessionStorage is per tab and never sent by the browser on its own (no CSRF);
// what keeps script, and so the token, away from attackers is the strict CSP and rendering
// API text only as text. localStorage would outlive the tab, so it is not used.

const REFRESH_KEY = "greennet.refresh_token";
let accessToken = null;
let memoryRefreshToken = null; // fallback when the browser refuses sessionStorage
let refreshing = null; // one refresh at a time: a refresh token works once, reuse revokes

/** An API failure in the API's own shape ({error, message}) plus the HTTP status. */
export class ApiError extends Error {
  constructor(status, code, message) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

function storedRefreshToken() {
  try {
    return sessionStorage.getItem(REFRESH_KEY) ?? memoryRefreshToken;
  } catch {
    return memoryRefreshToken;
  }
}

function storeTokens(pair) {
  accessToken = pair ? pair.access_token : null;
  memoryRefreshToken = pair ? pair.refresh_token : null;
  try {
    if (pair) sessionStorage.setItem(REFRESH_KEY, pair.refresh_token);
    else sessionStorage.removeItem(REFRESH_KEY);
  } catch {
    // storage disabled: the session lasts until the page is reloaded
  }
}

async function send(method, path, body, token, as = "json") {
  const headers = { Accept: as === "json" ? "application/json" : "*/*" };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  if (token) headers.Authorization = `Bearer ${token}`;
  let response;
  try {
    response = await fetch(path, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      credentials: "omit",
      cache: "no-store",
    });
  } catch {
    throw new ApiError(0, "network_error", "Cannot reach GreenNet Cloud. Check the connection and try again.");
  }
  if (response.status === 204) return null;
  if (response.ok && as === "blob") return response.blob();
  let data = null;
  if ((response.headers.get("Content-Type") || "").includes("application/json")) {
    data = await response.json().catch(() => null);
  }
  if (!response.ok) {
    const code = typeof data?.error === "string" ? data.error : "http_error";
    const message =
      typeof data?.message === "string" ? data.message : `The server answered with status ${response.status}.`;
    throw new ApiError(response.status, code, message);
  }
  return data;
}

/** A request that needs no session (sign-up, password reset, mailed links). */
export function anonymous(method, path, body) {
  return send(method, path, body);
}

/** Whether this tab holds a session (a refresh token) from an earlier login. */
export function hasSession() {
  return storedRefreshToken() !== null;
}

/** Log in; an ApiError with code "totp_required" means: ask for the code and call again. */
export async function login(email, password, totp) {
  const body = { email, password };
  if (totp !== undefined) body.totp = totp;
  storeTokens(await send("POST", "/api/v1/auth/login", body));
}

/** Trade the refresh token for a new pair (shared by concurrent callers). */
export function refresh() {
  refreshing ??= (async () => {
    const token = storedRefreshToken();
    if (token === null) throw new ApiError(401, "unauthenticated", "Please log in.");
    try {
      storeTokens(await send("POST", "/api/v1/auth/refresh", { refresh_token: token }));
    } catch (err) {
      if (err.status === 401) storeTokens(null); // revoked, expired or reused: the session is over
      throw err;
    }
  })().finally(() => {
    refreshing = null;
  });
  return refreshing;
}

/** An authenticated request; an expired or missing access token is refreshed once. */
export async function call(method, path, body, as = "json") {
  if (accessToken === null) await refresh();
  const used = accessToken;
  try {
    return await send(method, path, body, used, as);
  } catch (err) {
    if (err.status !== 401 || storedRefreshToken() === null) throw err;
    if (accessToken === used) await refresh(); // else another call refreshed already
    return send(method, path, body, accessToken, as);
  }
}

/** Save an authenticated GET's answer (e.g. a CSV export) as a file named `filename`. */
export async function download(path, filename) {
  const blob = await call("GET", path, undefined, "blob");
  const url = URL.createObjectURL(blob);
  const link = Object.assign(document.createElement("a"), { href: url, download: filename });
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 60_000);
}

/** End the session on the server, and forget it here whatever the server answers. */
export async function logout() {
  const token = storedRefreshToken();
  storeTokens(null);
  if (token !== null) await send("POST", "/api/v1/auth/logout", { refresh_token: token });
}

let operations = null; // "METHOD /path/{param}" of every API route this server has

/**
 * Whether the server offers an operation, e.g. supports("POST", "/api/v1/devices/{device_id}/relay").
 * Views that need a route another part of the cloud may not have yet ask first, so the page
 * never offers an action the server would answer with 404. The list is the dashboard's
 * own small file (/app/operations.json, made from the server's router), not the OpenAPI
 * document, which carries every schema.
 */
export async function supports(method, path) {
  operations ??= send("GET", "/app/operations.json")
    .then((answer) => new Set(answer.operations))
    .catch(() => {
      operations = null; // try again next time
      return new Set();
    });
  return (await operations).has(`${method} ${path}`);
}
