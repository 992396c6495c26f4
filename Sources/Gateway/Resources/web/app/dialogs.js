// The "new chat" and "chat details" dialogs (native <dialog>: Escape closes, focus is kept in).

import { $, debounce, h, show } from "./dom.js";

function setError(el, message) {
  el.textContent = message || "";
  show(el, Boolean(message));
}

export class NewChatDialog {
  constructor(app) {
    this.app = app;
    this.dialog = $("new-chat-dialog");
    this.mode = "direct";
    this.selected = new Map(); // user id -> User (group mode)
    this.results = [];
    $("tab-direct").addEventListener("click", () => this.setMode("direct"));
    $("tab-group").addEventListener("click", () => this.setMode("group"));
    $("new-chat-cancel").addEventListener("click", () => this.close());
    $("create-group").addEventListener("click", () => this.createGroup());
    const search = debounce(() => this.search(), 200);
    $("user-search").addEventListener("input", search);
    $("new-chat-form").addEventListener("submit", (event) => event.preventDefault());
  }

  open() {
    this.selected.clear();
    this.results = [];
    $("user-search").value = "";
    $("group-title").value = "";
    setError($("new-chat-error"), null);
    this.setMode("direct");
    this.dialog.showModal();
    $("user-search").focus();
    this.search();
  }

  close() {
    if (this.dialog.open) this.dialog.close();
  }

  setMode(mode) {
    this.mode = mode;
    $("tab-direct").setAttribute("aria-selected", String(mode === "direct"));
    $("tab-group").setAttribute("aria-selected", String(mode === "group"));
    show($("group-title-row"), mode === "group");
    show($("create-group"), mode === "group");
    this.renderResults();
  }

  async search() {
    const prefix = $("user-search").value.trim().toLowerCase();
    try {
      const result = await this.app.api.searchUsers(prefix, 20);
      this.app.store.rememberUsers(result.users);
      this.results = result.users.filter((user) => user.id !== this.app.store.me?.id);
      this.renderResults();
    } catch (error) {
      setError($("new-chat-error"), error.message);
    }
  }

  renderResults() {
    const list = $("user-results");
    const items = this.results.map((user) => {
      const name = user.display_name && user.display_name !== user.username
        ? `${user.display_name} (@${user.username})` : `@${user.username}`;
      if (this.mode === "direct") {
        return h("li", {}, h("button", {
          class: "user-item", text: name, attrs: { type: "button" },
          aria: { label: `Chat with ${user.username}` }, on: { click: () => this.createDirect(user) },
        }));
      }
      const box = h("input", { attrs: { type: "checkbox", id: `pick-${user.id}` }, aria: { label: `Add ${user.username}` } });
      box.checked = this.selected.has(user.id);
      box.addEventListener("change", () => {
        if (box.checked) this.selected.set(user.id, user);
        else this.selected.delete(user.id);
      });
      return h("li", { class: "user-item" }, box, h("label", { text: name, attrs: { for: `pick-${user.id}` } }));
    });
    if (items.length === 0) items.push(h("li", { class: "empty", text: "No one found." }));
    list.replaceChildren(...items);
  }

  async createDirect(user) {
    try {
      const chat = await this.app.api.createDirect(user.id);
      this.app.store.upsertChat(chat);
      this.close();
      this.app.openChat(chat.id);
    } catch (error) {
      setError($("new-chat-error"), error.message);
    }
  }

  async createGroup() {
    const title = $("group-title").value.trim();
    if (!title) {
      setError($("new-chat-error"), "Give the group a title.");
      $("group-title").focus();
      return;
    }
    try {
      const chat = await this.app.api.createGroup(title, [...this.selected.keys()]);
      this.app.store.upsertChat(chat);
      this.close();
      this.app.openChat(chat.id);
    } catch (error) {
      setError($("new-chat-error"), error.message);
    }
  }
}

export class DetailsDialog {
  constructor(app) {
    this.app = app;
    this.dialog = $("details-dialog");
    this.chatId = null;
    $("details-close").addEventListener("click", () => this.close());
    $("save-title").addEventListener("click", () => this.saveTitle());
    $("leave-chat").addEventListener("click", () => this.leave());
    $("member-search").addEventListener("input", debounce(() => this.search(), 200));
    $("details-form").addEventListener("submit", (event) => event.preventDefault());
  }

