// One status for every node: the connection's state, or (while connected) what the node itself is doing. Texts are
// catalog keys, as core nodes send `node-red:common.status.connected`: the editor translates them into the user's
// language (the runtime never calls RED._ for a status). A value in a status (a digit, a count) is written in a
// language-neutral form. The node's own status is redrawn a few times a second at most (each redraw is a frame to
// every open editor); a change of the connection is shown at once. A message the node failed shows for a few
// seconds in red with its error code (as core nodes do), then the normal status comes back.
import type { Node, NodeStatus } from "node-red";

/** The connection as the nodes show it (the client's states, in the user's words). */
export const LINK_STATES = ["connecting", "connected", "unauthorized", "disconnected", "closed", "invalid"] as const;
export type LinkState = (typeof LINK_STATES)[number];

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

/** How long a failed message shows on the node. */
export const FAILURE_SHOWN_MS = 3000;

/** Catalog keys of failures (one per error code, in the connection node's namespace: every flow node shares them). */
export const FAILURE_KEY = "node-red-contrib-ivrapi/ivrapi-connection:ivrapi-connection.failure.";

/** The error codes the catalogs explain; any other code is shown as is, after the same mark. */
export const SHOWN_ERROR_CODES = [
  "invalid",
  "no_call",
  "no_connection",
  "no_session",
  "busy",
  "no_component",
  "component_lost",
  "superseded",
  "timeout",
  "rejected",
  "not_connected",
  "connection_lost",
  "session_ended",
  "closed",
  "internal",
] as const;

const FAILURE_TEXT = new Map<string, string>(SHOWN_ERROR_CODES.map((c) => [c, FAILURE_KEY + c]));

/** The status text of a failure: its catalog key, or for a code no catalog knows a language-neutral "✖ code". */
export function failureText(code: string): string {
  return FAILURE_TEXT.get(code) ?? `✖ ${code}`;
}

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
  /** Renders the node's own status when a redraw happens (see ownFrom): a busy node pays for one a redraw, not a msg. */
  private render: (() => OwnStatus | undefined) | undefined;
  private shown: NodeStatus | undefined;
  private lastDraw = 0;
  private timer: NodeJS.Timeout | undefined;
  /** The failure on show, and until when (a new failure extends it; one timer, whatever the rate of failures). */
  private failure: string | undefined;
  private failureUntil = 0;
  private failureTimer: NodeJS.Timeout | undefined;

  constructor(
    private readonly node: Pick<Node, "status">,
    initial: LinkView,
    private readonly failureShownMs = FAILURE_SHOWN_MS,
  ) {
    this.link = initial;
    this.draw();
  }

  setLink(link: LinkView): void {
    this.link = link;
    this.draw();
  }

  setOwn(own: OwnStatus | undefined): void {
    this.render = undefined;
    if (sameOwn(own, this.own)) return;
    this.own = own;
    this.redraw();
  }

  /**
   * The node's own status comes from `render`, read when the status is redrawn; `touch()` says it may have changed.
   * For a status that follows a count changing on every msg (calls held, components running).
   */
  ownFrom(render: () => OwnStatus | undefined): void {
    this.render = render;
    this.touch();
  }

  /** What ownFrom renders may have changed: redrawn now, or at the next allowed redraw. */
  touch(): void {
    if (this.timer) return;
    this.redraw();
  }

  /** A message failed with this error code: shown in red for FAILURE_SHOWN_MS, then the normal status again. */
  showFailure(code: string): void {
    const now = Date.now();
    this.failureUntil = now + this.failureShownMs;
    if (!this.failureTimer) this.failureTimer = setTimeout(this.failureOver, this.failureShownMs);
    const text = failureText(code);
    if (text === this.failure) return;
    this.failure = text;
    this.redraw();
  }

  get current(): NodeStatus {
    if (this.link.state !== "connected") return linkStatus(this.link);
    if (this.failure !== undefined) return { fill: "red", shape: "dot", text: this.failure };
    if (!this.own) return linkStatus(this.link);
    const look = LOOK.connected;
    return { fill: this.own.fill ?? look.fill, shape: this.own.shape ?? look.shape, text: this.own.text };
  }

  /** Stops every pending redraw (the node is closing). */
  dispose(): void {
    this.cancelRedraw();
    clearTimeout(this.failureTimer);
    this.failureTimer = undefined;
  }

  private readonly failureOver = (): void => {
    const left = this.failureUntil - Date.now();
    if (left > 0) {
      this.failureTimer = setTimeout(this.failureOver, left);
      return;
    }
    this.failureTimer = undefined;
    this.failure = undefined;
    this.redraw();
  };

  /** Redraws now, or once OWN_STATUS_MIN_MS has passed since the last redraw. */
  private redraw(): void {
    if (this.timer) return;
    const wait = this.lastDraw + OWN_STATUS_MIN_MS - Date.now();
    if (wait <= 0) this.draw();
    else this.timer = setTimeout(() => this.draw(), wait);
  }

  private cancelRedraw(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
  }

  private draw(): void {
    this.cancelRedraw();
    this.lastDraw = Date.now();
    if (this.render) this.own = this.render();
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
