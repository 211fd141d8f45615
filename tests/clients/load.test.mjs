// Load and fault test of frugal serve, bounded and on loopback: many
// concurrent streaming clients with mixed sampling settings, some of which
// disconnect mid-stream, interleaved with malformed and over-limit requests
// and prompts longer than the context. Afterwards every client that stayed
// got a well-formed, complete answer, greedy answers equal `frugal generate
// --temperature 0`, no sequence is left running, the latent cache holds only
// the prefix cache's bytes, RSS is back near its value after warm-up, and
// the server still answers.
//
// Short form (CI): 24 streams, 6 disconnects, 8 bad requests, 2 over-long
// prompts. FRUGAL_LOAD_FULL=1: 64 / 16 / 20 / 5, with FRUGAL_LOAD_MODEL to
// point it at another model folder (the figures go to docs/serving.md).
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn, execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";

const binary = process.env.FRUGAL_BINARY;
const source = process.env.FRUGAL_SOURCE_DIR;
assert.ok(binary && source, "FRUGAL_BINARY and FRUGAL_SOURCE_DIR must be set");
const full = process.env.FRUGAL_LOAD_FULL === "1";
const size = full ? { streams: 64, disconnects: 16, bad: 20, overLong: 5 } : { streams: 24, disconnects: 6, bad: 8, overLong: 2 };
const model = process.env.FRUGAL_LOAD_MODEL ?? join(source, "models", "nano-r1");

function startServer() {
  const child = spawn(binary, ["serve", "--model", model, "--port", "0", "--max-sequences", "32", "--max-queue", "256"], {
    stdio: ["ignore", "ignore", "pipe"],
  });
  let log = "";
  const ready = new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`not ready in 120 s:\n${log}`)), 120000);
    child.stderr.on("data", (d) => {
      log += d;
      const m = log.match(/ready on (http:\/\/127\.0\.0\.1:\d+)\/v1/);
      if (m) {
        clearTimeout(timer);
        resolve(m[1]);
      }
    });
    child.on("exit", (code) => reject(new Error(`exited with ${code}:\n${log}`)));
  });
  return { child, ready, log: () => log };
}

function rssBytes(pid) {
  const status = readFileSync(`/proc/${pid}/status`, "utf8");
  return Number(status.match(/VmRSS:\s+(\d+) kB/)[1]) * 1024;
}

function metric(text, name) {
  const m = text.match(new RegExp(`^${name} (\\S+)$`, "m"));
  assert.ok(m, `metric ${name} missing`);
  return Number(m[1]);
}

// One streamed chat request, read as server-sent events and checked chunk by
// chunk. `abortAfter`: disconnect after that many chunks.
async function streamChat(base, body, abortAfter = null) {
  const controller = new AbortController();
  const response = await fetch(`${base}/v1/chat/completions`, {
    method: "POST", headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ ...body, stream: true, stream_options: { include_usage: true } }), signal: controller.signal,
  });
  assert.equal(response.status, 200, await (response.status === 200 ? "" : response.text()));
  const decoder = new TextDecoder();
  let buffer = "", chunks = 0, done = false, role = null, finish = null, usage = null, reasoning = "", content = "";
  try {
    for await (const bytes of response.body) {
      buffer += decoder.decode(bytes, { stream: true });
      let end;
      while ((end = buffer.indexOf("\n\n")) >= 0) {
        const event = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        assert.ok(event.startsWith("data: "), `not an SSE data line: ${event}`);
        const data = event.slice(6);
        assert.ok(!done, "data after [DONE]");
        if (data === "[DONE]") {
          done = true;
          continue;
        }
        const chunk = JSON.parse(data);
        assert.ok(!chunk.error, JSON.stringify(chunk));
        if (chunk.usage) usage = chunk.usage;
        for (const c of chunk.choices) {
          role ??= c.delta.role;
          assert.equal(finish, null, "a delta after the finish");
          if (c.delta.reasoning_content) reasoning += c.delta.reasoning_content;
          if (c.delta.content) content += c.delta.content;
          if (c.finish_reason) finish = c.finish_reason;
        }
        if (abortAfter !== null && ++chunks >= abortAfter) {
          controller.abort();
          return { aborted: true };
        }
      }
    }
  } catch (error) {
    if (abortAfter !== null && error.name === "AbortError") return { aborted: true };
    throw error;
  }
  return { done, role, finish, usage, reasoning, content };
}

