// ivr menu: a prompt, then digits, with retries; one output per choice, then "no input", then "no match". The
// runtime's Menu does the work through the registry (one component at a time, the busy policy); this node only
// resolves its settings per msg and routes the outcome.
import type { Node, NodeAPI, NodeDef } from "node-red";
import { Menu } from "../session/menu";
import { type IvrMsg, ivridOf } from "./common/call-msg";
import { MenuConfig } from "./common/configs";
import { dataResolver, type Resolver } from "./common/data";
import { FlowError } from "./common/errors";
import { attach, configure, onInput, unusable } from "./common/flow-node";
import type { CallWait } from "./connection/hub";

type Data = Record<string, unknown>;

function asData(value: unknown, what: string): Data {
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new FlowError("invalid", `${what}: component data must be an object with an oType, e.g. {"oType": 204, …}`);
  }
  return value as Data;
}

export = (RED: NodeAPI) => {
  function IvrMenuNode(this: Node, def: NodeDef) {
    RED.nodes.createNode(this, def);
    const raw = def as unknown as Record<string, unknown>;
    const cfg = configure(this, "ivrapi-menu", raw, MenuConfig, true);
    if (!cfg) return;
    let prompt: Resolver;
    let retryPrompt: Resolver | undefined;
    let noMatchPrompt: Resolver | undefined;
    try {
      prompt = dataResolver(RED, this, cfg.promptType, cfg.prompt, "prompt");
      if (cfg.retryPrompt.trim() !== "") {
        retryPrompt = dataResolver(RED, this, cfg.retryPromptType, cfg.retryPrompt, "retryPrompt");
      }
      if (cfg.noMatchPrompt.trim() !== "") {
        noMatchPrompt = dataResolver(RED, this, cfg.noMatchPromptType, cfg.noMatchPrompt, "noMatchPrompt");
      }
    } catch (err) {
      unusable(this, "ivrapi-menu", (err as Error).message, true);
      return;
    }
    const waiting = new Set<CallWait>();
    const closing = new AbortController();
    const at = attach(RED, this, raw.connection, () => {
      closing.abort();
      for (const w of waiting) w.end(true);
      waiting.clear();
    });
    if (!at) return;
    const { hub, status } = at;
    const ports = cfg.choices.length + 2;
    let active = 0;

    onInput(this, at, async (msg, send) => {
      const ivrid = ivridOf(msg);
      const registry = hub.requireRegistry();
      const first = asData(await prompt(msg), "prompt");
      const retry = retryPrompt ? asData(await retryPrompt(msg), "retryPrompt") : undefined;
      const noMatch = noMatchPrompt ? asData(await noMatchPrompt(msg), "noMatchPrompt") : undefined;
      const wait = hub.beginWait(ivrid);
      waiting.add(wait);
      active += 1;
      try {
        const outcome = await new Menu(registry, ivrid, {
          prompt: first,
          retryPrompt: retry,
          noMatchPrompt: noMatch,
          choices: cfg.choices,
          maxDigits: cfg.maxDigits,
          timeoutS: cfg.timeout,
          interDigitS: cfg.interDigitTimeout,
          terminator: cfg.terminator,
          retries: cfg.retries,
          bargeIn: cfg.bargeIn,
          busy: cfg.busy,
          signal: closing.signal,
          // Language-neutral: the attempt under way ("☰ 2" on the second try).
          onAttempt: (n) => status.setOwn({ text: `☰ ${n}`, fill: "blue", shape: "dot" }),
        }).run();
        msg.payload = outcome.digits;
        const ivr = (msg.ivr ?? { ivrid }) as IvrMsg & { menu?: unknown };
        ivr.menu = { digits: outcome.digits, attempts: outcome.attempts };
        msg.ivr = ivr;
        const out: Array<typeof msg | null> = new Array(ports).fill(null);
        const at = outcome.kind === "choice" ? outcome.index : outcome.kind === "noInput" ? ports - 2 : ports - 1;
        out[at] = msg;
        send(out);
      } finally {
        waiting.delete(wait);
        wait.end();
        active -= 1;
        if (active === 0) status.setOwn(undefined);
      }
    });
  }
  RED.nodes.registerType("ivrapi-menu", IvrMenuNode);
};
