// Node-RED looks for <name>.html and locales/ next to each node's .js file: copy the hand-written editor
// templates and the message catalogs into dist/nodes after tsc. Plain Node, no dependencies.
const fs = require("node:fs");
const path = require("node:path");

const root = path.join(__dirname, "..");
const out = path.join(root, "dist", "nodes");

fs.mkdirSync(out, { recursive: true });
for (const name of fs.readdirSync(path.join(root, "nodes"))) {
  if (name.endsWith(".html")) fs.copyFileSync(path.join(root, "nodes", name), path.join(out, name));
}
fs.cpSync(path.join(root, "locales"), path.join(out, "locales"), { recursive: true });
