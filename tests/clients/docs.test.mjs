// The curl examples of docs/serving.md, run against a live server: each
// must exit 0 and answer what it shows (JSON, a stream ending in [DONE], or
// Prometheus text).
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn, execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";

const binary = process.env.FRUGAL_BINARY;
const source = process.env.FRUGAL_SOURCE_DIR;
assert.ok(binary && source, "FRUGAL_BINARY and FRUGAL_SOURCE_DIR must be set");

const doc = readFileSync(join(source, "docs", "serving.md"), "utf8");
const examples = [...doc.matchAll(/```sh\n([\s\S]*?)```/g)].map((m) => m[1]).filter((block) => block.includes("curl "));

test(`the ${examples.length} curl examples of docs/serving.md work`, { timeout: 120000 }, async () => {
  assert.ok(examples.length >= 4, "the examples were not found");
  const child = spawn(binary, ["serve", "--model", join(source, "models", "nano-r1"), "--port", "0"], { stdio: ["ignore", "ignore", "pipe"] });
  let log = "";
  const address = await new Promise((resolve, reject) => {
    child.stderr.on("data", (d) => {
      log += d;
      const m = log.match(/ready on http:\/\/(127\.0\.0\.1:\d+)\/v1/);
      if (m) resolve(m[1]);
    });
    child.on("exit", (code) => reject(new Error(`exited with ${code}:\n${log}`)));
  });
  try {
    for (const example of examples) {
      const output = execFileSync("bash", ["-c", `set -euo pipefail\n${example.replaceAll("127.0.0.1:8000", address)}`],
        { encoding: "utf8" });
      if (example.includes("/metrics")) {
        assert.match(output, /^frugal_requests_total\{/m, example);
      } else if (example.includes('"stream": true')) {
        assert.match(output, /data: \[DONE\]\n\n$/, example);
      } else {
        const body = JSON.parse(output);
        assert.ok(!body.error, `${example}\n${output}`);
      }
    }
  } finally {
    child.kill("SIGTERM");
  }
});
