// The platform simulator: a stand-in for the Incoplax/Era WebSocket Token API (ivrapi capability) used by
// tests, examples and `npm start`. It shares only the protocol layer with the rest of the package.
export type { ErrorCode } from "./engine";
export type { RouteHandler } from "./http";
export { readJson, sendJson } from "./http";
export { Simulator } from "./simulator";
export type {
  CallPhase,
  ConnectionView,
  FrameLogEntry,
  PlaceCallOptions,
  SimCallInfo,
  SimComponentView,
  SimFaults,
  SimulatorOptions,
  SubscriptionView,
} from "./types";
export { WS_BASE_PATH } from "./upgrade";
export type { FrameMatch } from "./wait";
export { toneWav } from "./wav";
