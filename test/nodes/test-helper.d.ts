// The few calls of node-red-node-test-helper the node tests use (the package ships no types).
declare module "node-red-node-test-helper" {
  interface NodeTestHelper {
    init(runtimePath: string, userSettings?: Record<string, unknown>): void;
    settings(userSettings?: Record<string, unknown>): Record<string, unknown>;
    load(nodes: unknown, flow: unknown, credentials?: unknown): Promise<void>;
    unload(): Promise<void>;
    getNode(id: string): unknown;
    clearFlows(): Promise<void>;
    setFlows(flow: unknown, type: "full" | "nodes" | "flows", credentials?: unknown): Promise<void>;
    startServer(done: (err?: unknown) => void): void;
    stopServer(done: (err?: unknown) => void): void;
    request(): {
      post(url: string): { send(body: unknown): PromiseLike<{ status: number; body: Record<string, unknown> }> };
      get(url: string): PromiseLike<{ status: number; body: Record<string, unknown> }>;
    };
    /** A sinon spy on the runtime log: every call's first argument is the log record. */
    log(): { getCalls(): Array<{ args: unknown[] }> };
  }
  const helper: NodeTestHelper;
  export default helper;
}
