// Component data as a node setting: fixed JSON (parsed once, at deploy), a msg property, or a JSONata expression
// (evaluated per msg). Shared by apply component and ivr menu.
import type { Node, NodeAPI } from "node-red";
import { FlowError } from "./errors";

export type Resolver = (msg: Record<string, unknown>) => Promise<unknown>;

/** `what` names the setting in errors ("data", "prompt"). Throws at deploy on JSON that does not parse. */
export function dataResolver(RED: NodeAPI, node: Node, type: string, text: string, what = "data"): Resolver {
  switch (type) {
    case "json": {
      let fixed: unknown;
      try {
        fixed = JSON.parse(text || "{}");
      } catch (err) {
        throw new Error(`${what} is not valid JSON: ${(err as Error).message}`);
      }
      // The registry's check copies the data before it adds its oId, so the parsed JSON is shared, never changed.
      return async () => fixed;
    }
    case "msg":
      return async (msg) => RED.util.getMessageProperty(msg as never, text || "payload");
    default: {
      const expr = RED.util.prepareJSONataExpression(text, node);
      return (msg) =>
        new Promise((ok, fail) => {
          RED.util.evaluateJSONataExpression(expr, msg as never, (err, value) => {
            if (err) fail(new FlowError("invalid", `${what} expression failed: ${err.message}`));
            else ok(value);
          });
        });
    }
  }
}
