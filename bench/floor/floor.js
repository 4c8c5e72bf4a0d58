// The benchmark's floor (setup 5): the call script in Node-RED nodes that do as little as the bare ws client does
// (bench/clients/bare.ts): one shared socket, JSON in and out, qids and oIds matched in two Maps, nothing checked, no
// timeouts, no statuses, no records. What Node-RED itself costs a node package per call; no real package should be
// this trusting. The flow is the package's (start → apply 204 → apply 208 → abort), built in bench/nodered.ts.

const WebSocket = require("ws");

module.exports = (RED) => {
  function FloorConnection(config) {
    RED.nodes.createNode(this, config);
    const starts = [];
    const pending = new Map();
    const components = new Map();
    let qid = 0;
    let oId = 0;
    const ws = new WebSocket(`${config.url}/${this.credentials.token}`, { perMessageDeflate: false });
    const request = (name, body, answered) => {
      body.qid = ++qid;
      if (answered) pending.set(body.qid, answered);
      ws.send(JSON.stringify([name, body]));
    };
    this.starts = starts;
    this.request = request;
    this.apply = (ivr, data, stopped) => {
      const id = ++oId;
      components.set(id, stopped);
      request("ivrapi_component_apply", { key: ivr.key, ivrid: ivr.ivrid, data: { ...data, oId: id } });
    };
    ws.on("open", () =>
      request("connection_info", {}, () =>
        request("subscribe", {
          id: "floor",
          objects: "any",
          events: ["ivrevents.api_start", "ivrevents.api_stop"],
          expires: 3600,
        }),
      ),
    );
    ws.on("message", (raw) => {
      const [name, body] = JSON.parse(raw.toString());
      if (name === "notify") {
        if (body.type !== "api_start") return;
        const d = body.data;
        const start = starts.find((s) => s.key === d.key);
        if (!start) return;
        request("ivrapi_accept", { key: d.key, ivrid: d.ivrid }, (answer) => {
          if (answer.result === "ok") start.accepted(d);
        });
      } else if (name === "ivrapi_component_stopped") {
        const stopped = components.get(body.oId);
        components.delete(body.oId);
        stopped?.(body);
      } else {
        const answered = pending.get(body.qid);
        pending.delete(body.qid);
        answered?.(body);
      }
    });
    ws.on("error", () => {});
    this.on("close", (done) => {
      ws.terminate();
      done();
    });
  }
  RED.nodes.registerType("floor-connection", FloorConnection, { credentials: { token: { type: "password" } } });

  function FloorStart(config) {
    RED.nodes.createNode(this, config);
    const conn = RED.nodes.getNode(config.connection);
    conn.starts.push({
      key: config.key,
      accepted: (d) => this.send({ payload: d.params, ivr: { ivrid: d.ivrid, key: d.key } }),
    });
  }
  RED.nodes.registerType("floor-start", FloorStart);

  function FloorApply(config) {
    RED.nodes.createNode(this, config);
    const conn = RED.nodes.getNode(config.connection);
    const data = JSON.parse(config.data);
    this.on("input", (msg, send, done) => {
      conn.apply(msg.ivr, data, (stopped) => {
        msg.payload = stopped.results;
        msg.ivr.transferKey = stopped.transferKey;
        send(msg);
        done();
      });
    });
  }
  RED.nodes.registerType("floor-apply", FloorApply);

  function FloorAbort(config) {
    RED.nodes.createNode(this, config);
    const conn = RED.nodes.getNode(config.connection);
    this.on("input", (msg, send, done) => {
      conn.request("ivrapi_abort", { key: msg.ivr.key, ivrid: msg.ivr.ivrid }, () => {
        send(msg);
        done();
      });
    });
  }
  RED.nodes.registerType("floor-abort", FloorAbort);
};
