// The softphone page: places calls through the simulator's control API, follows them live over
// GET /sim/events (Server-Sent Events) and shows what each one is doing. Plain browser JS, no build step.
// It talks to the simulator only, so it works with any IVR app, Node-RED flow or not.

import { clock, compact, describeComponent, h, historyRow, pretty, startedData } from "./describe.js";

const PHASES = {
  waiting: "waiting",
  controlled: "controlled",
  released: "released",
  ended: "ended",
};
const FRAMES_KEPT = 1000;

const state = {
  /** ivrid → call snapshot (SimCallInfo) */
  calls: new Map(),
  /** ivrid → Map(seq → frame) */
  frames: new Map(),
  /** calls whose earlier frames were fetched */
  fetched: new Set(),
  selected: null,
  connections: null,
  /** frame seqs whose details are open */
  open: new Set(),
};

const $ = (id) => document.getElementById(id);

/** Whether nobody took the call: it reached no subscribed app, or none accepted it in time. */
function noTaker(call) {
  if (call.controller) return undefined;
  const key = call.key;
  // The first cause wins: a call nobody received could not have been accepted either.
  if (call.offeredTo === 0) {
    return `No IVR app is connected and subscribed: nobody received this call (key "${key}"). Start Node-RED with its flows deployed, or your own app, then call again.`;
  }
  if (call.history.some((e) => e.what === "nobody accepted")) {
    return `No IVR app accepted key "${key}" in time: no flow takes this key (an ivr start node filtering on it, connected to this simulator). The examples' keys are greeting, menu, voicemail, prompt, agent, answer, errors and ivrmenu.`;
  }
  return undefined;
}

function phaseText(call) {
  switch (call.phase) {
    case PHASES.waiting:
      if (call.offeredTo === 0) return "Nobody received this call";
      return state.connections === 0
        ? "Waiting for an IVR app to accept (none is connected)"
        : "Waiting for an IVR app to accept…";
    case PHASES.controlled:
      return "Connected; nothing running";
    case PHASES.released:
      return `Given back to the script (${call.stopReason ?? "released"})`;
    default:
      return `Call ended${call.stopReason ? ` (${call.stopReason})` : ""}`;
  }
}

function isLive(call) {
  return call.phase === PHASES.waiting || call.phase === PHASES.controlled;
}

// ---------------------------------------------------------------------------------------------
// Rendering

function sortedCalls() {
  return [...state.calls.values()].sort((a, b) => {
    const live = Number(isLive(b)) - Number(isLive(a));
    return live !== 0 ? live : b.ivrts - a.ivrts;
  });
}

function renderCalls() {
  const list = $("calls");
  const calls = sortedCalls();
  $("calls-empty").hidden = calls.length > 0;
  const focused = document.activeElement?.closest?.(".call-item")?.dataset.ivrid;
  list.replaceChildren(
    ...calls.map((c) =>
      h(
        "li",
        null,
        h(
          "button",
          {
            type: "button",
            class: "call-item",
            "data-testid": "call-item",
            dataset: { ivrid: c.ivrid },
            "aria-current": c.ivrid === state.selected ? "true" : "false",
          },
          h("span", null, `${c.from} → ${c.key}`),
          h("span", { class: `badge ${c.phase}` }, c.phase),
          h("span", { class: "sub" }, c.ivrid),
        ),
      ),
    ),
  );
  if (focused) list.querySelector(`[data-ivrid="${CSS.escape(focused)}"]`)?.focus();
}

