// The connection banner, the chat list and the open chat. Message bodies, names and titles are
// set with textContent (through h()/setText), never parsed as HTML.

import { $, h, reconcile, setText, shortTime, show } from "./dom.js";

export class StatusView {
  constructor(el) {
    this.el = el;
    this.state = "stopped";
    this.flashTimer = null;
  }

  render(state) {
    this.state = state;
    const text = {
      connecting: "Connecting…",
      reconnecting: "Reconnecting…",
      offline: "Offline — reconnecting when the network is back…",
    }[state];
    this.el.dataset.state = state;
    this.el.classList.toggle("flash", false);
    if (text) {
      setText(this.el, text);
      show(this.el);
    } else if (!this.flashTimer) {
      show(this.el, false);
    }
    document.body.classList.toggle("disconnected", state === "reconnecting" || state === "offline");
  }

  /** A passing notice (an error the user should know about). */
  flash(text) {
    setText(this.el, text);
    this.el.classList.add("flash");
    show(this.el);
    clearTimeout(this.flashTimer);
    this.flashTimer = setTimeout(() => {
      this.flashTimer = null;
      this.render(this.state);
    }, 5_000);
  }
}

export class ChatListView {
  constructor(app) {
    this.app = app;
    this.list = $("chat-list");
  }

  render() {
    const store = this.app.store;
    const chats = store.orderedChats();
    show($("chat-list-empty"), chats.length === 0);
    const unread = chats.reduce((sum, chat) => sum + (chat.unread_count || 0), 0);
    document.title = unread ? `(${unread}) Chatter` : "Chatter";
    reconcile(this.list, chats, (chat) => chat.id, (chat) => this.create(chat), (node, chat) => this.update(node, chat));
  }

  create(chat) {
    const button = h("button", { class: "chat-item", attrs: { type: "button" }, on: { click: () => this.app.openChat(chat.id) } },
      h("span", { class: "dot", aria: { hidden: "true" } }),
      h("span", { class: "chat-name" }),
      h("time", { class: "chat-time" }),
      h("span", { class: "preview" }),
      h("span", { class: "badge" }));
    return h("li", {}, button);
  }

  update(node, chat) {
    const store = this.app.store;
    const button = node.firstElementChild;
    const title = store.chatTitle(chat);
    const other = chat.type === "direct" ? store.otherMember(chat) : null;
    const online = other ? store.presence.has(other.user_id) : false;
    const dot = button.querySelector(".dot");
    dot.classList.toggle("online", online);
    show(dot, chat.type === "direct");
    setText(button.querySelector(".chat-name"), title);
    const last = chat.last_message;
    let preview = chat.type === "group" ? "Group" : "Direct chat";
    if (last) {
      const who = last.sender_id === store.me?.id ? "You: " : chat.type === "group" ? `${store.userName(last.sender_id)}: ` : "";
      preview = who + (last.deleted ? "Message deleted" : last.body);
    }
    setText(button.querySelector(".preview"), preview);
    const time = button.querySelector(".chat-time");
    setText(time, shortTime(store.activity(chat)));
    const unread = chat.unread_count || 0;
    const badge = button.querySelector(".badge");
    setText(badge, unread > 99 ? "99+" : String(unread));
    show(badge, unread > 0);
    const label = [title, online ? "online" : null, unread ? `${unread} unread` : null, last ? preview : null]
      .filter(Boolean).join(", ");
    button.setAttribute("aria-label", label);
    if (store.openChatId === chat.id) button.setAttribute("aria-current", "true");
    else button.removeAttribute("aria-current");
    node.dataset.chatId = chat.id;
  }
}

