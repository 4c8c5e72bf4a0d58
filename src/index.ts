// Public entry: the runtime usable from plain TypeScript/JavaScript, without Node-RED.
export * from "./client";
export * from "./protocol";
export * from "./session";
