// What a component does, in a language-neutral shape an editor translates: a verb for the oType and its one main
// argument (the file, the number, the SIP code). The same reading as the softphone's describeComponent, kept here
// because the product must not depend on the simulator.

export type ComponentVerb = "hangup" | "sip" | "transfer" | "play" | "record" | "other";

export interface ComponentSummary {
  what: ComponentVerb;
  /** The main argument, as the data holds it (no words): files, the number, the SIP code and phrase. */
  arg?: string;
}

const MAX_ARG = 120;

function text(v: unknown): string | undefined {
  if (v === undefined || v === null || v === "") return undefined;
  const s = typeof v === "string" ? v : Array.isArray(v) ? v.map((x) => String(x)).join(", ") : String(v);
  return s.length > MAX_ARG ? `${s.slice(0, MAX_ARG)}…` : s;
}

function withArg(what: ComponentVerb, arg: string | undefined): ComponentSummary {
  // From `{}`: a record keeps it as long as the call and beyond (see CallRecord.accepted).
  const s = {} as ComponentSummary;
  s.what = what;
  if (arg !== undefined) s.arg = arg;
  return s;
}

export function summarizeComponent(data: Record<string, unknown> | undefined): ComponentSummary {
  const d = data ?? {};
  switch (Number(d.oType)) {
    case 201:
      return { what: "hangup" };
    case 202: {
      const code = text(d.code);
      const phrase = text(d.phrase);
      return withArg("sip", code && phrase ? `${code} ${phrase}` : code);
    }
    case 203:
      return withArg("transfer", text(d.number));
    case 204:
      return withArg("play", text(d.files ?? d.file));
    case 208:
      return withArg("record", text(d.interruptSymbols));
    default:
      return withArg("other", text(d.oType));
  }
}
