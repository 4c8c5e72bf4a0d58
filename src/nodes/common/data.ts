// Component data as a node setting: fixed JSON (parsed once, at deploy), a msg property, or a JSONata expression
// (evaluated per msg). Shared by apply component and ivr menu. Apply's forms build theirs field by field.
import type { Node, NodeAPI } from "node-red";
import { checkComponent } from "../../protocol/catalog";
import { copyBody } from "../../protocol/fast";
import type { FormField } from "./configs";
import { FlowError } from "./errors";

/** The data for one msg: at once when it needs nothing asynchronous (fixed JSON, a msg property, a plain form). */
export type Resolver = (msg: Record<string, unknown>) => unknown | Promise<unknown>;

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
      return () => fixed;
    }
    case "msg":
      return (msg) => RED.util.getMessageProperty(msg as never, text || "payload");
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

/** A form field's plain value as the component data holds it; undefined leaves the field out. */
function plainValue(value: string, type: string): unknown {
  switch (type) {
    case "num": {
      if (value.trim() === "") return undefined;
      const n = Number(value);
      // Not a number: kept as typed, so the catalog's check names the field.
      return Number.isFinite(n) ? n : value;
    }
    case "bool":
      return value === "" ? undefined : value === "true";
    case "opt":
      return value === "" ? undefined : /^-?\d+$/.test(value) ? Number(value) : value;
    default:
      return value === "" ? undefined : value;
  }
}

const PLAIN = new Set(["str", "num", "bool", "opt"]);

/** The catalog's verdict on built data: the first problem, naming its field, as a Catch-able `invalid`. */
function checked(data: Record<string, unknown>): Record<string, unknown> {
  const problems = checkComponent(data);
  if (problems.length > 0) throw new FlowError("invalid", problems.map((p) => p.message).join("; "));
  return data;
}

/**
 * Component data from a form (apply's catalog components): one value per field, plain or read per msg (msg, flow,
 * global, env, JSONata), checked with the catalog. A form of plain values only is built and checked once, at deploy
 * (throws then), and costs a msg what fixed JSON does.
 */
export function formResolver(RED: NodeAPI, node: Node, oType: number, fields: Record<string, FormField>): Resolver {
  const fixed: Record<string, unknown> = { oType };
  const dynamic: Array<{ name: string; read: (msg: Record<string, unknown>) => Promise<unknown> }> = [];
  for (const [name, { value, type }] of Object.entries(fields)) {
    if (name === "oType") continue;
    if (PLAIN.has(type)) {
      const v = plainValue(value, type);
      if (v !== undefined) fixed[name] = v;
    } else if (type === "jsonata") {
      let expr: ReturnType<NodeAPI["util"]["prepareJSONataExpression"]>;
      try {
        expr = RED.util.prepareJSONataExpression(value, node);
      } catch (err) {
        throw new FlowError("invalid", `${name}: not a valid JSONata expression: ${(err as Error).message}`);
      }
      dynamic.push({
        name,
        read: (msg) =>
          new Promise((ok, fail) => {
            RED.util.evaluateJSONataExpression(expr, msg as never, (err, v) => {
              if (err) fail(new FlowError("invalid", `${name}: expression failed: ${err.message}`));
              else ok(v);
            });
          }),
      });
    } else {
      dynamic.push({
        name,
        read: (msg) =>
          new Promise((ok, fail) => {
            RED.util.evaluateNodeProperty(value, type, node, msg as never, (err: Error | null, v: unknown) => {
              if (err) fail(new FlowError("invalid", `${name}: ${err.message}`));
              else ok(v);
            });
          }),
      });
    }
  }
  if (dynamic.length === 0) {
    const data = checked(fixed);
    return () => data;
  }
  return async (msg) => {
    const values = await Promise.all(dynamic.map((d) => d.read(msg)));
    // Not a spread (see copyBody): the fields added next would give its copy a hidden class of its own, one per msg.
    const data = copyBody(fixed);
    dynamic.forEach((d, i) => {
      const v = values[i];
      if (v !== undefined && v !== null && v !== "") data[d.name] = v;
    });
    return checked(data);
  };
}
