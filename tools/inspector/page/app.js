// The offline inspector page: reads the live feed (a WebSocket served by wsmachine at /live) and
// shows the connections on the chart the server drew from the machine definition. Plain browser
// JavaScript, no build step and nothing loaded from elsewhere.
"use strict";

/** How long an ended connection stays selected before "follow the newest" moves on (ms). */
const LINGER = 1500;

/** @type {Map<number, any>} connection records by id, as the server sends them */
const connections = new Map();
let selectedId = null;
let renderQueued = false;

const $ = (id) => document.getElementById(id);
const followBox = $("follow");

function connectFeed() {
  const feed = new WebSocket(`ws://${location.host}/live`);
  feed.onopen = () => {
    $("feed-status").textContent = "live";
    $("feed-status").classList.add("connected");
  };
  feed.onmessage = (message) => {
    apply(JSON.parse(message.data));
    queueRender();
  };
  feed.onclose = () => {
    $("feed-status").textContent = "feed closed, reconnecting…";
    $("feed-status").classList.remove("connected");
    setTimeout(connectFeed, 1000);
  };
}

function apply(message) {
  switch (message.type) {
    case "hello":
      connections.clear();
      for (const record of message.connections) connections.set(record.id, record);
      break;
    case "connection":
      connections.set(message.connection.id, message.connection);
      break;
    case "lifecycle": {
      const record = connections.get(message.id);
      if (record === undefined) return;
      record.lifecycle.push(message.entry);
      record.state = message.entry.state;
      break;
    }
    case "frame": {
      const record = connections.get(message.id);
      if (record === undefined) return;
      record.frames.push(message.entry);
      if (record.frames.length > 300) {
        record.frames.shift();
        record.framesDropped++;
      }
      break;
    }
    case "ended": {
      const record = connections.get(message.id);
      if (record !== undefined) record.ended = message.ended;
      break;
    }
    case "forget":
      // The server keeps a bounded history; a connection someone chose stays on the page.
      if (message.id === selectedId && !followBox.checked) connections.get(message.id).forgotten = true;
      else connections.delete(message.id);
      if (selectedId === message.id && followBox.checked) selectedId = null;
      break;
  }
}

function queueRender() {
  if (renderQueued) return;
  renderQueued = true;
  requestAnimationFrame(() => {
    renderQueued = false;
    render();
  });
}

/** With "follow the newest" on: keep the selection until it has ended for a while, then take the newest. */
function follow() {
  if (!followBox.checked) return;
  const selected = selectedId === null ? undefined : connections.get(selectedId);
  if (selected !== undefined && (selected.ended === null || Date.now() - selected.ended.at < LINGER)) return;
  let newest = null;
  for (const record of connections.values()) if (newest === null || record.id > newest.id) newest = record;
  if (newest !== null) selectedId = newest.id;
}

function render() {
  follow();
  renderList();
  renderChart();
  renderDetail();
  let live = 0;
  for (const record of connections.values()) if (record.ended === null) live++;
  $("summary").textContent = `${live} live, ${connections.size} kept`;
}

function renderList() {
  const list = $("connections");
  const items = [];
  const records = [...connections.values()].sort((a, b) => b.id - a.id);
  for (const record of records) {
    const item = document.createElement("li");
    item.dataset.id = String(record.id);
    item.dataset.role = record.role;
    item.dataset.state = record.state;
    if (record.ended !== null) item.classList.add("closed");
    if (record.id === selectedId) item.classList.add("selected");
    item.append(cell(`#${record.id} ${record.role}`), cell(record.label), cell(record.ended === null ? record.state : `${record.state} (${record.ended.code})`, "state"));
    item.title = record.ended === null ? "live" : `ended: code ${record.ended.code}${record.ended.wasClean ? ", clean" : ""}`;
    items.push(item);
  }
  list.replaceChildren(...items);
}

function cell(text, className) {
  const span = document.createElement("span");
  span.textContent = text;
  if (className !== undefined) span.className = className;
  return span;
}

/** "OPEN.active" → ["OPEN", "OPEN.active"]: a state and its ancestors, as the chart's data-state ids. */
function withAncestors(state) {
  const parts = state.split(".");
  return parts.map((_, index) => parts.slice(0, index + 1).join("."));
}

