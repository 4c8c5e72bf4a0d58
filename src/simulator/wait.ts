// waitForFrame: lets tests await a frame instead of sleeping, whether it already went by or is yet to come.
import type { EventEmitter } from "node:events";
import type { FrameLogEntry } from "./types";

export interface FrameMatch {
  dir?: "in" | "out";
  name: string;
  // biome-ignore lint/suspicious/noExplicitAny: bodies are whatever the wire carried; tests poke at them freely.
  where?: (body: any) => boolean;
}

function matches(match: FrameMatch, e: FrameLogEntry): boolean {
  if (match.dir !== undefined && e.dir !== match.dir) return false;
  if (e.name !== match.name) return false;
  if (!match.where) return true;
  try {
    return match.where(e.body) === true;
  } catch {
    return false;
  }
}

export function describeMatch(match: FrameMatch): string {
  const dir = match.dir === undefined ? "" : match.dir === "in" ? "inbound " : "outbound ";
  return `${dir}frame "${match.name}"${match.where ? ` matching ${match.where.toString().slice(0, 120)}` : ""}`;
}

export function waitForFrame(
  events: EventEmitter,
  log: FrameLogEntry[],
  match: FrameMatch,
  timeoutMs: number,
): Promise<FrameLogEntry> {
  const seen = log.find((e) => matches(match, e));
  if (seen) return Promise.resolve(seen);
  return new Promise((resolve, reject) => {
    const onFrame = (e: FrameLogEntry): void => {
      if (!matches(match, e)) return;
      clearTimeout(timer);
      events.off("frame", onFrame);
      resolve(e);
    };
    const timer = setTimeout(() => {
      events.off("frame", onFrame);
      reject(new Error(`waitForFrame: no ${describeMatch(match)} within ${timeoutMs} ms`));
    }, timeoutMs);
    events.on("frame", onFrame);
  });
}
