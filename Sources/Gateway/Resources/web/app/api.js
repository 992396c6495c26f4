// HTTP side of the public API v1, and the session: the access token lives only in memory; the
// refresh token is kept in this tab's sessionStorage so that a reload does not log out (see
// docs/web-client.md). Access tokens are refreshed a minute before they expire, and once more
// if a call answers 401.

const REFRESH_KEY = "chatter.refresh_token";
// Refresh this long before expiry: a minute, or a fifth of the lifetime if that is shorter.
const REFRESH_MARGIN_MS = 60_000;
// A token with less than this left is refreshed before use (same rule, 15 s).
const USE_MARGIN_MS = 15_000;

export class ApiError extends Error {
  constructor(status, code, message) {
    super(message || code || `HTTP ${status}`);
    this.status = status;
    this.code = code;
  }
}

/** The session was revoked or expired and cannot be renewed: back to the login form. */
export class SessionLost extends Error {
  constructor(reason) {
    super(reason);
    this.reason = reason;
  }
}

export class Api {
  /** onSessionLost(reason) is called once when the session cannot continue. */
  constructor({ onSessionLost, onSession }) {
    this.onSessionLost = onSessionLost;
    this.onSession = onSession || (() => {});
    this.user = null;
    this.accessToken = null;
    this.expiresAt = 0;
    this.useMargin = USE_MARGIN_MS;
    this.refreshTimer = null;
    this.refreshing = null;
  }

  get signedIn() {
    return this.accessToken !== null;
  }

  storedRefreshToken() {
    try { return sessionStorage.getItem(REFRESH_KEY); } catch { return null; }
  }

  storeRefreshToken(token) {
    try {
      if (token) sessionStorage.setItem(REFRESH_KEY, token);
      else sessionStorage.removeItem(REFRESH_KEY);
    } catch { /* storage disabled: the token stays in memory only */ }
    this.refreshToken = token;
  }

  adopt(session) {
    this.user = session.user;
    this.accessToken = session.access_token;
    const lifetime = session.expires_in * 1000;
    this.expiresAt = Date.now() + lifetime;
    this.useMargin = Math.min(USE_MARGIN_MS, lifetime / 5);
    this.storeRefreshToken(session.refresh_token);
    clearTimeout(this.refreshTimer);
    const delay = Math.max(1_000, lifetime - Math.min(REFRESH_MARGIN_MS, lifetime / 5));
    this.refreshTimer = setTimeout(() => this.refresh().catch(() => {}), delay);
    this.onSession(session);
  }

  clear() {
    clearTimeout(this.refreshTimer);
    this.refreshTimer = null;
    this.user = null;
    this.accessToken = null;
    this.expiresAt = 0;
    this.storeRefreshToken(null);
  }

  /** Ends the session locally and tells the app why (once). */
  lose(reason) {
    if (!this.accessToken && !this.refreshToken) return;
    this.clear();
    this.onSessionLost(reason);
  }

  async register(username, password, displayName) {
    const body = { username, password };
    if (displayName) body.display_name = displayName;
    this.adopt(await this.raw("POST", "/v1/auth/register", body));
  }

  async login(username, password) {
    this.adopt(await this.raw("POST", "/v1/auth/login", { username, password }));
  }

  /** Tries the refresh token this tab kept; false if there is none or it no longer works. */
  async resume() {
    this.refreshToken = this.storedRefreshToken();
    if (!this.refreshToken) return false;
    try {
      await this.refresh();
      return true;
    } catch {
      return false;
    }
  }

  /** One refresh at a time: concurrent callers share it (a rotated token must not be reused). */
  refresh() {
    if (!this.refreshing) {
      const token = this.refreshToken;
      this.refreshing = (async () => {
        if (!token) throw new SessionLost("expired");
        try {
          this.adopt(await this.raw("POST", "/v1/auth/refresh", { refresh_token: token }));
        } catch (error) {
          if (error instanceof ApiError && (error.status === 401 || error.status === 400)) {
            this.lose("expired");
            throw new SessionLost("expired");
          }
          throw error;
        }
      })().finally(() => { this.refreshing = null; });
    }
    return this.refreshing;
  }

