// The sign-in / create-account form.

import { ApiError } from "./api.js";
import { $, show } from "./dom.js";

export class AuthView {
  constructor(app) {
    this.app = app;
    this.mode = "login";
    this.busy = false;
    $("tab-login").addEventListener("click", () => this.setMode("login"));
    $("tab-register").addEventListener("click", () => this.setMode("register"));
    $("auth-form").addEventListener("submit", (event) => {
      event.preventDefault();
      this.submit();
    });
  }

  setMode(mode) {
    this.mode = mode;
    $("tab-login").setAttribute("aria-selected", String(mode === "login"));
    $("tab-register").setAttribute("aria-selected", String(mode === "register"));
    show($("display-name-row"), mode === "register");
    $("auth-password").setAttribute("autocomplete", mode === "login" ? "current-password" : "new-password");
    $("auth-submit").textContent = mode === "login" ? "Sign in" : "Create account";
    this.error(null);
  }

  show(notice) {
    this.setMode("login");
    show($("auth-view"));
    const el = $("auth-notice");
    el.textContent = notice || "";
    show(el, Boolean(notice));
    $("auth-password").value = "";
    $("auth-username").focus();
  }

  hide() {
    show($("auth-view"), false);
    show($("auth-notice"), false);
  }

  error(message) {
    const el = $("auth-error");
    el.textContent = message || "";
    show(el, Boolean(message));
  }

  async submit() {
    if (this.busy) return;
    const username = $("auth-username").value.trim().toLowerCase();
    const password = $("auth-password").value;
    const displayName = $("auth-display-name").value.trim();
    if (!/^[a-z0-9_.-]{3,32}$/.test(username)) {
      this.error("Usernames are 3–32 characters: letters, digits, _ . -");
      return;
    }
    if (password.length < 8) {
      this.error("Passwords have at least 8 characters.");
      return;
    }
    this.busy = true;
    $("auth-submit").disabled = true;
    this.error(null);
    try {
      if (this.mode === "login") await this.app.api.login(username, password);
      else await this.app.api.register(username, password, displayName);
      $("auth-password").value = "";
      await this.app.enter();
    } catch (error) {
      this.error(describe(error, this.mode));
    } finally {
      this.busy = false;
      $("auth-submit").disabled = false;
    }
  }
}

function describe(error, mode) {
  if (!(error instanceof ApiError)) return "Cannot reach the server. Check your connection and try again.";
  if (mode === "login" && error.status === 401) return "Wrong username or password.";
  if (error.status === 409) return "That username is taken.";
  if (error.status === 429) return "Too many attempts. Wait a moment and try again.";
  return error.message || "Something went wrong.";
}
