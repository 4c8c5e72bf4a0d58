// One status for every node: the connection's state first (so it never lags the socket: it is redrawn on every
// state event), then what the node itself is doing. Colours and wording are the same across all seven nodes.
import type { Node, NodeStatus } from "node-red";

/** The connection as the nodes show it (the client's states, in the user's words). */
export type LinkState = "connecting" | "connected" | "unauthorized" | "disconnected" | "closed" | "invalid";

export interface LinkView {
  state: LinkState;
  /** Translated, already masked. */
  text: string;
}

export interface OwnStatus {
  text: string;
  fill?: NodeStatus["fill"];
  shape?: NodeStatus["shape"];
}

const LOOK: Record<LinkState, Pick<NodeStatus, "fill" | "shape">> = {
  connecting: { fill: "yellow", shape: "ring" },
  connected: { fill: "green", shape: "dot" },
  unauthorized: { fill: "red", shape: "ring" },
  disconnected: { fill: "red", shape: "ring" },
  closed: { fill: "grey", shape: "ring" },
  invalid: { fill: "red", shape: "dot" },
};

export function linkStatus(link: LinkView): NodeStatus {
  return { ...LOOK[link.state], text: link.text };
}

export class StatusView {
  private link: LinkView;
  private own: OwnStatus | undefined;
  private last = "";

  constructor(
    private readonly node: Pick<Node, "status">,
    initial: LinkView,
  ) {
    this.link = initial;
    this.render();
  }

  setLink(link: LinkView): void {
    this.link = link;
    this.render();
  }

  setOwn(own: OwnStatus | undefined): void {
    this.own = own;
    this.render();
  }

  get current(): NodeStatus {
    const base = linkStatus(this.link);
    if (!this.own) return base;
    const mine = this.link.state === "connected" && this.own.fill ? { fill: this.own.fill, shape: this.own.shape } : {};
    return { ...base, ...mine, text: `${this.link.text} · ${this.own.text}` };
  }

  private render(): void {
    const s = this.current;
    const key = JSON.stringify(s);
    if (key === this.last) return;
    this.last = key;
    this.node.status(s);
  }
}
