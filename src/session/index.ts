export * from "./files";
export * from "./registry";
export * from "./session";
export * from "./types";
