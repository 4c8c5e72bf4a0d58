// Preloaded (`node --require bench/probe.cjs`) into every process the benchmark measures: the clients and Node-RED.
// Answers the orchestrator's IPC probe with this process's CPU time and memory (after a full GC when asked; the
// process runs with --expose-gc), can start and stop a CPU profile (node:inspector) around one round, and exits when
// the orchestrator goes away, so no child can outlive it.
"use strict";
if (typeof process.send === "function") {
  let session;
  const answer = (m) => process.send({ bench: "probe", id: m.id, cpu: process.cpuUsage(), mem: process.memoryUsage() });
  process.on("message", (m) => {
    if (m?.bench !== "probe") return;
    if (m.profile === "start") {
      session = new (require("node:inspector").Session)();
      session.connect();
      session.post("Profiler.enable", () => session.post("Profiler.start", () => answer(m)));
      return;
    }
    if (m.profile === "stop" && session) {
      session.post("Profiler.stop", (err, res) => {
        if (!err) require("node:fs").writeFileSync(m.file, JSON.stringify(res.profile));
        session.disconnect();
        session = undefined;
        answer(m);
      });
      return;
    }
    if (m.gc && typeof global.gc === "function") {
      global.gc();
      global.gc();
    }
    answer(m);
  });
  process.on("disconnect", () => process.exit(0));
  // The channel alone must not keep a process alive that has nothing else to do.
  process.channel?.unref();
}
