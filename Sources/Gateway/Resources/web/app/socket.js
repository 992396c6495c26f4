// The `/v1/ws` connection: authenticates with a first `auth` frame (browsers cannot set headers
// on a WebSocket), reconnects with exponential backoff and jitter, and watches its own health
// with JSON pings. What to do after `ready` (refresh the chat list, `sync`, resend pending
// messages) is the app's business: see main.js.

import { SessionLost } from "./api.js";

const PING_EVERY_MS = 20_000;
const PONG_WITHIN_MS = 10_000;
const BACKOFF_FIRST_MS = 500;
const BACKOFF_MAX_MS = 30_000;

export const CloseCode = Object.freeze({
  NORMAL: 1000,
  GOING_AWAY: 1001,
  TRY_AGAIN: 1013,
  AUTH_FAILED: 4001,
  REVOKED: 4003,
  TOO_SLOW: 4008,
});

export class RealtimeSocket {
  /**
   * api: the Api (for fresh tokens). Callbacks: onFrame(frame), onReady(ready),
   * onState("connecting" | "online" | "reconnecting" | "offline" | "stopped", detail),
   * onRevoked(), onAuthFailed() (the token was refused: refresh, then we retry).
   */
  constructor(api, callbacks) {
    this.api = api;
    this.callbacks = callbacks;
    this.ws = null;
    this.ready = false;
    this.stopped = true;
    this.attempt = 0;
    this.retryTimer = null;
    this.pingTimer = null;
    this.pongTimer = null;
    this.authFailures = 0;
    // The browser knows about a lost network before the socket does: drop it at once, and
    // try again as soon as the network is back rather than waiting out the backoff.
    this.onOnline = () => {
      if (this.stopped || this.ws) return;
      this.attempt = 0;
      this.connectNow();
    };
    this.onOffline = () => {
      if (!this.ws) return;
      this.teardown();
      this.scheduleReconnect();
    };
  }

  start() {
    this.stopped = false;
    this.attempt = 0;
    window.addEventListener("online", this.onOnline);
    window.addEventListener("offline", this.onOffline);
    this.connectNow();
  }

  stop() {
    this.stopped = true;
    window.removeEventListener("online", this.onOnline);
    window.removeEventListener("offline", this.onOffline);
    clearTimeout(this.retryTimer);
    this.teardown();
    this.callbacks.onState("stopped");
  }

  /** Sends a frame if the socket is authenticated; false otherwise (the caller retries later). */
  send(frame) {
    if (!this.ready || !this.ws || this.ws.readyState !== WebSocket.OPEN) return false;
    this.ws.send(JSON.stringify(frame));
    return true;
  }

  connectNow() {
    clearTimeout(this.retryTimer);
    this.retryTimer = null;
    if (this.stopped || this.ws) return;
    this.callbacks.onState(this.attempt === 0 ? "connecting" : "reconnecting");
    this.open().catch(() => this.scheduleReconnect());
  }

  async open() {
    const token = await this.api.freshToken();
    if (this.stopped || this.ws) return;
    const scheme = location.protocol === "https:" ? "wss:" : "ws:";
    const ws = new WebSocket(`${scheme}//${location.host}/v1/ws`);
    this.ws = ws;
    ws.addEventListener("open", () => ws.send(JSON.stringify({ type: "auth", token })));
    ws.addEventListener("message", (event) => {
      if (ws !== this.ws) return;
      let frame;
      try { frame = JSON.parse(event.data); } catch { return; }
      this.onFrame(frame);
    });
    ws.addEventListener("close", (event) => {
      if (ws !== this.ws) return;
      this.onClose(event.code);
    });
  }

  onFrame(frame) {
    this.resetPong();
    if (frame.type === "ready") {
      this.ready = true;
      this.attempt = 0;
      this.authFailures = 0;
      this.startPings();
      this.callbacks.onState("online");
      this.callbacks.onReady(frame);
      return;
    }
    if (frame.type === "pong") return;
    this.callbacks.onFrame(frame);
  }

  onClose(code) {
    this.teardown();
    if (this.stopped) return;
    if (code === CloseCode.REVOKED) {
      this.stopped = true;
      this.callbacks.onState("stopped");
      this.callbacks.onRevoked();
      return;
    }
    if (code === CloseCode.AUTH_FAILED) {
      // The token was refused (expired in between, or signed by a key the server no longer
      // has): refresh it; if refreshing fails the session is over and the app says so.
      this.authFailures += 1;
      if (this.authFailures > 3) {
        this.stopped = true;
        this.callbacks.onState("stopped");
        this.callbacks.onRevoked();
        return;
      }
      // A refresh that failed for want of network is retried with the backoff; one the
      // server refused has already ended the session (and stopped this socket).
      this.api.refresh().then(() => this.scheduleReconnect(), (error) => {
        if (!(error instanceof SessionLost)) this.scheduleReconnect();
      });
      return;
    }
    this.scheduleReconnect();
  }

  scheduleReconnect() {
    if (this.stopped || this.retryTimer) return;
    const base = Math.min(BACKOFF_MAX_MS, BACKOFF_FIRST_MS * 2 ** this.attempt);
    const delay = base / 2 + Math.random() * (base / 2);
    this.attempt += 1;
    const offline = navigator.onLine === false;
    this.callbacks.onState(offline ? "offline" : "reconnecting", { inMs: delay });
    this.retryTimer = setTimeout(() => {
      this.retryTimer = null;
      this.connectNow();
    }, delay);
  }

  teardown() {
    this.ready = false;
    clearInterval(this.pingTimer);
    clearTimeout(this.pongTimer);
    this.pingTimer = null;
    this.pongTimer = null;
    const ws = this.ws;
    this.ws = null;
    if (ws && ws.readyState <= WebSocket.OPEN) {
      try { ws.close(CloseCode.NORMAL); } catch { /* already closing */ }
    }
  }

  startPings() {
    clearInterval(this.pingTimer);
    this.pingTimer = setInterval(() => {
      if (!this.send({ type: "ping" })) return;
      if (!this.pongTimer) {
        // Nothing at all within the window: the connection is dead even if the browser
        // has not noticed yet (a laptop lid, a lost Wi-Fi).
        this.pongTimer = setTimeout(() => {
          const ws = this.ws;
          this.teardown();
          if (ws) this.scheduleReconnect();
        }, PONG_WITHIN_MS);
      }
    }, PING_EVERY_MS);
  }

  resetPong() {
    clearTimeout(this.pongTimer);
    this.pongTimer = null;
  }
}
