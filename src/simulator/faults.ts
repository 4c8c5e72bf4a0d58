// Injected misbehaviour, for the client's robustness tests: late, lost or substituted answers, junk frames
// (text, bytes that are not UTF-8, binary, floods of thousands), a peer that stops reading (no answers, no
// pongs), refused upgrades.
import type { Engine } from "./engine";
import type { Conn, SimFaults } from "./types";

/** A burst goes out in slices this far apart. */
const BURST_TICK_MS = 10;

export interface FaultHost {
  engine: Engine;
  rejectStatus: number | null;
}

function targets(engine: Engine, connId: string | undefined): Conn[] {
  if (connId === undefined) return [...engine.conns.values()];
  const conn = engine.conns.get(connId);
  if (!conn) throw new Error(`no open connection ${connId}`);
  return [conn];
}

export function createFaults(host: FaultHost): SimFaults {
  const { engine } = host;
  return {
    delayAnswers(requestName, ms) {
      engine.delays.set(requestName, ms);
    },
    dropAnswers(requestName, count = Number.POSITIVE_INFINITY) {
      engine.drops.set(requestName, count);
    },
    answerInstead(requestName, body, count = 1) {
      if (count > 0) engine.instead.set(requestName, { body: { ...body }, count });
    },
    sendRaw(text, connId) {
      for (const conn of targets(engine, connId)) engine.sendRaw(conn, text);
    },
    sendBinary(data, connId) {
      for (const conn of targets(engine, connId)) engine.sendRaw(conn, data, { binary: true });
    },
    burst(count, make, opts = {}) {
      return burst(engine, count, make, opts);
    },
    freeze(connId) {
      // Pausing the TCP socket starves ws of input: no frames are read and no pings are seen, so no pongs.
      for (const conn of targets(engine, connId)) {
        conn.frozen = true;
        conn.socket.pause();
        engine.opts.log(`fault: ${conn.id} frozen`);
      }
    },
    rejectUpgrades(status) {
      host.rejectStatus = status;
    },
    clear() {
      engine.delays.clear();
      engine.drops.clear();
      engine.instead.clear();
      host.rejectStatus = null;
      for (const conn of engine.conns.values()) {
        if (conn.frozen) {
          conn.frozen = false;
          conn.socket.resume();
        }
      }
    },
  };
}

function burst(
  engine: Engine,
  count: number,
  make: (i: number) => string,
  opts: { overMs?: number; connId?: string },
): Promise<number> {
  const ticks = Math.max(1, Math.ceil((opts.overMs ?? 0) / BURST_TICK_MS));
  const perTick = Math.max(1, Math.ceil(count / ticks));
  const started = Date.now();
  let sent = 0;
  let tick = 0;
  return new Promise((resolve) => {
    let finished = false;
    const done = (): void => {
      if (finished) return;
      finished = true;
      engine.downloadSignal.removeEventListener("abort", done);
      engine.record({
        at: Date.now(),
        dir: "out",
        conn: opts.connId ?? "*",
        name: "(burst)",
        body: { frames: sent, of: count, ms: Date.now() - started },
      });
      resolve(sent);
    };
    const step = (): void => {
      let conns: Conn[];
      try {
        conns = targets(engine, opts.connId);
      } catch {
        done(); // the connection went away
        return;
      }
      const end = Math.min(count, sent + perTick);
      for (; sent < end; sent++) {
        const text = make(sent);
        for (const conn of conns) engine.sendRaw(conn, text, { record: false });
      }
      tick += 1;
      if (sent >= count || engine.stopped || finished) {
        done();
        return;
      }
      // Paced against the start, so slow slices do not stretch the whole burst.
      const next = engine.timer(Math.max(0, started + tick * BURST_TICK_MS - Date.now()), step);
      if (!next) done();
    };
    // stop() clears the engine's timers: the burst ends there too instead of never.
    engine.downloadSignal.addEventListener("abort", done);
    step();
  });
}