function renderSelected() {
  const call = state.selected ? state.calls.get(state.selected) : undefined;
  const live = call && call.phase !== PHASES.ended;
  for (const key of document.querySelectorAll(".key")) key.disabled = !live;
  $("hangup").disabled = !live;
  $("say-button").disabled = !live;
  if (!call) {
    $("s-who").textContent = "No call selected";
    $("s-phase").textContent = "";
    $("s-state").textContent = "";
    $("s-now").textContent = "Place a call to start.";
    $("s-buffer").textContent = "";
    $("s-ctl").textContent = "";
    $("s-notice").hidden = true;
    $("details").replaceChildren();
    $("temp-wrap").hidden = true;
    $("history").replaceChildren();
    renderFrames();
    return;
  }
  $("s-who").textContent = `${call.from} → ${call.key}`;
  const phase = $("s-phase");
  phase.textContent = call.phase;
  phase.className = `badge ${call.phase}`;
  $("s-state").textContent = `SIP state: ${call.state}`;
  $("s-now").textContent = call.component ? describeComponent(call.component.data) : phaseText(call);
  $("s-buffer").textContent = call.component?.dtmfBuffer ? `keys so far: ${call.component.dtmfBuffer}` : "";
  $("s-ctl").textContent = !call.controller
    ? ""
    : call.phase === PHASES.controlled
      ? `controlled by connection ${call.controller}`
      : `was controlled by connection ${call.controller}`;

  const notice = noTaker(call);
  $("s-notice").hidden = notice === undefined;
  $("s-notice").textContent = notice ?? "";

  const rows = [
    ["ivrid", call.ivrid],
    ["caller", call.from],
    ["key", call.key],
    ["params", call.params],
    ["component", `${call.componentname} (${call.componentid})`],
    ["started", clock(call.ivrts)],
    ["callid", call.callid],
    ["api_stop", call.stopReason ?? "—"],
  ];
  $("details").replaceChildren(...rows.flatMap(([k, v]) => [h("dt", null, k), h("dd", null, v)]));
  $("temp-wrap").hidden = call.tempFiles.length === 0;
  $("temp-files").replaceChildren(...call.tempFiles.map((f) => h("li", null, f)));

  const history = $("history");
  const atEnd = history.scrollTop + history.clientHeight >= history.scrollHeight - 4;
  const started = startedData(call);
  history.replaceChildren(...call.history.map((e) => historyRow(call, e, started)));
  if (atEnd) history.scrollTop = history.scrollHeight;
  renderFrames();
}

function frameRow(f) {
  const toPlatform = f.dir === "in";
  const details = h(
    "details",
    { open: state.open.has(f.seq) },
    h(
      "summary",
      null,
      h("span", { class: "at" }, clock(f.at)),
      h(
        "span",
        { class: `dir ${f.dir}`, title: toPlatform ? "IVR app to platform" : "platform to IVR app" },
        h("span", { "aria-hidden": "true" }, toPlatform ? "→" : "←"),
        h("span", { class: "visually-hidden" }, toPlatform ? "sent by the IVR app:" : "sent by the platform:"),
      ),
      h("span", { class: "name" }, f.name),
      h("code", { class: "compact" }, compact(f.body)),
    ),
    h("pre", null, pretty(f.body)),
  );
  details.addEventListener("toggle", () => {
    if (details.open) state.open.add(f.seq);
    else state.open.delete(f.seq);
  });
  return h("li", { "data-testid": "frame-row", dataset: { seq: f.seq, name: f.name, dir: f.dir } }, details);
}

function renderFrames() {
  const list = $("frames");
  const frames = state.selected ? [...(state.frames.get(state.selected)?.values() ?? [])] : [];
  frames.sort((a, b) => a.seq - b.seq);
  const atEnd = list.scrollTop + list.clientHeight >= list.scrollHeight - 4;
  const shown = list.dataset.ivrid === (state.selected ?? "") ? Number(list.dataset.last ?? 0) : -1;
  const fresh = frames.filter((f) => f.seq > shown);
  // Appending is enough when only newer frames came; anything else (another call, older frames fetched) redraws.
  if (shown >= 0 && fresh.length === frames.length - list.children.length) list.append(...fresh.map(frameRow));
  else list.replaceChildren(...frames.map(frameRow));
  list.dataset.ivrid = state.selected ?? "";
  list.dataset.last = String(frames.at(-1)?.seq ?? 0);
  if (atEnd || shown < 0) list.scrollTop = list.scrollHeight;
}

