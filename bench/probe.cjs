// Preloaded (`node --require bench/probe.cjs`) into every process the benchmark measures: the clients and Node-RED.
// Answers the orchestrator's IPC probe with this process's CPU time and memory (after a full GC when asked; the
// process runs with --expose-gc) and the garbage collections since the last probe, can start and stop a CPU or
// sampling heap profile (node:inspector) around one round or write a heap snapshot, and exits when the orchestrator
// goes away, so no child can outlive it.
"use strict";
if (typeof process.send === "function") {
  let session;
  // Pauses since the previous probe: garbage collections (each one's length) and the event loop's delay histogram,
  // so a round's latency can be set against what stalled the process meanwhile.
  const { PerformanceObserver, monitorEventLoopDelay, constants } = require("node:perf_hooks");
  let gcs = [];
  new PerformanceObserver((list) => {
    for (const e of list.getEntries()) {
      // The probe's own full collections (before a heap reading) are not the process's.
      if ((e.detail?.flags ?? 0) & constants.NODE_PERFORMANCE_GC_FLAGS_FORCED) continue;
      if (gcs.length < 100000) gcs.push(e.duration);
    }
  }).observe({ entryTypes: ["gc"] });
  const loop = monitorEventLoopDelay({ resolution: 1 });
  loop.enable();
  const pauses = () => {
    const sorted = gcs.sort((a, b) => a - b);
    const out = {
      gcCount: sorted.length,
      gcMs: sorted.reduce((a, b) => a + b, 0),
      gcMaxMs: sorted.length ? sorted[sorted.length - 1] : 0,
      gcOver1Ms: sorted.filter((d) => d > 1).length,
      loopP99Ms: loop.percentile(99) / 1e6,
      loopMaxMs: loop.max / 1e6,
    };
    gcs = [];
    loop.reset();
    return out;
  };
  const answer = (m) =>
    process.send({ bench: "probe", id: m.id, cpu: process.cpuUsage(), mem: process.memoryUsage(), pauses: pauses() });
  process.on("message", (m) => {
    if (m?.bench !== "probe") return;
    if (m.profile === "start") {
      session = new (require("node:inspector").Session)();
      session.connect();
      // A sample every 100 µs, not the default 1 ms: a 20,000-call round then gives tens of thousands of samples, so a
      // function's share is known to a fraction of a per cent.
      session.post("Profiler.enable", () =>
        session.post("Profiler.setSamplingInterval", { interval: 100 }, () =>
          session.post("Profiler.start", () => answer(m)),
        ),
      );
      return;
    }
    if (m.profile === "heap-start") {
      // Every allocation sampled, kept or collected (where the garbage comes from); with `live`, only what is still
      // alive when the profile stops (where what stays comes from).
      session = new (require("node:inspector").Session)();
      session.connect();
      const sampling = m.live
        ? { samplingInterval: 512 }
        : { samplingInterval: 512, includeObjectsCollectedByMajorGC: true, includeObjectsCollectedByMinorGC: true };
      session.post("HeapProfiler.startSampling", sampling, () => answer(m));
      return;
    }
    // Either profile ends the same way: its result written to m.file, the session closed.
    const stop = { stop: "Profiler.stop", "heap-stop": "HeapProfiler.stopSampling" }[m.profile];
    if (stop && session) {
      if (m.gc && typeof global.gc === "function") global.gc();
      session.post(stop, (err, res) => {
        if (!err) require("node:fs").writeFileSync(m.file, JSON.stringify(res.profile));
        session.disconnect();
        session = undefined;
        answer(m);
      });
      return;
    }
    if (m.snapshot) {
      // A heap snapshot now (diagnosis: what the calls in flight hold).
      require("node:v8").writeHeapSnapshot(m.snapshot);
      answer(m);
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
