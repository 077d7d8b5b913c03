// The inspector page's live view: reads the feed (a WebSocket served by wsmachine at /live) and
// shows the connections: a stable, filterable list, the selected one's route on the chart, its
// lifecycle and frames (with payload previews), and a timeline of every connection's states.
// Plain browser JavaScript, no build step and nothing loaded from elsewhere. Opened from disk
// (the standalone page), there is no feed: only trace files (trace.js).
"use strict";

/** How long an ended connection stays selected before "follow the newest" moves on (ms). */
const LINGER = 1500;
const MAX_FRAMES = 300;
const TOP_STATES = ["CONNECTING", "OPEN", "REJECTING", "LOCAL_CLOSING", "REMOTE_CLOSING", "CLOSED"];

/** @type {Map<number, any>} connection records by id, as the server sends them */
const connections = new Map();
let selectedId = null;
let renderQueued = false;

const $ = (id) => document.getElementById(id);
const followBox = $("follow");
const live = location.protocol === "http:" || location.protocol === "https:";

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
  const record = message.id === undefined ? undefined : connections.get(message.id);
  switch (message.type) {
    case "hello":
      connections.clear();
      for (const each of message.connections) connections.set(each.id, each);
      break;
    case "connection":
      connections.set(message.connection.id, message.connection);
      break;
    case "lifecycle":
      if (record === undefined) return;
      record.lifecycle.push(message.entry);
      record.state = message.entry.state;
      break;
    case "frame":
      if (record === undefined) return;
      record.frames.push(message.entry);
      if (record.frames.length > MAX_FRAMES) {
        record.frames.shift();
        record.framesDropped++;
      }
      break;
    case "failure":
      if (record !== undefined) record.failure = message.failure;
      break;
    case "ended":
      if (record !== undefined) record.ended = message.ended;
      break;
    case "forget":
      // The server keeps a bounded history; the connection someone chose stays on the page.
      if (message.id === selectedId && !followBox.checked) record.forgotten = true;
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

/** With "follow the newest" on: keep the selection until it has ended for a while, then take the newest shown. */
function follow() {
  if (!followBox.checked) return;
  const selected = selectedId === null ? undefined : connections.get(selectedId);
  if (selected !== undefined && (selected.ended === null || Date.now() - selected.ended.at < LINGER)) return;
  let newest = null;
  for (const record of connections.values()) if (matches(record) && (newest === null || record.id > newest.id)) newest = record;
  if (newest !== null) selectedId = newest.id;
}

function render() {
  if (Trace.active()) return;
  follow();
  List.render();
  const liveStates = [];
  for (const record of connections.values()) if (record.ended === null && record.state !== "") liveStates.push(record.state);
  Chart.showCounts(liveStates);
  const selected = selectedId === null ? undefined : connections.get(selectedId);
  Chart.showRoute(selected === undefined ? [] : route(selected), selected !== undefined && isFailed(selected));
  renderDetail(selected);
  Timeline.render();
  let failed = 0;
  for (const record of connections.values()) if (isFailed(record)) failed++;
  $("summary").textContent = `${liveStates.length} live, ${connections.size} kept, ${failed} failed`;
}

/** The states a connection entered, in order. */
function route(record) {
  return record.lifecycle.filter((entry) => entry.changed).map((entry) => entry.state);
}

/** Failed: refused the peer's input, or ended with a code other than a normal or going-away close. */
function isFailed(record) {
  return record.failure !== null || (record.ended !== null && record.ended.code !== 1000 && record.ended.code !== 1001);
}

function matches(record) {
  const role = $("filter-role").value;
  const state = $("filter-state").value;
  const search = $("search").value.trim().toLowerCase();
  if (role !== "" && record.role !== role) return false;
  if (state === "live" && record.ended !== null) return false;
  if (state !== "" && state !== "live" && record.state.split(".")[0] !== state) return false;
  if ($("filter-failed").checked && !isFailed(record)) return false;
  if (search === "") return true;
  const text = `#${record.id} ${record.role} ${record.label} ${record.state} ${record.ended?.code ?? ""} ${record.failure?.reason ?? ""} ${record.ended?.reason ?? ""}`;
  return text.toLowerCase().includes(search);
}

function endText(record) {
  if (record.ended === null) return record.state;
  return `${record.state} (${record.ended.code})`;
}

function cell(text, className) {
  const element = document.createElement("td");
  element.textContent = text;
  if (className) element.className = className;
  return element;
}

/** Long texts (a failure's reason) are cut in the tables, whole in the tooltip: the failure banner shows them. */
const CELL_TEXT = 44;

function row(cells, attributes) {
  const tr = document.createElement("tr");
  for (const [text, className] of cells) {
    const td = cell(text.length > CELL_TEXT ? `${text.slice(0, CELL_TEXT - 1)}…` : text, className);
    if (text.length > CELL_TEXT) td.title = text;
    tr.append(td);
  }
  for (const [name, value] of Object.entries(attributes ?? {})) tr.dataset[name] = value;
  return tr;
}

function time(record, at) {
  return `+${at - record.startedAt} ms`;
}

function renderDetail(record) {
  if (record === undefined) {
    $("detail-title").textContent = "No connection selected";
    $("detail-failure").hidden = true;
    $("detail-links").replaceChildren();
    for (const id of ["path", "lifecycle", "frames"]) $(id).replaceChildren();
    return;
  }
  const ended = record.ended === null ? "live" : `ended, code ${record.ended.code}${record.ended.wasClean ? ", clean" : ""}`;
  $("detail-title").textContent = `#${record.id} ${record.role} ${record.label} (${ended})`;
  $("detail-title").classList.toggle("failed", isFailed(record));
  const failure = record.failure ?? (isFailed(record) ? { code: record.ended.code, reason: record.ended.reason || "the transport closed without a close frame" } : null);
  $("detail-failure").hidden = failure === null;
  if (failure !== null) $("detail-failure").textContent = `failed: ${failure.code} ${failure.reason}`;
  renderLinks(record);
  $("path").replaceChildren(
    ...route(record).map((state, index) => {
      const item = document.createElement("li");
      item.textContent = state;
      item.dataset.state = state;
      if (state.includes("failed")) item.classList.add("failed");
      return item;
    }),
  );
  $("lifecycle").replaceChildren(
    ...record.lifecycle.map((entry) =>
      row(
        [
          [time(record, entry.at), "time"],
          [entry.detail === "" ? entry.event : `${entry.event} (${entry.detail})`, entry.event === "peer.protocolError" || entry.event === "peer.handshakeFailed" ? "failure" : ""],
          [entry.changed ? `→ ${entry.state}` : `(${entry.state})`, entry.changed ? "" : "unchanged"],
        ],
        { state: entry.state, top: entry.top, changed: String(entry.changed) },
      ),
    ),
  );
  const frames = record.frames.map((frame) => {
    const refused = frame.refused !== undefined;
    const tr = row(
      [
        [time(record, frame.at), "time"],
        [frame.direction === "in" ? "← in" : "→ out", `dir-${frame.direction}`],
        [refused ? `refused (${frame.refused.code})` : frame.frameFinished ? frame.opcodeName : `${frame.opcodeName} (part)`, refused ? "failure" : ""],
        [String(frame.length)],
        [refused ? frame.refused.reason : frame.closeCode === undefined ? "" : String(frame.closeCode), refused ? "failure" : ""],
        [frame.preview?.hex ?? "", "preview hex"],
        [frame.preview?.text ?? "", "preview text"],
      ],
      { direction: frame.direction, opcode: frame.opcodeName },
    );
    if (refused) tr.classList.add("refused");
    return tr;
  });
  if (record.framesDropped > 0) frames.unshift(row([["", ""], [`${record.framesDropped} earlier frames not kept`]]));
  $("frames").replaceChildren(...frames);
}

/** The connection's trace, to download or to step through (when the server kept one). */
function renderLinks(record) {
  if ($("detail-links").dataset.id === String(record.id)) return;
  $("detail-links").dataset.id = String(record.id);
  const download = document.createElement("a");
  download.href = `trace/${record.id}.jsonl`;
  download.download = `wsmachine-${record.id}.jsonl`;
  download.textContent = "download its trace";
  const open = document.createElement("button");
  open.id = "open-trace";
  open.textContent = "step through its trace";
  open.addEventListener("click", async () => {
    const response = await fetch(`trace/${record.id}.jsonl`);
    if (!response.ok) {
      $("detail-failure").hidden = false;
      $("detail-failure").textContent = `no trace kept for #${record.id} (${response.status})`;
      return;
    }
    Trace.load(await response.text(), `connection #${record.id}`);
  });
  $("detail-links").replaceChildren(download, open);
}

/** Select a connection from the list or the timeline: it is pinned (following would move on). */
function select(id) {
  followBox.checked = false;
  forgetUnselected();
  selectedId = id;
  render();
}

/** Drop the connection the server already forgot, once it is no longer the chosen one. */
function forgetUnselected() {
  const selected = selectedId === null ? undefined : connections.get(selectedId);
  if (selected !== undefined && selected.forgotten) connections.delete(selectedId);
}

for (const id of ["filter-role", "filter-state", "filter-failed", "search"]) $(id).addEventListener("input", () => render());
followBox.addEventListener("change", () => {
  forgetUnselected();
  render();
});
$("redact").addEventListener("change", () => document.body.classList.toggle("redacted", $("redact").checked));
$("live-mode").addEventListener("click", () => {
  Trace.close();
  render();
});
for (const state of TOP_STATES) $("filter-state").append(new Option(state, state));

if (live) {
  // Ended connections linger, then "follow" moves on: re-render even when the feed is quiet.
  setInterval(queueRender, 500);
  connectFeed();
} else {
  $("feed-status").textContent = "opened from disk: no live feed; open a trace file (button or drop)";
  document.body.classList.add("offline");
}
