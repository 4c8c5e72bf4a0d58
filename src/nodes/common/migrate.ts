// Saved flows outlive the code that wrote them: every node stores `version`, and a chain of migrations brings
// an older config up to the current shape before it is parsed. migrations[i] turns version i into i + 1; a
// config with no version is version 0 (written before versions existed).
export type RawConfig = Record<string, unknown>;
export type Migration = (config: RawConfig) => RawConfig;

export interface Migrated {
  config: RawConfig;
  from: number;
  to: number;
}

export function migrate(raw: RawConfig, migrations: readonly Migration[]): Migrated {
  const current = migrations.length;
  const stored = Number(raw.version ?? 0);
  const from = Number.isInteger(stored) && stored >= 0 ? stored : 0;
  // A config from a newer release is left alone: parsing then reports what this release cannot read.
  if (from >= current) return { config: { ...raw }, from, to: from };
  let config: RawConfig = { ...raw };
  for (let v = from; v < current; v++) {
    const step = migrations[v];
    if (step) config = step(config);
  }
  return { config: { ...config, version: current }, from, to: current };
}

/** Fills what an old config lacks, keeping what it has. */
export function withDefaults(defaults: RawConfig): Migration {
  return (config) => {
    const out: RawConfig = { ...config };
    for (const [k, v] of Object.entries(defaults)) if (out[k] === undefined || out[k] === null) out[k] = v;
    return out;
  };
}
