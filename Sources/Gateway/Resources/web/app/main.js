// Chatter's web client: wires the session (api.js), the socket (socket.js) and the state
// (store.js) to the page. Everything a user typed is shown with textContent.

import { Api, SessionLost } from "./api.js";
import { RealtimeSocket } from "./socket.js";
import { Store } from "./store.js";
import { $, debounce, show, uuid } from "./dom.js";
import { ChatListView, ChatView, StatusView } from "./views.js";
import { DetailsDialog, NewChatDialog } from "./dialogs.js";
import { AuthView } from "./auth.js";

const TYPING_SEND_EVERY_MS = 2_000;
const TYPING_SHOW_MS = 4_000;
const RESEND_AFTER_MS = 10_000;

class App {
  constructor() {
    this.store = new Store();
    this.api = new Api({ onSessionLost: (reason) => this.sessionLost(reason) });
    this.socket = new RealtimeSocket(this.api, {
      onState: (state, detail) => this.status.render(state, detail),
      onReady: () => this.onReady(),
      onFrame: (frame) => this.onFrame(frame),
      onRevoked: () => this.api.lose("revoked"),
    });
    this.status = new StatusView($("status"));
    this.auth = new AuthView(this);
    this.chatList = new ChatListView(this);
    this.chatView = new ChatView(this);
    this.newChat = new NewChatDialog(this);
    this.details = new DetailsDialog(this);
    this.syncing = false;
    this.lastTypingSent = 0;
    this.typingTimer = null;
    this.directoryMisses = new Set(); // ids the directory did not know (not asked again)
    this.resolving = false;
    this.readSent = new Map(); // chat id -> seq last sent to /read

    $("logout").addEventListener("click", () => this.logout());
    $("new-chat").addEventListener("click", () => this.newChat.open());
    $("back").addEventListener("click", () => this.openChat(null));
    $("chat-info").addEventListener("click", () => this.details.open(this.store.openChatId));
    document.addEventListener("visibilitychange", () => this.markOpenChatRead());
    window.addEventListener("focus", () => this.markOpenChatRead());
    setInterval(() => this.tick(), 1_000);
  }

  async boot() {
    if (await this.api.resume()) {
      await this.enter();
    } else if ($("auth-view").hidden) {
      this.auth.show(); // (an expired stored session has already shown why)
    }
  }

  // -- session --------------------------------------------------------------------------

  async enter() {
    this.store.reset();
    this.directoryMisses.clear();
    this.store.me = this.api.user;
    this.store.rememberUsers([this.api.user]);
    this.auth.hide();
    show($("app-view"));
    $("me").textContent = this.api.user.display_name || this.api.user.username;
    this.chatView.close();
    this.render();
    try {
      await this.refreshChats();
    } catch (error) {
      if (error instanceof SessionLost) return;
      this.status.flash("Could not load your chats; retrying when connected.");
    }
    this.socket.start();
  }

  async logout() {
    this.socket.stop();
    await this.api.logout();
    this.leaveApp();
    this.auth.show("You have signed out.");
  }

  sessionLost(reason) {
    this.socket.stop();
    this.leaveApp();
    const message = reason === "revoked"
      ? "Your session was ended (signed out or revoked elsewhere). Please sign in again."
      : "Your session has expired. Please sign in again.";
    this.auth.show(message);
  }

  leaveApp() {
    this.newChat.close();
    this.details.close();
    this.store.reset();
    this.readSent.clear();
    this.chatView.close();
    $("app-view").classList.remove("chat-open");
    show($("app-view"), false);
    document.title = "Chatter";
    this.status.render("stopped");
  }

  // -- real time ------------------------------------------------------------------------

  async onReady() {
    // Chats, members and read markers are not replayed: fetch them, then catch up on messages.
    try {
      await this.refreshChats();
    } catch (error) {
      if (error instanceof SessionLost) return;
    }
    this.syncing = true;
    this.sendSync(this.store.syncPositions());
    this.flushPending(true);
    const open = this.store.openChatId;
    if (open && !this.store.messagesOf(open).loaded) this.loadLatest(open);
  }

  /** `sync` takes at most 1000 chats per frame. */
  sendSync(since) {
    const entries = Object.entries(since);
    for (let i = 0; i < entries.length; i += 1000) {
      this.socket.send({ type: "sync", since: Object.fromEntries(entries.slice(i, i + 1000)) });
    }
  }

  onFrame(frame) {
    switch (frame.type) {
      case "event":
        this.onEvent(frame.event || {});
        break;
      case "ack":
        if (frame.message) this.applyMessage(frame.message);
        break;
      case "synced":
        this.syncing = false;
        break;
      case "error":
        this.onSendError(frame);
        break;
      default:
        break; // new frame types are ignored
    }
  }