  open(chatId) {
    const chat = this.app.store.chats.get(chatId);
    if (!chat) return;
    this.chatId = chatId;
    $("title-input").value = chat.title || "";
    $("member-search").value = "";
    $("member-results").replaceChildren();
    setError($("details-error"), null);
    this.render();
    this.dialog.showModal();
  }

  close() {
    this.chatId = null;
    if (this.dialog.open) this.dialog.close();
  }

  render() {
    const store = this.app.store;
    const chat = store.chats.get(this.chatId);
    if (!chat) return this.close();
    const role = store.myRole(chat);
    const admin = role === "owner" || role === "admin";
    const group = chat.type === "group";
    $("details-heading").textContent = group ? "Group details" : "Direct chat";
    show($("title-row"), group);
    $("title-input").disabled = !admin;
    show($("save-title"), admin);
    show($("add-member-row"), group && admin);
    show($("leave-chat"), group);
    const members = [...(chat.members || [])].sort((a, b) => rank(a.role) - rank(b.role));
    $("member-list").replaceChildren(...members.map((member) => {
      const online = store.presence.has(member.user_id) || member.user_id === store.me?.id;
      const dot = h("span", { class: `dot${online ? " online" : ""}`, attrs: { role: "img" }, aria: { label: online ? "online" : "offline" } });
      const name = h("span", { class: "member-name", text: store.userName(member.user_id) });
      const roleBadge = h("span", { class: `role role-${member.role}`, text: member.role });
      const canRemove = group && admin && member.user_id !== store.me?.id && member.role !== "owner";
      const remove = canRemove
        ? h("button", { class: "link", text: "Remove", attrs: { type: "button" },
          aria: { label: `Remove ${store.userName(member.user_id)}` }, on: { click: () => this.remove(member.user_id) } })
        : null;
      return h("li", { class: "member" }, dot, name, roleBadge, remove);
    }));
  }

  async saveTitle() {
    const title = $("title-input").value.trim();
    if (!title) return setError($("details-error"), "A group needs a title.");
    try {
      const chat = await this.app.api.renameChat(this.chatId, title);
      this.app.store.upsertChat(chat);
      this.app.render();
      setError($("details-error"), null);
    } catch (error) {
      setError($("details-error"), error.message);
    }
  }

  async search() {
    const prefix = $("member-search").value.trim().toLowerCase();
    const chat = this.app.store.chats.get(this.chatId);
    if (!chat) return;
    try {
      const result = await this.app.api.searchUsers(prefix, 20);
      this.app.store.rememberUsers(result.users);
      const members = new Set(chat.members.map((m) => m.user_id));
      const items = result.users.filter((u) => !members.has(u.id)).map((user) => h("li", {},
        h("button", { class: "user-item", text: `Add @${user.username}`, attrs: { type: "button" },
          aria: { label: `Add ${user.username} to the group` }, on: { click: () => this.add(user.id) } })));
      $("member-results").replaceChildren(...items);
    } catch (error) {
      setError($("details-error"), error.message);
    }
  }

  async add(userId) {
    try {
      await this.app.api.addMember(this.chatId, userId);
      this.app.store.upsertChat(await this.app.api.chat(this.chatId));
      this.app.render();
      this.render();
      this.search();
    } catch (error) {
      setError($("details-error"), error.message);
    }
  }

  async remove(userId) {
    try {
      await this.app.api.removeMember(this.chatId, userId);
      this.app.store.upsertChat(await this.app.api.chat(this.chatId));
      this.app.render();
      this.render();
    } catch (error) {
      setError($("details-error"), error.message);
    }
  }

  async leave() {
    const chatId = this.chatId;
    try {
      await this.app.api.removeMember(chatId, this.app.store.me.id);
      this.close();
      this.app.store.removeChat(chatId);
      this.app.openChat(null);
    } catch (error) {
      setError($("details-error"), error.message);
    }
  }
}

function rank(role) {
  return { owner: 0, admin: 1, member: 2 }[role] ?? 3;
}
