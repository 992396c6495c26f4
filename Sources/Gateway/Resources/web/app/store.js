// The client's state, and the rules that keep it consistent whatever order REST answers,
// live events, replays and acks arrive in. No DOM here.
//
// Messages are kept per chat by `seq` (and by id), so a message seen twice (replayed and
// live, or acked and created) is still shown once, and a chat always renders in `seq` order.
// Messages being sent are kept by `client_msg_id` until the server's copy arrives.

export class ChatMessages {
  constructor() {
    this.bySeq = new Map();
    this.byId = new Map();
    this.loaded = false; // the latest page of history has been fetched
    this.hasMore = false; // older messages exist before minSeq
    this.loading = false;
  }

  get minSeq() {
    let min = Infinity;
    for (const seq of this.bySeq.keys()) if (seq < min) min = seq;
    return min === Infinity ? 0 : min;
  }

  get maxSeq() {
    let max = 0;
    for (const seq of this.bySeq.keys()) if (seq > max) max = seq;
    return max;
  }

  /** The last seq up to which every message is here. A message can arrive past a hole: the
   * ack of a pending message resent by the tick before the catch-up `sync` went out, on a
   * socket that has just come back. Catching up from `maxSeq` would skip the hole for good. */
  get contiguousSeq() {
    let seq = this.minSeq;
    if (seq === 0) return 0;
    while (this.bySeq.has(seq + 1)) seq += 1;
    return seq;
  }

  /** Ascending by seq. */
  ordered() {
    return [...this.bySeq.values()].sort((a, b) => a.seq - b.seq);
  }

  put(message) {
    const previous = this.byId.get(message.id);
    if (previous && previous.seq !== message.seq) this.bySeq.delete(previous.seq);
    this.bySeq.set(message.seq, message);
    this.byId.set(message.id, message);
  }
}

export class Store {
  constructor() {
    this.reset();
  }

  reset() {
    this.me = null;
    this.users = new Map(); // user id -> User
    this.chats = new Map(); // chat id -> Chat (REST shape, kept current by events)
    this.messages = new Map(); // chat id -> ChatMessages
    this.pending = new Map(); // client_msg_id -> {chatId, body, clientMsgId, state, error, at, sentAt}
    this.presence = new Map(); // user id -> "online"
    this.typing = new Map(); // chat id -> Map(user id -> expires at ms)
    this.reads = new Map(); // chat id -> Map(user id -> read seq), from read.updated
    this.openChatId = null;
  }

  messagesOf(chatId) {
    let entry = this.messages.get(chatId);
    if (!entry) {
      entry = new ChatMessages();
      this.messages.set(chatId, entry);
    }
    return entry;
  }

  rememberUsers(users) {
    for (const user of users) this.users.set(user.id, user);
  }

  userName(userId) {
    if (this.me && userId === this.me.id) return "You";
    const user = this.users.get(userId);
    if (!user) return "Someone";
    return user.display_name || user.username;
  }

  unknownUserIds() {
    const ids = new Set();
    for (const chat of this.chats.values()) {
      for (const member of chat.members || []) if (!this.users.has(member.user_id)) ids.add(member.user_id);
    }
    return ids;
  }

  otherMember(chat) {
    return (chat.members || []).find((m) => !this.me || m.user_id !== this.me.id);
  }

  chatTitle(chat) {
    if (chat.type === "group") return chat.title || "Untitled group";
    const other = this.otherMember(chat);
    return other ? this.userName(other.user_id) : "Just you";
  }

  myRole(chat) {
    const mine = (chat.members || []).find((m) => this.me && m.user_id === this.me.id);
    return mine ? mine.role : null;
  }

  activity(chat) {
    return chat.last_message ? chat.last_message.created_at : chat.created_at;
  }

  /** Chats, most recent activity first. */
  orderedChats() {
    return [...this.chats.values()].sort((a, b) => {
      const x = this.activity(a);
      const y = this.activity(b);
      return x < y ? 1 : x > y ? -1 : 0;
    });
  }

