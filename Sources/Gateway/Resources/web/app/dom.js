// Small DOM helpers. Text goes in through textContent only: nothing here parses HTML.

export const $ = (id) => document.getElementById(id);

/**
 * h("button", {class: "x", text: "Hi", aria: {label: "Say hi"}, on: {click: f}, attrs: {type: "button"}}, ...children)
 * Children are nodes or strings (strings become text nodes).
 */
export function h(tag, props = {}, ...children) {
  const el = document.createElement(tag);
  if (props.class) el.className = props.class;
  if (props.text !== undefined) el.textContent = props.text;
  for (const [name, value] of Object.entries(props.attrs || {})) {
    if (value !== undefined && value !== null && value !== false) el.setAttribute(name, value === true ? "" : String(value));
  }
  for (const [name, value] of Object.entries(props.aria || {})) el.setAttribute(`aria-${name}`, String(value));
  for (const [name, handler] of Object.entries(props.on || {})) el.addEventListener(name, handler);
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    el.append(typeof child === "string" ? document.createTextNode(child) : child);
  }
  return el;
}

export function show(el, visible = true) {
  el.hidden = !visible;
}

export function setText(el, text) {
  if (el.textContent !== text) el.textContent = text;
}

/**
 * Makes `container`'s children match `items` in order, reusing the node of each key:
 * create(item) builds a node, update(node, item) refreshes it. Nodes that are already in
 * place are not moved (moving a node would blur a focused control inside it).
 */
export function reconcile(container, items, keyOf, create, update) {
  const existing = new Map();
  for (const node of container.children) existing.set(node.dataset.key, node);
  let cursor = container.firstElementChild;
  const wanted = new Set();
  for (const item of items) {
    const key = keyOf(item);
    wanted.add(key);
    let node = existing.get(key);
    if (!node) {
      node = create(item);
      node.dataset.key = key;
    }
    update(node, item);
    if (node !== cursor) container.insertBefore(node, cursor);
    else cursor = cursor.nextElementSibling;
  }
  for (const [key, node] of existing) if (!wanted.has(key)) node.remove();
}

/** A UUID v4 from crypto.getRandomValues (crypto.randomUUID needs a secure context). */
export function uuid() {
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  bytes[6] = (bytes[6] & 0x0f) | 0x40;
  bytes[8] = (bytes[8] & 0x3f) | 0x80;
  const hex = Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

const timeFormat = new Intl.DateTimeFormat(undefined, { hour: "2-digit", minute: "2-digit" });
const dayFormat = new Intl.DateTimeFormat(undefined, { month: "short", day: "numeric" });

export function shortTime(iso) {
  if (!iso) return "";
  const date = new Date(iso);
  const now = new Date();
  return date.toDateString() === now.toDateString() ? timeFormat.format(date) : dayFormat.format(date);
}

export function debounce(fn, ms) {
  let timer = null;
  return (...args) => {
    clearTimeout(timer);
    timer = setTimeout(() => fn(...args), ms);
  };
}
