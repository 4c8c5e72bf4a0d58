export * from "./backoff";
export * from "./client";
export * from "./errors";
export * from "./options";