  /** An access token valid for at least a little longer (refreshing first if needed). */
  async freshToken() {
    if (this.accessToken && Date.now() < this.expiresAt - this.useMargin) return this.accessToken;
    await this.refresh();
    return this.accessToken;
  }

  async logout() {
    const token = this.accessToken;
    const refreshToken = this.refreshToken;
    this.clear();
    if (token) {
      try {
        await this.raw("POST", "/v1/auth/logout", refreshToken ? { refresh_token: refreshToken } : undefined, token);
      } catch { /* signed out locally either way */ }
    }
  }

  /** An authenticated call; on 401 it refreshes once and retries. */
  async call(method, path, body) {
    const token = await this.freshToken();
    try {
      return await this.raw(method, path, body, token);
    } catch (error) {
      if (!(error instanceof ApiError) || error.status !== 401) throw error;
    }
    await this.refresh();
    try {
      return await this.raw(method, path, body, this.accessToken);
    } catch (error) {
      if (error instanceof ApiError && error.status === 401) {
        this.lose("revoked");
        throw new SessionLost("revoked");
      }
      throw error;
    }
  }

  async raw(method, path, body, token) {
    const headers = { Accept: "application/json" };
    if (body !== undefined) headers["Content-Type"] = "application/json";
    if (token) headers.Authorization = `Bearer ${token}`;
    const response = await fetch(path, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      credentials: "omit",
      cache: "no-store",
    });
    if (response.status === 204) return null;
    let data = null;
    try { data = await response.json(); } catch { /* not JSON */ }
    if (!response.ok) {
      const error = data && data.error ? data.error : {};
      throw new ApiError(response.status, error.code, error.message);
    }
    return data;
  }

  // -- the v1 resources ----------------------------------------------------------------

  me() { return this.call("GET", "/v1/users/me"); }
  searchUsers(prefix, limit = 20) {
    return this.call("GET", `/v1/users?prefix=${encodeURIComponent(prefix)}&limit=${limit}`);
  }

  async allChats() {
    const chats = [];
    let cursor = null;
    for (let page = 0; page < 50; page++) {
      const query = cursor ? `?limit=100&cursor=${encodeURIComponent(cursor)}` : "?limit=100";
      const result = await this.call("GET", `/v1/chats${query}`);
      chats.push(...result.chats);
      if (!result.next_cursor) break;
      cursor = result.next_cursor;
    }
    return chats;
  }

  chat(chatId) { return this.call("GET", `/v1/chats/${encodeURIComponent(chatId)}`); }
  createDirect(userId) { return this.call("POST", "/v1/chats", { type: "direct", member_ids: [userId] }); }
  createGroup(title, memberIds) { return this.call("POST", "/v1/chats", { type: "group", title, member_ids: memberIds }); }
  renameChat(chatId, title) { return this.call("PATCH", `/v1/chats/${encodeURIComponent(chatId)}`, { title }); }
  addMember(chatId, userId) {
    return this.call("POST", `/v1/chats/${encodeURIComponent(chatId)}/members`, { user_id: userId, role: "member" });
  }
  removeMember(chatId, userId) {
    return this.call("DELETE", `/v1/chats/${encodeURIComponent(chatId)}/members/${encodeURIComponent(userId)}`);
  }

  messages(chatId, { beforeSeq, limit = 50 } = {}) {
    let query = `?limit=${limit}`;
    if (beforeSeq) query += `&before_seq=${beforeSeq}`;
    return this.call("GET", `/v1/chats/${encodeURIComponent(chatId)}/messages${query}`);
  }
  editMessage(chatId, messageId, body) {
    return this.call("PATCH", `/v1/chats/${encodeURIComponent(chatId)}/messages/${encodeURIComponent(messageId)}`, { body });
  }
  deleteMessage(chatId, messageId) {
    return this.call("DELETE", `/v1/chats/${encodeURIComponent(chatId)}/messages/${encodeURIComponent(messageId)}`);
  }
  markRead(chatId, seq) { return this.call("POST", `/v1/chats/${encodeURIComponent(chatId)}/read`, { seq }); }
}
