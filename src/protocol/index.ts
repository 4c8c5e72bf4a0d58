// The protocol layer: pure schemas, codecs and rules of the ivrapi capability. No I/O, no Node-RED.
export * from "./codec";
export * from "./frames";
export * from "./paths";
export * from "./result";
