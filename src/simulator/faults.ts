// Injected misbehaviour, for the client's robustness tests: late or lost answers, junk frames, a peer
// that stops reading (no answers, no pongs), refused upgrades.
import type { Engine } from "./engine";
import type { Conn, SimFaults } from "./types";

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
    sendRaw(text, connId) {
      for (const conn of targets(engine, connId)) engine.sendRaw(conn, text);
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
