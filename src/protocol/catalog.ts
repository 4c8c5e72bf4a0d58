// The component catalog: the IVR components a flow applies, one entry each, used by the runtime (checks), the
// editor (forms, served to the browser), the simulator (what each one does) and the docs. Field names are the
// platform's (scripts → component types → ivr). The docs leave the value forms open: plain values (as in the
// seed) or the `{argType, varType, value}` objects a saved script holds. Both pass: an object is never checked,
// and a field the catalog does not know goes through untouched, so JSON copied from a saved script is valid data.
import { z } from "zod";

/** A text in the two languages the package speaks. */
export interface Label {
  en: string;
  ru: string;
}

export type FieldKind = "int" | "number" | "text" | "bool" | "enum" | "dtmf";

export interface FieldSpec {
  name: string;
  kind: FieldKind;
  label: Label;
  required?: boolean;
  /** What a new form starts with (absent: the field starts empty and is left out of the data). */
  default?: string | number | boolean;
  min?: number;
  max?: number;
  /** enum: the values the platform takes. */
  options?: ReadonlyArray<{ value: string | number; label: Label }>;
}

export interface ComponentSpec {
  oType: number;
  label: Label;
  fields: readonly FieldSpec[];
  /** transferKeys it can end with (besides `terminated`, which every component may take). */
  exits: readonly string[];
  /** Keys of `results` in its ivrapi_component_stopped. */
  results: readonly string[];
  /** The docs consulted list no exits for it: these are the simulator's choice (see README). */
  assumedExits?: boolean;
}

