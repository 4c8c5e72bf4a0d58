// Removes the build output so a rename or delete in src/ never leaves a stale file in the package.
require("node:fs").rmSync(require("node:path").join(__dirname, "..", "dist"), { recursive: true, force: true });