  /** A chat from GET /v1/chats or /v1/chats/{id}: authoritative for the per-reader fields. */
  upsertChat(chat) {
    const current = this.chats.get(chat.id);
    const merged = { ...(current || {}), ...chat };
    // A message already applied live may be newer than this answer.
    if (current && current.last_seq > chat.last_seq) {
      merged.last_seq = current.last_seq;
      merged.last_message = current.last_message;
    }
    this.chats.set(chat.id, merged);
    return merged;
  }

  /** A ChatSnapshot from an event: members and title only. */
  applySnapshot(snapshot) {
    const current = this.chats.get(snapshot.id);
    if (!current) {
      this.chats.set(snapshot.id, { last_seq: 0, unread_count: 0, ...snapshot });
      return true;
    }
    current.title = snapshot.title;
    current.members = snapshot.members;
    return false;
  }

  removeChat(chatId) {
    this.chats.delete(chatId);
    this.messages.delete(chatId);
    this.typing.delete(chatId);
    this.reads.delete(chatId);
    for (const [id, item] of this.pending) if (item.chatId === chatId) this.pending.delete(id);
  }

  /**
   * A message from history, a replay, a live event, an ack or an edit. Returns
   * {isNew, fromOther}: isNew when it moved the chat's last_seq forward.
   */
  applyMessage(message) {
    const entry = this.messagesOf(message.chat_id);
    const known = entry.byId.get(message.id);
    // An older state must not overwrite a newer one (an edit answer racing its event).
    if (known && isOlder(message, known)) return { isNew: false, fromOther: false };
    entry.put(message);
    // The server moves a sender's read marker to their own message ("you have read what you
    // wrote") without a read.updated event.
    this.markRead(message.chat_id, message.sender_id, message.seq);
    if (this.me && message.sender_id === this.me.id) {
      const item = this.pending.get(message.client_msg_id);
      if (item && item.chatId === message.chat_id) this.pending.delete(message.client_msg_id);
    }
    const chat = this.chats.get(message.chat_id);
    if (!chat) return { isNew: false, fromOther: false };
    if (message.seq > (chat.last_seq || 0)) {
      chat.last_seq = message.seq;
      chat.last_message = message;
      const fromOther = !this.me || message.sender_id !== this.me.id;
      return { isNew: true, fromOther };
    }
    if (chat.last_message && chat.last_message.id === message.id) chat.last_message = message;
    return { isNew: false, fromOther: false };
  }

  /** The `since` of a `sync`: per chat, the last seq up to which this client holds every
   * message (`contiguousSeq`). */
  syncPositions() {
    const since = {};
    for (const chat of this.chats.values()) {
      const entry = this.messages.get(chat.id);
      since[chat.id] = entry && entry.loaded ? entry.contiguousSeq : chat.last_seq || 0;
    }
    return since;
  }

  /** A member's read marker only moves forward. */
  markRead(chatId, userId, seq) {
    const reads = this.readsOf(chatId);
    if ((reads.get(userId) || 0) < seq) reads.set(userId, seq);
  }

  readsOf(chatId) {
    let reads = this.reads.get(chatId);
    if (!reads) {
      reads = new Map();
      this.reads.set(chatId, reads);
    }
    return reads;
  }

  /** Members other than me whose read marker is at or past seq. */
  readersOf(chatId, seq) {
    const reads = this.reads.get(chatId);
    if (!reads) return [];
    return [...reads].filter(([userId, read]) => read >= seq && (!this.me || userId !== this.me.id)).map(([userId]) => userId);
  }

  typingIn(chatId, now = Date.now()) {
    const typing = this.typing.get(chatId);
    if (!typing) return [];
    for (const [userId, until] of typing) if (until <= now) typing.delete(userId);
    return [...typing.keys()];
  }

  pendingIn(chatId) {
    return [...this.pending.values()].filter((p) => p.chatId === chatId).sort((a, b) => a.at - b.at);
  }
}

/** Whether `candidate` is an earlier state of the same message than `known`. */
function isOlder(candidate, known) {
  if (known.deleted) return !candidate.deleted;
  if (candidate.deleted) return false;
  if (!known.edited_at) return false;
  return !candidate.edited_at || candidate.edited_at < known.edited_at;
}