const L = (en: string, ru: string): Label => ({ en, ru });
/** DTMF symbols, optionally separated by commas (the docs' "comma-separated sequences"). */
export const DTMF_LIST = /^[0-9*#A-Da-d,\s]*$/;

const interrupt = (def?: string): FieldSpec => ({
  name: "interruptSymbols",
  kind: "dtmf",
  label: L("Interrupt symbols", "Символы прерывания"),
  ...(def === undefined ? {} : { default: def }),
});
const clearBuffer: FieldSpec = {
  name: "clearDtmfBuffer",
  kind: "bool",
  label: L("Clear DTMF buffer first", "Очистить буфер DTMF"),
};
const account: FieldSpec = { name: "accountKey", kind: "text", label: L("Account key", "Ключ учётной записи") };
const maxSymbols = (def?: number): FieldSpec => ({
  name: "maxSymbolCount",
  kind: "int",
  min: 0,
  max: 100,
  label: L("Max digits", "Макс. цифр"),
  ...(def === undefined ? {} : { default: def }),
});
const ttsMode: FieldSpec = {
  name: "mode",
  kind: "enum",
  default: 0,
  label: L("Mode", "Режим"),
  options: [
    { value: 0, label: L("play", "воспроизвести") },
    { value: 1, label: L("save to a file", "сохранить в файл") },
  ],
};
const maxRec: FieldSpec = {
  name: "maxRecTimeSec",
  kind: "int",
  min: 1,
  max: 300,
  default: 10,
  label: L("Max speech time (s)", "Макс. время речи (с)"),
};
const profanity: FieldSpec = {
  name: "profanityFilter",
  kind: "bool",
  label: L("Profanity filter", "Фильтр ненормативной лексики"),
};

export const CATALOG: readonly ComponentSpec[] = [
  { oType: 201, label: L("Hang up", "Завершить вызов"), fields: [], exits: ["transfer", "error"], results: [] },
  {
    oType: 202,
    label: L("SIP answer", "SIP-ответ"),
    fields: [
      // Not required: flows written before the catalog send the same code as `code`, which the platform also reads.
      { name: "sipCode", kind: "int", min: 100, max: 699, default: 200, label: L("SIP code", "SIP-код") },
      { name: "phrase", kind: "text", label: L("Phrase", "Фраза") },
      { name: "reason", kind: "text", label: L("Reason header", "Заголовок Reason") },
      { name: "remotePartyDisplay", kind: "text", label: L("Display name", "Отображаемое имя") },
      { name: "redirectTo", kind: "text", label: L("Redirect to (3xx)", "Перенаправить на (3xx)") },
    ],
    exits: ["transfer", "error"],
    results: [],
  },
  {
    oType: 203,
    label: L("Transfer", "Перевод"),
    fields: [
      { name: "number", kind: "text", required: true, default: "100", label: L("Number", "Номер") },
      {
        name: "reinviteMode",
        kind: "enum",
        default: 1,
        label: L("re-INVITE", "re-INVITE"),
        options: [
          { value: 0, label: L("not used", "не используется") },
          { value: 1, label: L("auto", "авто") },
          { value: 2, label: L("sendonly", "sendonly") },
          { value: 3, label: L("inactive", "inactive") },
        ],
      },
    ],
    exits: ["transfer", "error"],
    results: ["transferTo"],
  },
  {
    oType: 204,
    label: L("Play", "Воспроизведение"),
    fields: [
      {
        name: "mode",
        kind: "enum",
        default: 0,
        label: L("Mode", "Режим"),
        options: [
          { value: 0, label: L("play a file", "воспроизвести файл") },
          { value: 1, label: L("play a file, limited", "воспроизвести с ограничением") },
          { value: 2, label: L("play a file, extra", "воспроизвести, расширенный") },
          { value: 3, label: L("start playing, go on", "начать и продолжить") },
          { value: 7, label: L("play several files", "воспроизвести несколько файлов") },
        ],
      },
      { name: "file", kind: "text", required: true, default: ":SYN_MEDIA/hello.wav", label: L("File", "Файл") },
      { name: "playerId", kind: "text", label: L("Player id", "Идентификатор плеера") },
      interrupt(),
      clearBuffer,
      { name: "loop", kind: "bool", label: L("Loop", "Повторять") },
      { name: "randomize", kind: "bool", label: L("Random order", "Случайный порядок") },
    ],
    exits: ["transfer", "error"],
    results: ["dtmfBuffer"],
  },
  {
    oType: 206,
    label: L("Collect digits", "Сбор цифр"),
    fields: [
      {
        name: "timeoutSec",
        kind: "number",
        min: 0,
        max: 3600,
        default: 10,
        label: L("Wait for the first digit (s)", "Ожидание первой цифры (с)"),
      },
      {
        name: "symbolTimeoutSec",
        kind: "number",
        min: 0,
        max: 3600,
        default: 5,
        label: L("Wait between digits (s)", "Пауза между цифрами (с)"),
      },
      maxSymbols(4),
      interrupt("#"),
      clearBuffer,
      { name: "inband", kind: "bool", label: L("Detect in-band tones", "Распознавать тоны в речевом канале") },
    ],
    exits: ["transfer", "transferTimeout", "error"],
    results: ["dtmfBuffer"],
  },
  {
    oType: 207,
    label: L("Send digits", "Отправка цифр"),
    fields: [
      {
        name: "dtmf",
        kind: "dtmf",
        required: true,
        default: "123#",
        label: L("Digits (, = 1 s pause)", "Цифры (, = пауза 1 с)"),
      },
      {
        name: "proto",
        kind: "enum",
        default: 1,
        label: L("Method", "Способ"),
        options: [
          { value: 1, label: L("RFC 2833", "RFC 2833") },
          { value: 2, label: L("SIP INFO", "SIP INFO") },
          { value: 3, label: L("in-band", "в речевом канале") },
        ],
      },
    ],
    exits: ["transfer", "transferTimeout", "transferError", "error"],
    results: ["dtmf"],
  },
  {
    oType: 208,
    label: L("Record", "Запись"),
    fields: [
      {
        name: "mode",
        kind: "enum",
        default: 0,
        label: L("Mode", "Режим"),
        options: [
          { value: 0, label: L("record to a file", "запись в файл") },
          { value: 1, label: L("growing raw file", "растущий raw-файл") },
        ],
      },
      { name: "recTimeSec", kind: "int", min: 0, max: 86400, default: 30, label: L("Max time (s)", "Макс. время (с)") },
      maxSymbols(1),
      interrupt("#"),
      { name: "abortOnSilence", kind: "bool", label: L("Stop on silence", "Остановить при тишине") },
      { name: "toFilepath", kind: "text", label: L("File path", "Путь к файлу") },
    ],
    exits: ["transfer", "error"],
    results: ["recordFile", "dtmfBuffer"],
  },
  {
    oType: 217,
    label: L("Attended transfer", "Перевод с консультацией"),
    fields: [
      { name: "number", kind: "text", required: true, default: "100", label: L("Number", "Номер") },
      {
        name: "timeoutSec",
        kind: "int",
        min: 1,
        max: 600,
        default: 30,
        label: L("Wait for an answer (s)", "Ожидание ответа (с)"),
      },
      { name: "calleeFile", kind: "text", label: L("Play to the callee first", "Сначала проиграть вызываемому") },
    ],
    exits: ["transfer", "transferTimeout", "transferError", "error"],
    results: ["transferTo"],
    assumedExits: true,
  },
  {
    oType: 222,
    label: L("Text to speech (Yandex)", "Синтез речи (Яндекс)"),
    fields: [
      account,
      ttsMode,
      { name: "text", kind: "text", required: true, default: "Hello!", label: L("Text", "Текст") },
      { name: "voice", kind: "text", label: L("Voice", "Голос") },
      interrupt(),
    ],
    exits: ["transfer", "error"],
    results: ["file", "dtmfBuffer"],
    assumedExits: true,
  },
  {
    oType: 223,
    label: L("Speech recognition (Yandex)", "Распознавание речи (Яндекс)"),
    fields: [
      account,
      { name: "topic", kind: "text", default: "general", label: L("Model (topic)", "Модель (topic)") },
      { name: "lang", kind: "text", default: "ru-RU", label: L("Language", "Язык") },
      maxRec,
      profanity,
      maxSymbols(),
      interrupt(),
    ],
    exits: ["transfer", "transferTimeout", "error"],
    results: ["text", "dtmfBuffer"],
    assumedExits: true,
  },
  {
    oType: 226,
    label: L("Text to speech (Sber)", "Синтез речи (Сбер)"),
    fields: [
      account,
      ttsMode,
      {
        name: "contentType",
        kind: "enum",
        default: "TEXT",
        label: L("Content", "Содержимое"),
        options: [
          { value: "TEXT", label: L("text", "текст") },
          { value: "SSML", label: L("SSML", "SSML") },
        ],
      },
      { name: "text", kind: "text", required: true, default: "Hello!", label: L("Text", "Текст") },
      interrupt(),
    ],
    exits: ["transfer", "error"],
    results: ["file", "dtmfBuffer"],
    assumedExits: true,
  },
  {
    oType: 227,
    label: L("Speech recognition (Sber)", "Распознавание речи (Сбер)"),
    fields: [
      account,
      { name: "model", kind: "text", default: "general", label: L("Model", "Модель") },
      {
        name: "lang",
        kind: "enum",
        default: "ru",
        label: L("Language", "Язык"),
        options: [
          { value: "ru", label: L("Russian", "русский") },
          { value: "en", label: L("English", "английский") },
          { value: "kk", label: L("Kazakh", "казахский") },
        ],
      },
      maxRec,
      profanity,
      { name: "multiUtterance", kind: "bool", label: L("Several phrases", "Несколько фраз") },
      maxSymbols(),
      interrupt(),
    ],
    exits: ["transfer", "transferTimeout", "error"],
    results: ["text", "dtmfBuffer"],
    assumedExits: true,
  },
];

const BY_OTYPE = new Map(CATALOG.map((c) => [c.oType, c]));

export function componentSpec(oType: unknown): ComponentSpec | undefined {
  const n = typeof oType === "string" && /^\d+$/.test(oType) ? Number(oType) : oType;
  return typeof n === "number" ? BY_OTYPE.get(n) : undefined;
}

/** The data a new form (or a preset) starts with: oType and every field that has a default. */
export function defaultData(oType: number): Record<string, unknown> {
  const spec = componentSpec(oType);
  const out: Record<string, unknown> = { oType };
  for (const f of spec?.fields ?? []) if (f.default !== undefined) out[f.name] = f.default;
  return out;
}

// ---------------------------------------------------------------------------------------------
// Checks

/** The platform writes numbers as text ("10") and booleans as 0/1 or "true": all accepted. */
const asNumber = (v: unknown): unknown => (typeof v === "string" && v.trim() !== "" ? Number(v) : v);
const asBool = (v: unknown): unknown =>
  v === "true" || v === 1 || v === "1" ? true : v === "false" || v === 0 || v === "0" ? false : v;
/** A saved script's `{argType, varType, value}`: its value form is the platform's business, not checked here. */
const isScriptValue = (v: unknown): boolean => typeof v === "object" && v !== null && !Array.isArray(v);

function fieldSchema(f: FieldSpec): z.ZodType {
  let plain: z.ZodType;
  switch (f.kind) {
    case "int":
    case "number": {
      let n = f.kind === "int" ? z.number().int(`${f.name}: must be a whole number`) : z.number();
      if (f.min !== undefined) n = n.min(f.min, `${f.name}: must be at least ${f.min}`);
      if (f.max !== undefined) n = n.max(f.max, `${f.name}: must be at most ${f.max}`);
      plain = z.preprocess(asNumber, z.number(`${f.name}: must be a number`).pipe(n));
      break;
    }
    case "bool":
      plain = z.preprocess(asBool, z.boolean(`${f.name}: must be true or false`));
      break;
    case "enum": {
      const values = (f.options ?? []).map((o) => o.value);
      const numeric = values.every((v) => typeof v === "number");
      plain = z.preprocess(
        numeric ? asNumber : (v) => v,
        z.custom((v) => values.includes(v as never), `${f.name}: must be one of ${values.join(", ")}`),
      );
      break;
    }
    case "dtmf":
      plain = z.preprocess(
        (v) => (typeof v === "number" ? String(v) : v),
        z.string(`${f.name}: must be DTMF symbols`).regex(DTMF_LIST, `${f.name}: only 0-9 * # A-D and commas`),
      );
      break;
    default:
      plain = z.preprocess((v) => (typeof v === "number" ? String(v) : v), z.string(`${f.name}: must be a text`));
  }
  return z.unknown().superRefine((v, ctx) => {
    if (v === undefined || v === "" || isScriptValue(v)) return;
    const r = plain.safeParse(v);
    if (!r.success) ctx.addIssue({ code: "custom", message: r.error.issues[0]?.message ?? `${f.name}: invalid` });
  });
}

const SCHEMAS = new Map<number, z.ZodType>();

/** The component's zod schema: its known fields checked, every other field kept as it is. */
export function componentSchema(spec: ComponentSpec): z.ZodType {
  let s = SCHEMAS.get(spec.oType);
  if (!s) {
    const required = spec.fields.filter((f) => f.required).map((f) => f.name);
    s = z
      .looseObject(Object.fromEntries(spec.fields.map((f) => [f.name, fieldSchema(f).optional()])))
      .superRefine((d, ctx) => {
        for (const name of required) {
          if (d[name] === undefined || d[name] === "") {
            ctx.addIssue({ code: "custom", path: [name], message: `${name}: is required` });
          }
        }
      });
    SCHEMAS.set(spec.oType, s);
  }
  return s;
}

export interface FieldError {
  field: string;
  message: string;
}

/**
 * Checks component data against the catalog. Unknown oTypes and unknown fields pass (the platform has more
 * components than the catalog); the data is never rewritten: a check, not a conversion.
 */
export function checkComponent(data: Record<string, unknown>): FieldError[] {
  const spec = componentSpec(data.oType);
  if (!spec) return [];
  const parsed = componentSchema(spec).safeParse(data);
  if (parsed.success) return [];
  return parsed.error.issues.map((i) => {
    const field = String(i.path[0] ?? "data");
    // Messages built above start with the field's name; zod's own (a union miss) get it prefixed.
    return { field, message: i.message.startsWith(`${field}:`) ? i.message : `${field}: ${i.message}` };
  });
}
