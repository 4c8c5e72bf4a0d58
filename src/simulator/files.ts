// Storage behind internal paths: per-call temp areas (":TEMP/…"), static roots (":GS_PUB/…" etc.) and the
// short-lived public links of file_get_path. Everything lives under one directory on disk.
import { randomBytes } from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import { splitPath, TEMP_ROOT } from "../protocol";

interface Link {
  name: string;
  data: Buffer;
  expiresAt: number;
}

const CONTENT_TYPES: Record<string, string> = {
  ".wav": "audio/wav",
  ".mp3": "audio/mpeg",
  ".ogg": "audio/ogg",
  ".txt": "text/plain; charset=utf-8",
  ".json": "application/json",
  ".pdf": "application/pdf",
  ".tif": "image/tiff",
  ".tiff": "image/tiff",
};

export function contentTypeOf(name: string): string {
  return CONTENT_TYPES[path.extname(name).toLowerCase()] ?? "application/octet-stream";
}

export class FileStore {
  private readonly links = new Map<string, Link>();

  constructor(readonly root: string) {}

  tempDir(ivrid: string): string {
    return path.join(this.root, "temp", ivrid.replace(/[^A-Za-z0-9_-]/g, "_"));
  }

  /**
   * Disk location of an internal path (":TEMP/…" needs the call's ivrid), or an error text.
   * splitPath already refuses "..", the containment check is the second lock on the same door.
   */
  resolve(
    internal: string,
    ivrid?: string,
  ): { ok: true; file: string; temp: boolean } | { ok: false; message: string } {
    const split = splitPath(internal);
    if (!split.ok) return split;
    const { root, rest } = split.value;
    const base =
      root === TEMP_ROOT
        ? ivrid === undefined
          ? undefined
          : this.tempDir(ivrid)
        : path.join(this.root, "static", root.slice(1));
    if (base === undefined) return { ok: false, message: ":TEMP paths exist only within a call" };
    const file = path.resolve(base, rest);
    if (file !== base && !file.startsWith(base + path.sep)) return { ok: false, message: "path leaves its root" };
    return { ok: true, file, temp: root === TEMP_ROOT };
  }

  /** Writes bytes under a fresh name in the call's temp area; returns the ":TEMP/…" path. */
  writeTemp(ivrid: string, subdir: string, name: string, data: Buffer): string {
    const dir = path.join(this.tempDir(ivrid), subdir);
    fs.mkdirSync(dir, { recursive: true });
    const unique = uniqueName(dir, name);
    fs.writeFileSync(path.join(dir, unique), data);
    return [TEMP_ROOT, subdir, unique].filter(Boolean).join("/");
  }

  /** Writes (or overwrites, as re-uploading a static file updates it) a file in static storage. */
  writeStatic(file: string, data: Buffer): void {
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, data);
  }

  exists(file: string): boolean {
    try {
      return fs.statSync(file).isFile();
    } catch {
      return false;
    }
  }

  removeTemp(ivrid: string): void {
    fs.rmSync(this.tempDir(ivrid), { recursive: true, force: true });
  }

  /** Snapshots the file now (later changes don't show through the link), returns the link's path part. */
  createLink(file: string, ttlMs: number): string {
    this.prune();
    const id = randomBytes(12).toString("hex");
    const name = path.basename(file);
    this.links.set(id, { name, data: fs.readFileSync(file), expiresAt: Date.now() + ttlMs });
    return `/files/${id}/${encodeURIComponent(name)}`;
  }

  /** 404 for unknown links, 410 the first time an expired one is asked for (then it is forgotten). */
  serveLink(id: string): { status: 200; name: string; data: Buffer } | { status: 404 | 410 } {
    const link = this.links.get(id);
    if (!link) return { status: 404 };
    if (Date.now() >= link.expiresAt) {
      this.links.delete(id);
      return { status: 410 };
    }
    return { status: 200, name: link.name, data: link.data };
  }

  /** Expiry is checked on use, not by timers, so a store with links never holds the process open. */
  private prune(): void {
    const now = Date.now();
    for (const [id, link] of this.links) if (now >= link.expiresAt) this.links.delete(id);
  }

  clearLinks(): void {
    this.links.clear();
  }
}

function uniqueName(dir: string, name: string): string {
  const ext = path.extname(name);
  const stem = name.slice(0, name.length - ext.length);
  let candidate = name;
  for (let i = 1; fs.existsSync(path.join(dir, candidate)); i++) candidate = `${stem}-${i}${ext}`;
  return candidate;
}
