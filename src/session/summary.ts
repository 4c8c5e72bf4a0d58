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

/** The verb of an oType. */
export function componentVerb(oType: unknown): ComponentVerb {
  switch (Number(oType)) {
    case 201:
      return "hangup";
    case 202:
      return "sip";
    case 203:
      return "transfer";
    case 204:
      return "play";
    case 208:
      return "record";
    default:
      return "other";
  }
}

/** The main argument of a component's data, for its verb (a string the data holds is kept as it is, no copy). */
export function componentArg(what: ComponentVerb, d: Record<string, unknown>): string | undefined {
  switch (what) {
    case "hangup":
      return undefined;
    case "sip": {
      const code = text(d.code);
      const phrase = text(d.phrase);
      return code && phrase ? `${code} ${phrase}` : code;
    }
    case "transfer":
      return text(d.number);
    case "play":
      return text(d.files ?? d.file);
    case "record":
      return text(d.interruptSymbols);
    default:
      return text(d.oType);
  }
}

/** A summary made when it is read: a record keeps its verb and argument as plain values. */
export function componentSummary(what: ComponentVerb, arg: string | undefined): ComponentSummary {
  return arg === undefined ? { what } : { what, arg };
}
