// The inspector page's trace viewer: opens a flight-recorder trace (JSON Lines, README "Flight
// recorder") from a file picker, a drop, or the live page's "open trace" link, and steps
// through it with the chart showing the state and the route at each step. Needs no server: the
// same code runs in the standalone page opened from disk.
"use strict";

const Trace = (() => {
  const $ = (id) => document.getElementById(id);
  const PREVIEW_BYTES = 32;
  let trace = null;
  let step = 0;

  function parse(text) {
    const lines = [];
    text.split("\n").forEach((line, index) => {
      if (line.trim() === "") return;
      let parsed;
      try {
        parsed = JSON.parse(line);
      } catch (error) {
        throw new Error(`line ${index + 1} is not JSON (${error.message})`);
      }
      if (typeof parsed !== "object" || parsed === null || typeof parsed.type !== "string") throw new Error(`line ${index + 1} is not a trace entry`);
      lines.push(parsed);
    });
    if (lines[0]?.type !== "start") throw new Error('a wsmachine trace begins with a "start" line; this file does not');
    return lines;
  }

  function bytesOf(json) {
    if (typeof json !== "string") return null;
    const binary = atob(json);
    const bytes = new Uint8Array(binary.length);
    for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
    return bytes;
  }

  /** { length, hex, text } of a payload as recorded: base64 bytes, a string, or { redacted: n }. */
  function preview(json) {
    if (json === null || json === undefined) return null;
    if (typeof json === "object") return { length: json.redacted, hex: "(redacted)", text: "(redacted)" };
    const bytes = bytesOf(json);
    const head = bytes.subarray(0, PREVIEW_BYTES);
    const hex = [...head].map((byte) => byte.toString(16).padStart(2, "0")).join(" ");
    return { length: bytes.length, hex, text: String.fromCharCode(...head).replace(/[\u0000-\u001f\u007f-\u009f]/g, "·") };
  }

  function textPreview(text) {
    const head = new TextEncoder().encode(text.slice(0, PREVIEW_BYTES)).subarray(0, PREVIEW_BYTES);
    return { length: text.length, hex: [...head].map((byte) => byte.toString(16).padStart(2, "0")).join(" "), text: text.slice(0, PREVIEW_BYTES).replace(/[\u0000-\u001f]/g, "·") };
  }

  function eventSummary(event) {
    switch (event.type) {
      case "CloseConnection":
        return { text: `CloseConnection ${event.code}${event.reason ? ` "${event.reason}"` : ""}`, payload: null };
      case "Request":
        return { text: `Request ${event.target}${event.extensions.length > 0 ? ` (offers ${event.extensions.map((e) => e.name ?? e).join(", ")})` : ""}`, payload: null };
      case "AcceptConnection":
        return { text: `AcceptConnection${event.extensions.length > 0 ? ` (${event.extensions.map((e) => e.name ?? e).join(", ")})` : ""}`, payload: null };
      case "RejectConnection":
        return { text: `RejectConnection ${event.statusCode}`, payload: null };
      case "Ping":
      case "Pong":
        return { text: event.type, payload: preview(event.payload) };
      default: {
        const payload = typeof event.data === "string" && event.text ? textPreview(event.data) : preview(event.data);
        return { text: `${event.type}${event.messageFinished === false ? " (part)" : ""}`, payload };
      }
    }
  }

  /** What a line did, in words, and the bytes to preview. */
  function describe(line) {
    const failed = line.error ? ` → threw ${line.error.name}: ${line.error.message}` : "";
    switch (line.type) {
      case "start":
        return { what: `${line.role} created${line.redacted ? " (payloads redacted)" : ""}`, payload: null };
      case "receive":
        return line.data === null ? { what: `EOF received${failed}`, payload: null } : { what: `received ${preview(line.data).length} bytes${failed}`, payload: preview(line.data) };
      case "upgrade":
        return { what: `request ${line.target} (parsed by the HTTP stack)${failed}`, payload: null };
      case "send": {
        const summary = eventSummary(line.event);
        return { what: `send ${summary.text}${failed}`, payload: summary.payload };
      }
      case "event": {
        const summary = eventSummary(line.event);
        return { what: `event ${summary.text}`, payload: summary.payload };
      }
      case "drained":
        return { what: "events() ran out", payload: null };
      case "truncated":
        return { what: `the recording stopped here (size bound, ${line.bytes} bytes)`, payload: null };
      default:
        return { what: line.type, payload: null };
    }
  }

  /** The states entered up to `upTo`, in order, and whether the route is a failure's. */
  function route(upTo) {
    const states = [];
    let failed = false;
    for (const line of trace.lines.slice(0, upTo + 1)) {
      if (line.state && line.state !== states[states.length - 1]) states.push(line.state);
      if (line.error || (line.state && line.state.includes("failed"))) failed = true;
    }
    return { states, failed };
  }

  function cell(text, className) {
    const td = document.createElement("td");
    td.textContent = text;
    if (className) td.className = className;
    return td;
  }

  function renderTable() {
    const start = trace.lines[0].at;
    const rows = trace.lines.map((line, index) => {
      const { what, payload } = describe(line);
      const tr = document.createElement("tr");
      tr.dataset.step = String(index);
      tr.dataset.type = line.type;
      if (line.error) tr.classList.add("error");
      const previous = trace.lines[index - 1];
      const changed = index === 0 || (line.state && previous && line.state !== previous.state);
      tr.append(
        cell(String(index), "step"),
        cell(`+${(line.at ?? start) - start} ms`, "time"),
        cell(what),
        cell(changed ? `→ ${line.state}` : `(${line.state ?? ""})`, changed ? "" : "unchanged"),
        cell(payload === null ? "" : payload.hex, "preview hex"),
        cell(payload === null ? "" : payload.text, "preview text"),
      );
      tr.addEventListener("click", () => go(index));
      return tr;
    });
    $("trace-steps").replaceChildren(...rows);
  }

  function render() {
    const line = trace.lines[step];
    const { states, failed } = route(step);
    Chart.showRoute(states, failed);
    Chart.showCounts([]);
    $("step-slider").max = String(trace.lines.length - 1);
    $("step-slider").value = String(step);
    $("step-label").textContent = `step ${step} of ${trace.lines.length - 1}: ${line.state ?? ""}`;
    for (const row of $("trace-steps").children) row.classList.toggle("current", row.dataset.step === String(step));
    $("trace-steps").children[step]?.scrollIntoView({ block: "nearest" });
  }

  function go(index) {
    if (trace === null) return;
    step = Math.max(0, Math.min(trace.lines.length - 1, index));
    render();
  }

  /** Show a trace; `name` is where it came from. Errors are shown, not thrown. */
  function load(text, name) {
    let lines;
    try {
      lines = parse(text);
    } catch (error) {
      $("trace-error").textContent = `${name}: ${error.message}`;
      $("trace-error").hidden = false;
      return false;
    }
    $("trace-error").hidden = true;
    trace = { lines, name };
    const start = lines[0];
    const failed = route(lines.length - 1).failed;
    $("trace-title").textContent = `${name}: a ${start.role}, ${lines.length} steps${failed ? ", failed" : ""}`;
    $("trace-title").classList.toggle("failed", failed);
    document.body.classList.add("trace-mode");
    renderTable();
    go(0);
    return true;
  }

  function close() {
    trace = null;
    document.body.classList.remove("trace-mode");
  }

  function loadFile(file) {
    file.text().then((text) => load(text, file.name));
  }

  $("trace-file").addEventListener("change", (event) => {
    const file = event.target.files[0];
    if (file !== undefined) loadFile(file);
    event.target.value = "";
  });
  document.addEventListener("dragover", (event) => {
    event.preventDefault();
    document.body.classList.add("dropping");
  });
  document.addEventListener("dragleave", () => document.body.classList.remove("dropping"));
  document.addEventListener("drop", (event) => {
    event.preventDefault();
    document.body.classList.remove("dropping");
    const file = event.dataTransfer.files[0];
    if (file !== undefined) loadFile(file);
  });
  $("step-first").addEventListener("click", () => go(0));
  $("step-prev").addEventListener("click", () => go(step - 1));
  $("step-next").addEventListener("click", () => go(step + 1));
  $("step-last").addEventListener("click", () => go(Infinity));
  $("step-slider").addEventListener("input", (event) => go(Number(event.target.value)));
  document.addEventListener("keydown", (event) => {
    if (trace === null || event.target.tagName === "INPUT") return;
    if (event.key === "ArrowRight") go(step + 1);
    else if (event.key === "ArrowLeft") go(step - 1);
  });

  return { load, close, active: () => trace !== null };
})();
