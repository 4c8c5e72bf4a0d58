// What every flow node does with its connection: find it, register, mirror its state in the status, and on
// close remove every listener and deregister (the last one out closes the socket).
import type { Node, NodeAPI, NodeMessage, NodeMessageInFlow } from "node-red";
import type { z } from "zod";
import type { ConnectionHub, HubEvents } from "../connection/hub";
import { readConfig } from "./configs";
import { FlowError, toFlowError } from "./errors";
import { Events } from "./events";
import { StatusView } from "./status";

const MISSING_KEY = "node-red-contrib-ivrapi/ivrapi-connection:ivrapi-connection.status.missing";

export interface ConnectionNode extends Node {
  hub: ConnectionHub;
}

export interface Attached {
  hub: ConnectionHub;
  events: Events<HubEvents>;
  status: StatusView;
  /** False once the node is closing: late answers must not send into a stopped flow. */
  readonly live: boolean;
}

/**
 * Binds a flow node to its ivrapi-connection. Returns undefined (with a red status and an error on every
 * input) when the node has no usable connection, so a half-configured flow never crashes.
 */
export function attach(RED: NodeAPI, node: Node, connectionId: unknown, onClose?: () => void): Attached | undefined {
  const conn = typeof connectionId === "string" ? (RED.nodes.getNode(connectionId) as ConnectionNode | null) : null;
  if (!conn?.hub) {
    // A full catalog key: the editor translates it into the browser's language.
    node.status({ fill: "red", shape: "dot", text: MISSING_KEY });
    node.on("input", (_msg: NodeMessageInFlow, _send: unknown, done: (err?: Error) => void) => {
      done(new FlowError("no_connection", "no ivrapi connection is configured for this node"));
    });
    return undefined;
  }
  const hub = conn.hub;
  const events = new Events<HubEvents>(hub);
  const status = new StatusView(node, hub.link);
  let live = true;
  events.on("link", (link) => status.setLink(link));
  void hub.register(node.id);
  node.on("close", (_removed: boolean, done: () => void) => {
    live = false;
    events.removeAll();
    status.dispose();
    onClose?.();
    hub.deregister(node.id).then(done, done);
  });
  return {
    hub,
    events,
    status,
    get live() {
      return live;
    },
  };
}

export type Send = (msg: NodeMessage | Array<NodeMessage | NodeMessage[] | null>) => void;

/**
 * The input handler of an action node: the work is async, and whatever it throws reaches done(err) with a
 * code (so Catch nodes fire), masked, and never crashes the runtime; the node's status shows the code briefly.
 */
export function onInput(
  node: Node,
  at: Attached,
  work: (msg: NodeMessageInFlow & Record<string, unknown>, send: Send) => Promise<void>,
): void {
  // A late answer (the node was closed meanwhile) must not send into a stopped flow. One function for every msg: the
  // `send` Node-RED hands each msg is node.send itself.
  const guarded: Send = (m) => {
    if (at.live) node.send(m);
  };
  node.on("input", (msg: NodeMessageInFlow, _send: Send, done: (err?: Error) => void) => {
    let working: Promise<void>;
    try {
      working = work(msg as NodeMessageInFlow & Record<string, unknown>, guarded);
    } catch (err) {
      // A work function that is not async may throw before it has a promise: the same path as a rejection.
      working = Promise.reject(err);
    }
    working.then(
      () => {
        if (at.live) done();
      },
      (err: unknown) => failInput(at, done, err),
    );
  });
}

/**
 * A msg failed: done(err) with a code (what Catch nodes get), masked; as core nodes do, the node shows that it failed
 * a msg (red, with the code) for a few seconds. Nothing once the node is closing.
 */
export function failInput(at: Attached, done: (err?: Error) => void, err: unknown): void {
  if (!at.live) return;
  const e = toFlowError(err, (s) => at.hub.mask(s));
  at.status.showFailure(e.code);
  done(e);
}

/**
 * Reads a node's saved settings (migrated, then parsed). On settings it cannot use, the node says so (error log,
 * red status) and, if it has an input, fails every message with code `invalid` instead of crashing: undefined.
 */
export function configure<S extends z.ZodType>(
  node: Node,
  type: string,
  raw: Record<string, unknown>,
  schema: S,
  hasInput: boolean,
): z.output<S> | undefined {
  try {
    return readConfig(type, raw, schema);
  } catch (err) {
    unusable(node, type, (err as Error).message, hasInput);
    return undefined;
  }
}

/** A node whose settings cannot work: error log, red status, and every message fails with code `invalid`. */
export function unusable(node: Node, type: string, text: string, hasInput: boolean): void {
  node.error(text);
  node.status({ fill: "red", shape: "dot", text: `${type}.status.invalid` });
  if (hasInput) {
    node.on("input", (_m: unknown, _s: unknown, done: (e?: Error) => void) => done(new FlowError("invalid", text)));
  }
}
