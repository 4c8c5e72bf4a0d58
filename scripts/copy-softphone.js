// Copies the softphone page (plain HTML/JS/CSS, no build step) next to the compiled simulator, where
// dist/simulator/page.js looks for it: src/simulator/softphone/* → dist/simulator/softphone/.
const fs = require("node:fs");
const path = require("node:path");

const from = path.join(__dirname, "..", "src", "simulator", "softphone");
const to = path.join(__dirname, "..", "dist", "simulator", "softphone");

fs.rmSync(to, { recursive: true, force: true });
fs.mkdirSync(to, { recursive: true });
let copied = 0;
for (const entry of fs.readdirSync(from, { withFileTypes: true })) {
  if (!entry.isFile() || entry.name.startsWith(".")) continue;
  fs.copyFileSync(path.join(from, entry.name), path.join(to, entry.name));
  copied += 1;
}
if (copied === 0) {
  process.stderr.write(`copy-softphone: no files in ${from}\n`);
  process.exit(1);
}
