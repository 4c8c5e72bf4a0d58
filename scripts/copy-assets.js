// Node-RED looks for <name>.html, locales/ and icons/ next to each node's .js file: copy the hand-written editor
// templates, the message catalogs and the icons into dist/nodes after tsc. Plain Node, no dependencies.
// (Node-RED 4 does not look in the package root's icons/: without the copy the editor shows its default icon.)
const fs = require("node:fs");
const path = require("node:path");

const root = path.join(__dirname, "..");
const out = path.join(root, "dist", "nodes");

fs.mkdirSync(out, { recursive: true });
for (const name of fs.readdirSync(path.join(root, "nodes"))) {
  if (name.endsWith(".html")) fs.copyFileSync(path.join(root, "nodes", name), path.join(out, name));
}
fs.cpSync(path.join(root, "locales"), path.join(out, "locales"), { recursive: true });
fs.cpSync(path.join(root, "icons"), path.join(out, "icons"), { recursive: true });