function renderChart() {
  const counts = new Map();
  for (const record of connections.values()) {
    if (record.ended !== null || record.state === "") continue;
    for (const id of withAncestors(record.state)) counts.set(id, (counts.get(id) ?? 0) + 1);
  }
  for (const badge of document.querySelectorAll("svg.chart [data-badge]")) {
    const count = counts.get(badge.dataset.badge) ?? 0;
    badge.textContent = count === 0 ? "" : `${count} live`;
    badge.parentElement.classList.toggle("occupied", count > 0);
  }
  const selected = selectedId === null ? undefined : connections.get(selectedId);
  const current = new Set(selected === undefined || selected.state === "" ? [] : withAncestors(selected.state));
  for (const node of document.querySelectorAll("svg.chart g.state")) node.classList.toggle("current", current.has(node.dataset.state));

  // The edge of the selected connection's last state change: from its previous state (or an
  // ancestor: the chart groups long transitions by top-level state) to its new one (or an ancestor).
  let taken = null;
  if (selected !== undefined) {
    const changes = selected.lifecycle.filter((entry) => entry.changed);
    if (changes.length >= 2) {
      const from = withAncestors(changes[changes.length - 2].state);
      const to = withAncestors(changes[changes.length - 1].state);
      let best = -1;
      for (const edge of document.querySelectorAll("svg.chart g.transition")) {
        const fromDepth = from.indexOf(edge.dataset.from);
        const toDepth = to.indexOf(edge.dataset.to);
        if (fromDepth === -1 || toDepth === -1) continue;
        if (fromDepth + toDepth > best) {
          best = fromDepth + toDepth;
          taken = edge;
        }
      }
    }
  }
  for (const edge of document.querySelectorAll("svg.chart g.transition")) edge.classList.toggle("taken", edge === taken);
}

function time(record, at) {
  return `+${at - record.startedAt} ms`;
}

function row(cells, attributes) {
  const tr = document.createElement("tr");
  for (const [text, className] of cells) {
    const td = document.createElement("td");
    td.textContent = text;
    if (className) td.className = className;
    tr.append(td);
  }
  for (const [name, value] of Object.entries(attributes ?? {})) tr.dataset[name] = value;
  return tr;
}

function renderDetail() {
  const record = selectedId === null ? undefined : connections.get(selectedId);
  if (record === undefined) {
    $("detail-title").textContent = "No connection selected";
    $("lifecycle").replaceChildren();
    $("frames").replaceChildren();
    return;
  }
  const ended = record.ended === null ? "live" : `ended, code ${record.ended.code}${record.ended.wasClean ? ", clean" : ""}`;
  $("detail-title").textContent = `#${record.id} ${record.role} ${record.label} (${ended})`;
  $("lifecycle").replaceChildren(
    ...record.lifecycle.map((entry) =>
      row(
        [
          [time(record, entry.at), "time"],
          [entry.detail === "" ? entry.event : `${entry.event} (${entry.detail})`],
          [entry.changed ? `→ ${entry.state}` : `(${entry.state})`, entry.changed ? "" : "unchanged"],
        ],
        { state: entry.state, top: entry.top, changed: String(entry.changed) },
      ),
    ),
  );
  const frames = record.frames.map((frame) =>
    row(
      [
        [time(record, frame.at), "time"],
        [frame.direction === "in" ? "← in" : "→ out", `dir-${frame.direction}`],
        [frame.frameFinished ? frame.opcodeName : `${frame.opcodeName} (part)`],
        [String(frame.length)],
        [frame.closeCode === undefined ? "" : String(frame.closeCode)],
      ],
      { direction: frame.direction, opcode: frame.opcodeName },
    ),
  );
  if (record.framesDropped > 0) frames.unshift(row([["", ""], [`${record.framesDropped} earlier frames not kept`]]));
  $("frames").replaceChildren(...frames);
}

$("connections").addEventListener("click", (event) => {
  const item = event.target.closest("li[data-id]");
  if (item === null) return;
  // Choosing a connection pins it: following the newest would take it away.
  followBox.checked = false;
  forgetUnselected();
  selectedId = Number(item.dataset.id);
  render();
});
followBox.addEventListener("change", () => {
  forgetUnselected();
  render();
});

/** Drop the connection the server already forgot, once it is no longer the chosen one. */
function forgetUnselected() {
  const selected = selectedId === null ? undefined : connections.get(selectedId);
  if (selected !== undefined && selected.forgotten) connections.delete(selectedId);
}
// Ended connections linger, then "follow" moves on: re-render even when the feed is quiet.
setInterval(queueRender, 500);

connectFeed();
