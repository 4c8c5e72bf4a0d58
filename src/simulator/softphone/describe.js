// Pure formatting for the softphone page: DOM building without HTML parsing, times, and what a component or a
// history entry means in words ("playing :GS_PUB/menu.wav", "transferring to 13", "SIP 200 OK"…).

const SIP_PHRASES = {
  100: "Trying",
  180: "Ringing",
  183: "Session Progress",
  200: "OK",
  403: "Forbidden",
  404: "Not Found",
  480: "Temporarily Unavailable",
  486: "Busy Here",
  487: "Request Terminated",
  603: "Decline",
};

/** Builds an element; children are nodes or text (never parsed as HTML). */
export function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs ?? {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k === "class") el.className = v;
    else if (k === "dataset") Object.assign(el.dataset, v);
    else el.setAttribute(k, v === true ? "" : String(v));
  }
  for (const c of children.flat()) {
    if (c === undefined || c === null || c === false) continue;
    el.append(c instanceof Node ? c : String(c));
  }
  return el;
}

export function compact(value) {
  if (value === undefined) return "";
  return typeof value === "string" ? value : JSON.stringify(value);
}

export function pretty(value) {
  return typeof value === "string" ? value : JSON.stringify(value, null, 2);
}

export function clock(ms) {
  const d = new Date(ms);
  const p = (n, w = 2) => String(n).padStart(w, "0");
  return `${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}.${p(d.getMilliseconds(), 3)}`;
}

export function since(call, at) {
  return `+${((at - call.ivrts) / 1000).toFixed(2)} s`;
}

// ---------------------------------------------------------------------------------------------
// Describing what a call does, for humans

/** One line for a component's data: "playing :GS_PUB/menu.wav", "transferring to 13", "SIP 200 OK"… */
export function describeComponent(data) {
  const d = data ?? {};
  const oType = Number(d.oType);
  switch (oType) {
    case 201:
      return "hanging up";
    case 202: {
      const raw = d.sipCode ?? d.code;
      const phrase = d.phrase ?? SIP_PHRASES[Number(raw)];
      return `SIP ${raw ?? "?"}${phrase ? ` ${phrase}` : ""}`;
    }
    case 203:
      return `transferring to ${d.number ?? "?"}`;
    case 204: {
      const files = Array.isArray(d.files) ? d.files.join(", ") : (d.file ?? "?");
      return `playing ${files}`;
    }
    case 208: {
      const parts = [];
      if (d.maxSymbolCount !== undefined && d.maxSymbolCount !== "") parts.push(`max ${d.maxSymbolCount} digits`);
      if (d.interruptSymbols !== undefined && d.interruptSymbols !== "") parts.push(`interrupt ${d.interruptSymbols}`);
      if (d.recTimeSec !== undefined && d.recTimeSec !== "") parts.push(`up to ${d.recTimeSec} s`);
      return `recording${parts.length ? ` (${parts.join(", ")})` : ""}`;
    }
    case 206: {
      const parts = [];
      if (d.maxSymbolCount !== undefined && d.maxSymbolCount !== "" && Number(d.maxSymbolCount) > 0)
        parts.push(`up to ${d.maxSymbolCount} digits`);
      if (d.interruptSymbols) parts.push(`ends with ${d.interruptSymbols}`);
      parts.push(`first digit within ${d.timeoutSec ?? 10} s`, `${d.symbolTimeoutSec ?? 5} s between digits`);
      return `collecting digits (${parts.join(", ")}): press keys`;
    }
    case 207: {
      const how = { 1: "RFC 2833", 2: "SIP INFO", 3: "in-band" }[Number(d.proto ?? 1)] ?? `proto ${d.proto}`;
      return `sending digits ${d.dtmf ?? "?"} (${how})`;
    }
    case 217:
      return `attended transfer: caller (leg A) on hold, calling ${d.number ?? "?"} (leg B)`;
    case 222:
    case 226: {
      const text = typeof d.text === "string" ? d.text : compact(d.text);
      return Number(d.mode) === 1 ? `saving speech to a file: “${text}”` : `speaking: “${text}”`;
    }
    case 223:
    case 227:
      return `listening (speech recognition${d.lang ? `, ${d.lang}` : ""}): type in “Say” or press keys`;
    default:
      return `component oType ${d.oType ?? "?"}`;
  }
}

/** The data each component was started with, by oId (a stopped entry names only its oId and oType). */
export function startedData(call) {
  const byOId = new Map();
  for (const e of call.history) {
    if (e.what === "component started" && e.detail) byOId.set(String(e.detail.oId), e.detail.data);
  }
  return byOId;
}

export function historyRow(call, entry, started) {
  const d = entry.detail ?? {};
  let body;
  if (entry.what === "component started") {
    body = [h("strong", null, describeComponent(d.data)), ` started (oId ${d.oId})`];
  } else if (entry.what === "component stopped") {
    const what = describeComponent(started.get(String(d.oId)) ?? { oType: d.oType });
    const hasResults = d.results && Object.keys(d.results).length > 0;
    body = [
      `${what} ended → transferKey `,
      h("code", { class: d.transferKey === "error" ? "tk error" : "tk", "data-testid": "transfer-key" }, d.transferKey),
      hasResults ? h("span", { class: "results" }, `results ${compact(d.results)}`) : null,
    ];
  } else if (entry.what === "dtmf") {
    body = ["caller pressed ", h("strong", null, d.dtmf)];
  } else if (entry.what === "state") {
    body = [`SIP state ${d.from} → ${d.to}`];
  } else if (entry.what === "placed") {
    body = [`call placed from ${d.from} (key ${d.key}, SIP state ${d.state})`];
    if (call.offeredTo === 0) body.push(h("strong", null, ": no IVR app received it"));
  } else if (entry.what === "accepted" || entry.what === "reaccepted") {
    body = [`${entry.what === "accepted" ? "accepted" : "taken back"} by connection ${d.by}`];
  } else if (entry.what === "nobody accepted") {
    const s = Math.round((d.waitedMs ?? 0) / 1000);
    body = [h("strong", null, `nobody accepted key ${d.key}`), ` within ${s} s`];
  } else if (entry.what === "digits sent") {
    body = ["digits sent: ", h("strong", null, d.dtmf), ` (${d.proto})`];
  } else if (entry.what === "legs joined") {
    body = [`legs joined: caller ${d.a} (leg A) ⇄ ${d.b} (leg B)`];
  } else if (entry.what === "caller said") {
    body = ["caller said ", h("strong", null, `“${d.text}”`)];
  } else if (entry.what === "rejected") {
    body = [`rejected with SIP ${d.code}${d.phrase ? ` ${d.phrase}` : ""}`];
  } else {
    body = [entry.what, entry.detail === undefined ? null : h("span", { class: "results" }, compact(entry.detail))];
  }
  return h(
    "li",
    { "data-testid": "history-row" },
    h("span", { class: "at" }, since(call, entry.at)),
    h("span", null, body),
  );
}