const questions = ["Compute 123 + 989", "Compute 45 + 78", "Compute 907 + 96", "Compute 5 + 7"];

function generateGreedy(question) {
  return execFileSync(binary, ["generate", "--model", model, "--prompt", question, "--chat", "--temperature", "0",
    "--reasoning", "raw", "--threads", "1"], { encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] }).trimEnd();
}

test(`load and faults: ${size.streams} streams, ${size.disconnects} disconnects, ${size.bad} bad, ${size.overLong} over-long`,
  { timeout: 600000 }, async () => {
    const expected = questions.map(generateGreedy);
    const server = startServer();
    const base = await server.ready;
    try {
      const badRequests = [
        () => fetch(`${base}/v1/chat/completions`, { method: "POST", body: "{\"messages\": [" }),
        () => fetch(`${base}/v1/chat/completions`, { method: "POST", body: JSON.stringify({ messages: [{ role: "user", content: "x" }], temperature: "hot" }) }),
        () => fetch(`${base}/v1/chat/completions`, { method: "POST", body: JSON.stringify({ messages: [{ role: "user", content: "x" }], n: 10000 }) }),
        () => fetch(`${base}/v1/chat/completions`, { method: "POST", body: JSON.stringify({ messages: [{ role: "user", content: "x" }], max_tokens: 100000 }) }),
        () => fetch(`${base}/v1/chat/completions`, { method: "POST", body: JSON.stringify({ messages: [{ role: "user", content: "x" }], stop: Array(100).fill("a") }) }),
        () => fetch(`${base}/v1/chat/completions`, { method: "POST", body: "x".repeat(9 << 20) }),
        () => fetch(`${base}/v1/completions`, { method: "POST", body: JSON.stringify({ prompt: [1, -5, 3] }) }),
        () => fetch(`${base}/v1/chat/completions`, { method: "GET" }),
      ];
      const oversized = 5;  // the 9 MB body
      const runBad = async (i) => {
        let response;
        try {
          response = await badRequests[i % badRequests.length]();
        } catch (error) {
          // The server answers 413 from the headers and closes without reading
          // the body, so the client may see its upload cut instead of the answer.
          if (i % badRequests.length === oversized) return;
          throw error;
        }
        assert.ok(response.status >= 400 && response.status < 500, `bad request ${i}: ${response.status}`);
        const body = await response.json();
        assert.equal(typeof body.error.message, "string");
      };
      const runOverLong = async () => {
        const response = await fetch(`${base}/v1/chat/completions`, {
          method: "POST", body: JSON.stringify({ messages: [{ role: "user", content: "Compute 1 + 1 ".repeat(400) }] }),
        });
        assert.equal(response.status, 400);
        assert.match((await response.json()).error.message, /context/);
      };
      // Warm-up: a smaller round of the same kinds of request (so the
      // server's threads and allocator arenas exist), then the RSS baseline.
      await Promise.all([
        ...Array.from({ length: size.streams }, (_, i) => streamChat(base, { messages: [{ role: "user", content: questions[i % 4] }], temperature: i % 2 })),
        ...badRequests.map((_, i) => runBad(i)),
        runOverLong(),
      ]);
      const rssAfterWarmUp = rssBytes(server.child.pid);

      const work = [];
      const greedy = [];
      let disconnectsLeft = size.disconnects;
      for (let i = 0; i < size.streams; ++i) {
        const q = i % questions.length;
        const body = { messages: [{ role: "user", content: questions[q] }] };
        const kind = i % 4;
        if (kind === 0) body.temperature = 0;
        if (kind === 1) Object.assign(body, { temperature: 0.8, top_p: 0.9, seed: i });
        if (kind === 2) Object.assign(body, { temperature: 1.2, top_k: 5, presence_penalty: 0.5, seed: i });
        if (kind === 3) Object.assign(body, { temperature: 0.7, min_p: 0.1, frequency_penalty: 0.3, max_tokens: 12 });
        // Odd-numbered clients (sampling, never greedy) leave after a chunk or two until enough have.
        const disconnect = i % 2 === 1 && disconnectsLeft-- > 0 ? 1 + (i % 4 === 3) : null;
        const promise = streamChat(base, body, disconnect).catch((error) => {
          throw new Error(`stream ${i} (${JSON.stringify(body)}, disconnect ${disconnect}): ${error.message} ${error.cause ?? ""}`);
        });
        work.push(promise);
        if (kind === 0 && disconnect === null) greedy.push({ q, promise });
        if (i < size.bad) work.push(runBad(i));
        if (i < size.overLong) work.push(runOverLong());
      }
      const results = await Promise.all(work);
      const streams = results.filter((r) => r && ("done" in r || "aborted" in r));
      const aborted = streams.filter((r) => r.aborted).length;
      assert.ok(aborted > 0 && aborted <= size.disconnects, `aborted ${aborted}`);
      assert.equal(streams.length, size.streams);
      for (const r of streams.filter((s) => !s.aborted)) {
        assert.ok(r.done, "stream without [DONE]");
        assert.equal(r.role, "assistant");
        assert.ok(["stop", "length"].includes(r.finish), `finish ${r.finish}`);
        assert.ok(r.usage && r.usage.completion_tokens > 0);
      }
      for (const { q, promise } of greedy) {
        const r = await promise;
        assert.equal("<think>" + r.reasoning + "</think>" + r.content, expected[q], questions[q]);
      }

      // Everything ended: nothing running, the cache holds only the prefix cache.
      let metrics = "";
      for (let i = 0; i < 100; ++i) {
        metrics = await (await fetch(`${base}/metrics`)).text();
        if (metric(metrics, "frugal_running_sequences") === 0 && metric(metrics, "frugal_queued_sequences") === 0) break;
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      assert.equal(metric(metrics, "frugal_running_sequences"), 0);
      assert.equal(metric(metrics, "frugal_queued_sequences"), 0);
      assert.equal(metric(metrics, "frugal_kv_cache_bytes"), 0);
      assert.ok(metric(metrics, "frugal_prefix_cache_bytes") <= metric(metrics, "frugal_prefix_cache_budget_bytes"));
      const rssAfter = rssBytes(server.child.pid);
      // AddressSanitizer holds freed memory back on purpose (its quarantine,
      // up to 256 MB), so RSS says nothing about the server there; the
      // uninstrumented build checks it.
      const sanitized = readFileSync(`/proc/${server.child.pid}/maps`, "utf8").includes("libasan");
      if (!sanitized)
        assert.ok(rssAfter <= rssAfterWarmUp * 1.1 + (1 << 20),
          `RSS ${rssAfter} after the load, ${rssAfterWarmUp} after warm-up`);
      const again = await streamChat(base, { messages: [{ role: "user", content: questions[0] }], temperature: 0 });
      assert.equal("<think>" + again.reasoning + "</think>" + again.content, expected[0]);
      console.log(`# streams ${streams.length} (aborted ${aborted}),${sanitized ? " AddressSanitizer build," : ""} RSS after warm-up ${(rssAfterWarmUp / 1048576).toFixed(1)} MiB, ` +
        `after the load ${(rssAfter / 1048576).toFixed(1)} MiB`);
    } finally {
      server.child.kill("SIGTERM");
    }
  });