  onEvent(event) {
    const store = this.store;
    switch (event.kind) {
      case "message.created":
      case "message.updated":
      case "message.deleted":
        if (event.message) this.applyMessage(event.message, event.kind === "message.created");
        break;
      case "chat.created":
      case "chat.updated":
        if (event.chat) this.applySnapshot(event.chat);
        break;
      case "member.added":
        if (event.chat) this.applySnapshot(event.chat);
        break;
      case "member.removed":
        if (store.me && event.user_id === store.me.id) {
          const title = store.chats.has(event.chat_id) ? store.chatTitle(store.chats.get(event.chat_id)) : "a chat";
          store.removeChat(event.chat_id);
          if (store.openChatId === event.chat_id) {
            this.openChat(null);
            this.status.flash(`You are no longer a member of ${title}.`);
          }
          this.render();
        } else if (event.chat) {
          this.applySnapshot(event.chat);
        }
        break;
      case "read.updated": {
        store.markRead(event.chat_id, event.user_id, event.seq);
        const chat = store.chats.get(event.chat_id);
        if (chat && store.me && event.user_id === store.me.id && event.seq >= (chat.last_seq || 0)) chat.unread_count = 0;
        this.render();
        break;
      }
      case "typing": {
        if (!event.chat_id || (store.me && event.user_id === store.me.id)) break;
        let typing = store.typing.get(event.chat_id);
        if (!typing) {
          typing = new Map();
          store.typing.set(event.chat_id, typing);
        }
        typing.set(event.user_id, Date.now() + TYPING_SHOW_MS);
        this.resolveUsers([event.user_id]);
        this.chatView.renderTyping();
        break;
      }
      case "presence":
        if (event.status === "online") store.presence.set(event.user_id, "online");
        else store.presence.delete(event.user_id);
        this.render();
        break;
      default:
        break;
    }
  }

  applySnapshot(snapshot) {
    const isNew = this.store.applySnapshot(snapshot);
    if (isNew) {
      // The per-reader fields (unread count, last message) come with the REST Chat.
      this.api.chat(snapshot.id).then((chat) => {
        this.store.upsertChat(chat);
        this.socket.send({ type: "sync", since: { [chat.id]: this.syncPositionOf(chat.id) } });
        this.render();
      }, () => {});
    }
    this.resolveUsers();
    this.render();
  }

  syncPositionOf(chatId) {
    return this.store.syncPositions()[chatId] || 0;
  }

  applyMessage(message, created = false) {
    const store = this.store;
    const entry = store.messagesOf(message.chat_id);
    const before = entry.maxSeq;
    const { isNew, fromOther } = store.applyMessage(message);
    // Whoever was typing has sent it.
    if (isNew) store.typing.get(message.chat_id)?.delete(message.sender_id);
    const chat = store.chats.get(message.chat_id);
    if (isNew && fromOther && chat) {
      if (this.isViewing(chat.id)) this.markOpenChatRead();
      else chat.unread_count = (chat.unread_count || 0) + 1;
    }
    // A live message past a hole (should not happen on a healthy socket): ask for the rest.
    if (created && entry.loaded && !this.syncing && before > 0 && message.seq > before + 1) {
      this.socket.send({ type: "sync", since: { [message.chat_id]: before } });
    }
    if (chat && !store.users.has(message.sender_id)) this.resolveUsers([message.sender_id]);
    this.render();
  }

  onSendError(frame) {
    const item = frame.client_msg_id && this.store.pending.get(frame.client_msg_id);
    if (!item) return;
    item.state = "failed";
    item.error = (frame.error && frame.error.message) || "not sent";
    this.render();
  }

  // -- sending --------------------------------------------------------------------------

  send(chatId, body) {
    this.cancelTyping();
    const clientMsgId = uuid();
    this.store.pending.set(clientMsgId, { chatId, body, clientMsgId, state: "pending", error: null, at: Date.now(), sentAt: 0 });
    this.flushPending();
    this.render({ scrollToEnd: true });
  }

  /** (Re)sends every pending message: after `ready` with the SAME client_msg_id, so a message
   * that was stored before the connection dropped is acknowledged, not stored twice. */
  flushPending(all = false) {
    const now = Date.now();
    for (const item of this.store.pending.values()) {
      if (item.state !== "pending") continue;
      if (!all && item.sentAt && now - item.sentAt < RESEND_AFTER_MS) continue;
      if (this.socket.send({ type: "send", chat_id: item.chatId, body: item.body, client_msg_id: item.clientMsgId })) {
        item.sentAt = now;
      }
    }
  }

  retry(clientMsgId) {
    const item = this.store.pending.get(clientMsgId);
    if (!item) return;
    item.state = "pending";
    item.error = null;
    item.sentAt = 0;
    this.flushPending();
    this.render();
  }

  discard(clientMsgId) {
    this.store.pending.delete(clientMsgId);
    this.render();
  }

  /** "I am typing", at most every 2 s (the server drops more); keystrokes inside the window
   * send once it is over, if there is still a draft. */
  typing(chatId) {
    const wait = TYPING_SEND_EVERY_MS - (Date.now() - this.lastTypingSent);
    if (wait > 0) {
      if (!this.typingTimer) {
        this.typingTimer = setTimeout(() => {
          this.typingTimer = null;
          if (this.chatView.hasDraft(chatId)) this.typing(chatId);
        }, wait + 50);
      }
      return;
    }
    if (this.socket.send({ type: "typing", chat_id: chatId })) this.lastTypingSent = Date.now();
  }