function renderApps() {
  const el = $("apps");
  if (state.connections === null) return;
  el.textContent = `IVR apps connected: ${state.connections}`;
  el.className = state.connections > 0 ? "pill ok" : "pill warn";
}

function render() {
  renderCalls();
  renderSelected();
  renderApps();
}

// ---------------------------------------------------------------------------------------------
// Talking to the simulator

function showError(text) {
  $("error-text").textContent = text;
  $("error").hidden = false;
}

function clearError() {
  $("error").hidden = true;
  $("error-text").textContent = "";
}

async function api(method, path, body) {
  let res;
  try {
    res = await fetch(path, {
      method,
      headers: body === undefined ? {} : { "content-type": "application/json" },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  } catch {
    throw new Error("the simulator did not answer (is it still running?)");
  }
  const text = await res.text();
  let data = null;
  try {
    data = text ? JSON.parse(text) : null;
  } catch {
    // not JSON: the text itself is the message
  }
  if (!res.ok) throw new Error(`${data?.error ?? (text.trim() || res.statusText)} (HTTP ${res.status})`);
  return data;
}

/** The feed is the ordered truth; a POST's answer may be older than what the feed already brought. */
function upsertCall(call, fromFeed) {
  if (fromFeed || !state.calls.has(call.ivrid)) state.calls.set(call.ivrid, call);
}

function addFrames(ivrid, frames) {
  let map = state.frames.get(ivrid);
  if (!map) {
    map = new Map();
    state.frames.set(ivrid, map);
  }
  for (const f of frames) map.set(f.seq, f);
  if (map.size > FRAMES_KEPT) {
    const seqs = [...map.keys()].sort((a, b) => a - b);
    for (const s of seqs.slice(0, map.size - FRAMES_KEPT)) map.delete(s);
  }
}

async function fetchFrames(ivrid) {
  if (state.fetched.has(ivrid)) return;
  state.fetched.add(ivrid);
  try {
    const frames = await api("GET", `/sim/calls/${encodeURIComponent(ivrid)}/frames`);
    addFrames(ivrid, frames);
    if (state.selected === ivrid) renderFrames();
  } catch {
    state.fetched.delete(ivrid);
  }
}

function select(ivrid) {
  state.selected = ivrid;
  render();
  if (ivrid) void fetchFrames(ivrid);
}

function readParams() {
  const field = $("f-params");
  const text = field.value.trim() === "" ? "{}" : field.value.trim();
  try {
    JSON.parse(text);
  } catch (err) {
    field.setAttribute("aria-invalid", "true");
    $("f-params-msg").textContent = `Not valid JSON: ${err.message}`;
    return undefined;
  }
  field.removeAttribute("aria-invalid");
  $("f-params-msg").textContent = "";
  return text;
}

async function placeCall(event) {
  event.preventDefault();
  const params = readParams();
  if (params === undefined) {
    $("f-params").focus();
    return;
  }
  const key = $("f-key").value.trim();
  if (key === "") {
    $("f-key").setAttribute("aria-invalid", "true");
    $("f-key").focus();
    showError("The API component key is empty: the IVR app matches calls on it.");
    return;
  }
  $("f-key").removeAttribute("aria-invalid");
  const button = event.submitter ?? document.querySelector(".btn-call");
  button.disabled = true;
  try {
    const body = { key, params, state: $("f-state").value };
    const from = $("f-from").value.trim();
    if (from) body.from = from;
    const call = await api("POST", "/sim/calls", body);
    clearError();
    upsertCall(call);
    state.fetched.delete(call.ivrid);
    select(call.ivrid);
  } catch (err) {
    showError(`Could not place the call: ${err.message}`);
  } finally {
    button.disabled = false;
  }
}

let dtmfChain = Promise.resolve();

/** Keys are sent one after the other, in the order pressed. */
function press(digit) {
  const ivrid = state.selected;
  const call = ivrid ? state.calls.get(ivrid) : undefined;
  if (!call || call.phase === PHASES.ended) return;
  const key = document.querySelector(`.key[data-key="${CSS.escape(digit)}"]`);
  key?.classList.add("pressed");
  setTimeout(() => key?.classList.remove("pressed"), 150);
  dtmfChain = dtmfChain.then(async () => {
    try {
      await api("POST", `/sim/calls/${encodeURIComponent(ivrid)}/dtmf`, { digits: digit });
    } catch (err) {
      showError(`Could not press ${digit}: ${err.message}`);
    }
  });
}

async function sayText(event) {
  event.preventDefault();
  const ivrid = state.selected;
  const text = $("say-text").value.trim();
  if (!ivrid || text === "") return;
  try {
    await api("POST", `/sim/calls/${encodeURIComponent(ivrid)}/say`, { text });
    $("say-text").value = "";
  } catch (err) {
    showError(`Could not say it: ${err.message}`);
  }
}

async function hangup() {
  const ivrid = state.selected;
  if (!ivrid) return;
  try {
    await api("POST", `/sim/calls/${encodeURIComponent(ivrid)}/hangup`, {});
  } catch (err) {
    showError(`Could not hang up: ${err.message}`);
  }
}

function setFeed(text, ok) {
  const el = $("feed");
  el.textContent = text;
  el.className = ok ? "pill ok" : "pill warn";
}

function connectFeed() {
  const feed = new EventSource("/sim/events");
  feed.addEventListener("open", () => setFeed("live", true));
  feed.addEventListener("error", () =>
    setFeed(feed.readyState === EventSource.CLOSED ? "feed closed: reload the page" : "reconnecting…", false),
  );
  feed.addEventListener("snapshot", (ev) => {
    const snap = JSON.parse(ev.data);
    state.calls = new Map(snap.calls.map((c) => [c.ivrid, c]));
    state.connections = snap.connections;
    // Frames sent while the feed was down are fetched again for the call on screen.
    state.fetched.clear();
    if (!state.selected || !state.calls.has(state.selected)) state.selected = sortedCalls()[0]?.ivrid ?? null;
    select(state.selected);
  });
  feed.addEventListener("call", (ev) => {
    const call = JSON.parse(ev.data);
    upsertCall(call, true);
    if (!state.selected) select(call.ivrid);
    else render();
  });
  feed.addEventListener("frame", (ev) => {
    const frame = JSON.parse(ev.data);
    if (!frame.ivrid) return;
    addFrames(frame.ivrid, [frame]);
    if (frame.ivrid === state.selected) renderFrames();
  });
  feed.addEventListener("connections", (ev) => {
    state.connections = JSON.parse(ev.data).count;
    renderApps();
    renderSelected();
  });
}

async function showEndpoint() {
  try {
    const info = await api("GET", "/sim/info");
    // The token itself is never shown: it is in the simulator's console.
    $("connect-hint").textContent = `IVR apps connect to ${info.wsUrl} (token: see the simulator's console).`;
  } catch {
    // the hint keeps its default text
  }
}

function init() {
  $("call-form").addEventListener("submit", placeCall);
  $("f-params").addEventListener("input", () => readParams());
  $("calls").addEventListener("click", (ev) => {
    const item = ev.target.closest(".call-item");
    if (item) select(item.dataset.ivrid);
  });
  for (const key of document.querySelectorAll(".key")) key.addEventListener("click", () => press(key.dataset.key));
  $("hangup").addEventListener("click", hangup);
  $("say-form").addEventListener("submit", sayText);
  $("error-close").addEventListener("click", clearError);
  document.addEventListener("keydown", (ev) => {
    if (ev.ctrlKey || ev.metaKey || ev.altKey) return;
    const t = ev.target;
    if (t instanceof HTMLElement && (t.isContentEditable || t.closest("input, textarea, select"))) return;
    if (/^[0-9*#]$/.test(ev.key)) {
      ev.preventDefault();
      press(ev.key);
    } else if (ev.key === "Escape") clearError();
  });
  render();
  connectFeed();
  void showEndpoint();
}

init();