export class ChatView {
  constructor(app) {
    this.app = app;
    this.scroller = $("messages-scroller");
    this.list = $("messages");
    this.editing = null; // key of the message being edited
    this.confirmingDelete = null;
    this.chatId = null;

    $("composer").addEventListener("submit", (event) => {
      event.preventDefault();
      this.submit();
    });
    const input = $("composer-input");
    input.addEventListener("keydown", (event) => {
      if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
        event.preventDefault();
        this.submit();
      }
    });
    input.addEventListener("input", () => {
      this.resize();
      if (this.chatId && input.value.trim()) this.app.typing(this.chatId);
    });
    this.scroller.addEventListener("scroll", () => {
      if (this.scroller.scrollTop < 120 && this.chatId) this.app.loadOlder(this.chatId);
    });
    $("load-older").addEventListener("click", () => this.chatId && this.app.loadOlder(this.chatId));
  }

  open(chatId) {
    if (this.chatId !== chatId) {
      this.list.replaceChildren();
      this.editing = null;
      $("composer-input").value = "";
      this.resize();
    }
    this.chatId = chatId;
    show($("no-chat"), false);
    show($("chat-pane"));
    $("composer-input").focus();
  }

  close() {
    this.chatId = null;
    this.list.replaceChildren();
    show($("chat-pane"), false);
    show($("no-chat"));
  }

  resize() {
    const input = $("composer-input");
    input.rows = Math.min(6, Math.max(1, input.value.split("\n").length));
  }

  submit() {
    const input = $("composer-input");
    const body = input.value.trim();
    if (!body || !this.chatId) return;
    if ([...body].length > 4000) {
      this.app.status.flash("A message has at most 4000 characters.");
      return;
    }
    input.value = "";
    this.resize();
    this.app.send(this.chatId, body);
  }

  hasDraft(chatId) {
    return this.chatId === chatId && $("composer-input").value.trim() !== "";
  }

  scrollAnchor() {
    return { height: this.scroller.scrollHeight, top: this.scroller.scrollTop };
  }

  render({ scrollToEnd = false, keepAnchor = null } = {}) {
    const store = this.app.store;
    const chat = this.chatId ? store.chats.get(this.chatId) : null;
    if (!chat) return;
    const atEnd = this.scroller.scrollHeight - this.scroller.scrollTop - this.scroller.clientHeight < 60;

    setText($("chat-title"), store.chatTitle(chat));
    const other = chat.type === "direct" ? store.otherMember(chat) : null;
    const presence = $("chat-presence");
    show(presence, Boolean(other));
    const online = other ? store.presence.has(other.user_id) : false;
    presence.classList.toggle("online", online);
    presence.setAttribute("aria-label", online ? "online" : "offline");
    presence.setAttribute("role", "img");

    const entry = store.messagesOf(chat.id);
    show($("load-older"), entry.loaded && entry.hasMore);
    const items = [
      ...entry.ordered().map((message) => ({ message })),
      ...store.pendingIn(chat.id).map((pending) => ({ pending })),
    ];
    reconcile(this.list, items, (item) => keyOf(item, store), () => this.create(), (node, item) => this.update(node, item, chat));
    this.renderTyping();

    if (keepAnchor) {
      this.scroller.scrollTop = keepAnchor.top + (this.scroller.scrollHeight - keepAnchor.height);
    } else if (scrollToEnd || atEnd) {
      this.scroller.scrollTop = this.scroller.scrollHeight;
    }
  }

  create() {
    return h("li", { class: "msg" },
      h("div", { class: "meta" },
        h("span", { class: "author" }),
        h("time", { class: "time" }),
        h("span", { class: "edited", text: "edited" })),
      h("p", { class: "body" }),
      h("div", { class: "msg-footer" },
        h("span", { class: "state" }),
        h("span", { class: "actions" })));
  }

  update(node, item, chat) {
    const store = this.app.store;
    const message = item.message;
    const pending = item.pending;
    const mine = pending ? true : message.sender_id === store.me?.id;
    const deleted = Boolean(message && message.deleted);
    const state = pending ? pending.state : "sent";
    node.className = `msg ${mine ? "mine" : "theirs"} ${state}${deleted ? " deleted" : ""}`;
    node.dataset.state = state;
    if (message) node.dataset.seq = String(message.seq);
    else delete node.dataset.seq;

    setText(node.querySelector(".author"), mine ? "You" : store.userName(message.sender_id));
    const time = node.querySelector(".time");
    const created = message ? message.created_at : new Date(pending.at).toISOString();
    setText(time, shortTime(created));
    time.setAttribute("datetime", created);
    show(node.querySelector(".edited"), Boolean(message && message.edited_at && !deleted));

    const key = node.dataset.key;
    const body = node.querySelector(".body");
    if (this.editing === key && message && !deleted) {
      if (!body.querySelector("textarea")) this.startEditor(body, message);
    } else {
      if (body.querySelector("textarea")) body.replaceChildren();
      setText(body, deleted ? "Message deleted" : message ? message.body : pending.body);
    }

    const stateEl = node.querySelector(".state");
    const actions = node.querySelector(".actions");
    let stateText = "";
    const buttons = [];
    if (pending && pending.state === "pending") {
      stateText = "Sending…";
    } else if (pending && pending.state === "failed") {
      stateText = `Not sent: ${pending.error}`;
      buttons.push(["Retry", "Retry sending this message", () => this.app.retry(pending.clientMsgId)]);
      buttons.push(["Discard", "Discard this message", () => this.app.discard(pending.clientMsgId)]);
    } else if (mine && !deleted) {
      const readers = store.readersOf(chat.id, message.seq);
      if (readers.length === 0) stateText = "Sent";
      else if (chat.type === "direct") stateText = "Seen";
      else stateText = `Seen by ${readers.map((id) => store.userName(id)).join(", ")}`;
      if (this.editing !== key) {
        buttons.push(["Edit", "Edit this message", () => this.beginEdit(key)]);
        if (this.confirmingDelete === key) {
          buttons.push(["Really delete?", "Confirm: delete this message", () => this.remove(message)]);
        } else {
          buttons.push(["Delete", "Delete this message", () => this.confirmDelete(key)]);
        }
      }
    }
    setText(stateEl, stateText);
    // The buttons are rebuilt only when they change (rebuilding would drop the focus); their
    // handlers always act on the current item (a pending bubble that became a stored message).
    actions.handlers = buttons.map((b) => b[2]);
    const signature = buttons.map((b) => b[0]).join("|");
    if (actions.dataset.signature !== signature) {
      actions.dataset.signature = signature;
      actions.replaceChildren(...buttons.map(([text, label], index) =>
        h("button", { class: "link", text, attrs: { type: "button" }, aria: { label },
          on: { click: () => actions.handlers[index]() } })));
    }
  }

  beginEdit(key) {
    this.editing = key;
    this.confirmingDelete = null;
    this.render();
  }

  confirmDelete(key) {
    this.confirmingDelete = key;
    this.render();
    const focus = this.list.querySelector(`[data-key="${CSS.escape(key)}"] .actions button:last-child`);
    if (focus) focus.focus();
    setTimeout(() => {
      if (this.confirmingDelete === key) {
        this.confirmingDelete = null;
        this.render();
      }
    }, 4_000);
  }

  async remove(message) {
    this.confirmingDelete = null;
    try {
      await this.app.deleteMessage(message);
    } catch (error) {
      this.app.status.flash(`Could not delete: ${error.message}`);
    }
    this.render();
  }

  startEditor(body, message) {
    // No maxlength: it counts UTF-16 units, the server counts Unicode scalars (4000).
    const editor = h("textarea", { class: "editor", aria: { label: "Edit message" }, attrs: { rows: "2" } });
    editor.value = message.body;
    const finish = () => {
      this.editing = null;
      this.render();
      $("composer-input").focus();
    };
    const save = async () => {
      const text = editor.value.trim();
      if (!text || text === message.body) return finish();
      if ([...text].length > 4000) {
        this.app.status.flash("A message has at most 4000 characters.");
        return;
      }
      try {
        await this.app.editMessage(message, text);
      } catch (error) {
        this.app.status.flash(`Could not edit: ${error.message}`);
      }
      finish();
    };
    editor.addEventListener("keydown", (event) => {
      if (event.key === "Enter" && !event.shiftKey) {
        event.preventDefault();
        save();
      } else if (event.key === "Escape") {
        event.preventDefault();
        finish();
      }
    });
    const buttons = h("div", { class: "edit-actions" },
      h("button", { text: "Save", attrs: { type: "button" }, aria: { label: "Save edit" }, on: { click: save } }),
      h("button", { text: "Cancel", attrs: { type: "button" }, aria: { label: "Cancel edit" }, on: { click: finish } }));
    body.replaceChildren(editor, buttons);
    editor.focus();
  }

  renderTyping() {
    const el = $("typing");
    if (!this.chatId) return setText(el, "");
    const names = this.app.store.typingIn(this.chatId).map((id) => this.app.store.userName(id));
    let text = "";
    if (names.length === 1) text = `${names[0]} is typing…`;
    else if (names.length === 2) text = `${names[0]} and ${names[1]} are typing…`;
    else if (names.length > 2) text = "Several people are typing…";
    setText(el, text);
  }
}

/** One key per message for its whole life: the pending bubble and the stored message share it. */
function keyOf(item, store) {
  if (item.pending) return `${store.me?.id}:${item.pending.clientMsgId}`;
  return `${item.message.sender_id}:${item.message.client_msg_id}`;
}
