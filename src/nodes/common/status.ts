// One status for every node: the connection's state, or (while connected) what the node itself is doing. Texts are
// catalog keys, as core nodes send `node-red:common.status.connected`: the editor translates them into the user's
// language (the runtime never calls RED._ for a status). A value in a status (a digit, a count) is written in a
// language-neutral form. The node's own status is redrawn a few times a second at most (each redraw is a frame to
// every open editor); a change of the connection is shown at once.
import type { Node, NodeStatus } from "node-red";

/** The connection as the nodes show it (the client's states, in the user's words). */
export type LinkState = "connecting" | "connected" | "unauthorized" | "disconnected" | "closed" | "invalid";

export interface LinkView {
  state: LinkState;
}

export interface OwnStatus {
  /** A catalog key of the node's own namespace (`ivrapi-apply.status.running`), or a language-neutral text. */
  text: string;
  fill?: NodeStatus["fill"];
  shape?: NodeStatus["shape"];
}

/** Catalog keys of the connection states, in the connection node's namespace (a flow node's own has none). */
export const LINK_KEY = "node-red-contrib-ivrapi/ivrapi-connection:ivrapi-connection.status.";

/** The least time between two redraws of a node's own status. */
export const OWN_STATUS_MIN_MS = 250;

const LOOK: Record<LinkState, { fill: NonNullable<NodeStatus["fill"]>; shape: NonNullable<NodeStatus["shape"]> }> = {
  connecting: { fill: "yellow", shape: "ring" },
  connected: { fill: "green", shape: "dot" },
  unauthorized: { fill: "red", shape: "ring" },
  disconnected: { fill: "red", shape: "ring" },
  closed: { fill: "grey", shape: "ring" },
  invalid: { fill: "red", shape: "dot" },
};

export function linkStatus(link: LinkView): NodeStatus {
  const look = LOOK[link.state];
  return { fill: look.fill, shape: look.shape, text: LINK_KEY + link.state };
}

export class StatusView {
  private link: LinkView;
  private own: OwnStatus | undefined;
  private shown: NodeStatus | undefined;
  private lastDraw = 0;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly node: Pick<Node, "status">,
    initial: LinkView,
  ) {
    this.link = initial;
    this.draw();
  }

  setLink(link: LinkView): void {
    this.link = link;
    this.draw();
  }

  setOwn(own: OwnStatus | undefined): void {
    if (sameOwn(own, this.own)) return;
    this.own = own;
    if (this.timer) return;
    const wait = this.lastDraw + OWN_STATUS_MIN_MS - Date.now();
    if (wait <= 0) this.draw();
    else this.timer = setTimeout(() => this.draw(), wait);
  }

  get current(): NodeStatus {
    if (!this.own || this.link.state !== "connected") return linkStatus(this.link);
    const look = LOOK.connected;
    return { fill: this.own.fill ?? look.fill, shape: this.own.shape ?? look.shape, text: this.own.text };
  }

  /** Stops a pending redraw (the node is closing). */
  dispose(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
  }

  private draw(): void {
    this.dispose();
    this.lastDraw = Date.now();
    const s = this.current;
    const was = this.shown;
    if (was && was.fill === s.fill && was.shape === s.shape && was.text === s.text) return;
    this.shown = s;
    this.node.status(s);
  }
}

function sameOwn(a: OwnStatus | undefined, b: OwnStatus | undefined): boolean {
  if (a === undefined || b === undefined) return a === b;
  return a.text === b.text && a.fill === b.fill && a.shape === b.shape;
}
