// The inspector page's connection list and timeline (used by app.js).
// The list is stable: items are updated in place, and none is added, removed or moved while the
// pointer is on the list, so the item under it stays put. The timeline has a row per shown
// connection with its top-level states over time.
"use strict";

const List = (() => {
  const list = document.getElementById("connections");
  const paused = document.getElementById("list-paused");
  const items = new Map();
  let hovered = false;
  list.addEventListener("pointerenter", () => (hovered = true));
  list.addEventListener("pointerleave", () => {
    hovered = false;
    queueRender();
  });
  list.addEventListener("click", (event) => {
    const item = event.target.closest("li[data-id]");
    if (item !== null) select(Number(item.dataset.id));
  });

  function create(record) {
    const item = document.createElement("li");
    item.dataset.id = String(record.id);
    item.dataset.role = record.role;
    for (const name of ["who", "label", "state"]) {
      const span = document.createElement("span");
      span.className = name;
      item.append(span);
    }
    item.children[0].textContent = `#${record.id} ${record.role}`;
    item.children[1].textContent = record.label;
    return item;
  }

  function update(item, record) {
    item.dataset.state = record.state;
    item.children[2].textContent = endText(record);
    const failed = isFailed(record);
    item.classList.toggle("closed", record.ended !== null);
    item.classList.toggle("failed", failed);
    item.classList.toggle("selected", record.id === selectedId);
    item.hidden = !matches(record);
    const reason = record.failure?.reason ?? record.ended?.reason ?? "";
    item.title = record.ended === null ? `live${failed ? `, failed: ${reason}` : ""}` : `ended: code ${record.ended.code}${record.ended.wasClean ? ", clean" : ""}${reason ? `: ${reason}` : ""}`;
  }

  function render() {
    let waiting = 0;
    for (const [id, item] of items) {
      if (connections.has(id)) continue;
      if (hovered) waiting++;
      else {
        item.remove();
        items.delete(id);
      }
    }
    // Newest first: new items go on top, in id order.
    const fresh = [...connections.values()].filter((record) => !items.has(record.id)).sort((a, b) => a.id - b.id);
    for (const record of fresh) {
      if (hovered) {
        waiting++;
        continue;
      }
      const item = create(record);
      items.set(record.id, item);
      list.prepend(item);
    }
    for (const [id, item] of items) {
      const record = connections.get(id);
      if (record !== undefined) update(item, record);
    }
    paused.hidden = waiting === 0;
    paused.textContent = `${waiting} change${waiting === 1 ? "" : "s"} held while the pointer is on the list`;
  }

  return { render };
})();

const Timeline = (() => {
  const container = document.getElementById("timeline");
  const axis = document.getElementById("timeline-axis");
  /** The timeline shows at most the last minute. */
  const WINDOW = 60_000;
  const MAX_ROWS = 40;
  container.addEventListener("click", (event) => {
    const row = event.target.closest("[data-id]");
    if (row !== null) select(Number(row.dataset.id));
  });

  function segments(record, from, to) {
    const changes = record.lifecycle.filter((entry) => entry.changed);
    const end = record.ended?.at ?? to;
    const result = [];
    changes.forEach((entry, index) => {
      const next = changes[index + 1]?.at ?? end;
      const start = Math.max(entry.at, from);
      const stop = Math.max(start, Math.min(next, to));
      if (next < from) return;
      result.push({ state: entry.state, top: entry.top, start, stop });
    });
    return result;
  }

  function render() {
    const now = Date.now();
    const shown = [...connections.values()].filter(matches).sort((a, b) => b.id - a.id).slice(0, MAX_ROWS);
    const earliest = shown.reduce((min, record) => Math.min(min, record.startedAt), now);
    const from = Math.max(earliest, now - WINDOW);
    const span = Math.max(1000, now - from);
    axis.textContent = `the last ${(span / 1000).toFixed(1)} s, newest connection on top; click a row to select it`;
    const rows = shown.map((record) => {
      const row = document.createElement("div");
      row.className = "tl-row";
      row.dataset.id = String(record.id);
      if (record.id === selectedId) row.classList.add("selected");
      if (isFailed(record)) row.classList.add("failed");
      const label = document.createElement("span");
      label.className = "tl-label";
      label.textContent = `#${record.id} ${record.role}`;
      const track = document.createElement("span");
      track.className = "tl-track";
      for (const segment of segments(record, from, now)) {
        const bar = document.createElement("span");
        bar.className = `tl-seg tl-${segment.top}${segment.state.includes("failed") ? " tl-failed" : ""}`;
        bar.style.left = `${((segment.start - from) / span) * 100}%`;
        bar.style.width = `${Math.max(0.3, ((segment.stop - segment.start) / span) * 100)}%`;
        bar.title = `${segment.state}: +${segment.start - record.startedAt} ms`;
        track.append(bar);
      }
      row.append(label, track);
      return row;
    });
    container.replaceChildren(...rows);
  }

  return { render };
})();