  cancelTyping() {
    clearTimeout(this.typingTimer);
    this.typingTimer = null;
  }

  async editMessage(message, body) {
    const updated = await this.api.editMessage(message.chat_id, message.id, body);
    this.applyMessage(updated);
  }

  async deleteMessage(message) {
    await this.api.deleteMessage(message.chat_id, message.id);
    const { body: _body, ...rest } = message;
    this.applyMessage({ ...rest, deleted: true });
  }

  // -- chats ----------------------------------------------------------------------------

  async refreshChats() {
    const chats = await this.api.allChats();
    const seen = new Set();
    for (const chat of chats) {
      this.store.upsertChat(chat);
      seen.add(chat.id);
    }
    for (const id of [...this.store.chats.keys()]) {
      if (!seen.has(id)) {
        this.store.removeChat(id);
        if (this.store.openChatId === id) this.openChat(null);
      }
    }
    this.resolveUsers();
    this.render();
  }

  /** Names for member ids we have not seen: the API has no lookup by id, so ask the directory
   * (the first 100 users by name) once for each batch of new ids. */
  async resolveUsers(extraIds = []) {
    const unknown = [...this.store.unknownUserIds(), ...extraIds]
      .filter((id) => !this.store.users.has(id) && !this.directoryMisses.has(id));
    if (unknown.length === 0) return;
    if (this.resolving) {
      this.resolveAgain = true;
      return;
    }
    this.resolving = true;
    try {
      const result = await this.api.searchUsers("", 100);
      this.store.rememberUsers(result.users);
      for (const id of unknown) if (!this.store.users.has(id)) this.directoryMisses.add(id);
      this.render();
    } catch { /* names stay generic */ } finally {
      this.resolving = false;
    }
    if (this.resolveAgain) {
      this.resolveAgain = false;
      this.resolveUsers();
    }
  }

  openChat(chatId) {
    this.store.openChatId = chatId;
    $("app-view").classList.toggle("chat-open", Boolean(chatId));
    if (!chatId) {
      this.chatView.close();
      this.render();
      return;
    }
    this.chatView.open(chatId);
    const entry = this.store.messagesOf(chatId);
    if (!entry.loaded) this.loadLatest(chatId);
    this.markOpenChatRead();
    this.render({ scrollToEnd: true });
  }

  async loadLatest(chatId) {
    const entry = this.store.messagesOf(chatId);
    if (entry.loading) return;
    entry.loading = true;
    try {
      const page = await this.api.messages(chatId, { limit: 50 });
      for (const message of page.messages) this.store.applyMessage(message);
      entry.loaded = true;
      entry.hasMore = page.has_more;
    } catch (error) {
      if (!(error instanceof SessionLost)) this.status.flash("Could not load messages.");
    } finally {
      entry.loading = false;
    }
    this.resolveUsers();
    this.markOpenChatRead();
    this.render({ scrollToEnd: true });
  }

  async loadOlder(chatId) {
    const entry = this.store.messagesOf(chatId);
    if (entry.loading || !entry.hasMore || !entry.loaded) return;
    entry.loading = true;
    const anchor = this.chatView.scrollAnchor();
    try {
      const page = await this.api.messages(chatId, { beforeSeq: entry.minSeq, limit: 50 });
      for (const message of page.messages) this.store.applyMessage(message);
      entry.hasMore = page.has_more;
    } catch (error) {
      if (!(error instanceof SessionLost)) this.status.flash("Could not load older messages.");
    } finally {
      entry.loading = false;
    }
    this.render({ keepAnchor: anchor });
  }

  isViewing(chatId) {
    return this.store.openChatId === chatId && document.visibilityState === "visible";
  }

  markOpenChatRead() {
    const chatId = this.store.openChatId;
    if (!chatId || document.visibilityState !== "visible") return;
    const chat = this.store.chats.get(chatId);
    if (!chat) return;
    const seq = Math.max(chat.last_seq || 0, this.store.messagesOf(chatId).maxSeq);
    if (chat.unread_count) {
      chat.unread_count = 0;
      this.chatList.render();
    }
    if (seq > 0 && (this.readSent.get(chatId) || 0) < seq) {
      this.readSent.set(chatId, seq);
      this.sendRead(chatId);
    }
  }

  sendRead = debounce((chatId) => {
    const seq = this.readSent.get(chatId);
    if (seq) this.api.markRead(chatId, seq).catch(() => this.readSent.delete(chatId));
  }, 300);

  // -- rendering ------------------------------------------------------------------------

  render(options = {}) {
    this.chatList.render();
    this.chatView.render(options);
    if (this.details.chatId) this.details.render();
  }

  tick() {
    if (!this.api.signedIn) return;
    this.chatView.renderTyping();
    this.flushPending();
  }
}

const app = new App();
window.chatter = app; // for debugging from the console
app.boot();
