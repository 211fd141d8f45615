// frugal serve driven by the clients people use: the official `openai`
// package and the AI SDK's DeepSeek provider (which reads reasoning_content
// and DeepSeek's prompt-cache usage). Each suite starts its own server on a
// free loopback port and stops it with SIGTERM, which must exit 0.
// Run by CTest with FRUGAL_BINARY and FRUGAL_SOURCE_DIR set.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { spawn, execFileSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import OpenAI from "openai";
import { createDeepSeek } from "@ai-sdk/deepseek";
import { generateText, streamText } from "ai";

const binary = process.env.FRUGAL_BINARY;
const source = process.env.FRUGAL_SOURCE_DIR;
assert.ok(binary && source, "FRUGAL_BINARY and FRUGAL_SOURCE_DIR must be set");
const API_KEY = "test-key";

// Starts `frugal serve` on port 0; resolves with its base URL once ready.
function startServer(args) {
  const child = spawn(binary, ["serve", "--port", "0", "--api-key", API_KEY, "--threads", "1", ...args], {
    stdio: ["ignore", "ignore", "pipe"],
  });
  let log = "";
  const ready = new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`server not ready in 60 s:\n${log}`)), 60000);
    child.stderr.on("data", (data) => {
      log += data;
      const match = log.match(/ready on (http:\/\/127\.0\.0\.1:\d+\/v1)/);
      if (match) {
        clearTimeout(timer);
        resolve(match[1]);
      }
    });
    child.on("exit", (code) => reject(new Error(`server exited with ${code}:\n${log}`)));
  });
  const stop = () =>
    new Promise((resolve) => {
      child.removeAllListeners("exit");
      child.on("exit", (code, signal) => resolve({ code, signal, log }));
      child.kill("SIGTERM");
    });
  return { ready, stop };
}

// Greedy reply of `frugal generate` for the same chat, the reference.
function generateGreedy(model, question) {
  return execFileSync(binary, ["generate", "--model", model, "--prompt", question, "--chat", "--temperature", "0",
    "--max-tokens", "128", "--reasoning", "raw", "--threads", "1"], { encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] });
}

const nanoR1 = join(source, "models", "nano-r1");
let server, baseURL;
before(async () => {
  server = startServer(["--model", nanoR1]);
  baseURL = await server.ready;
});
after(async () => {
  const { code, signal, log } = await server.stop();
  assert.equal(signal, null, log);
  assert.equal(code, 0, log);
});

const question = "Compute 123 + 989";

test("openai: chat keeps reasoning apart and equals frugal generate", async () => {
  const client = new OpenAI({ baseURL, apiKey: API_KEY });
  const reply = await client.chat.completions.create({
    model: "nano-r1", messages: [{ role: "user", content: question }], temperature: 0,
  });
  const message = reply.choices[0].message;
  assert.match(message.content, /<answer> 1112 <\/answer>/);
  assert.ok(message.reasoning_content.length > 0);
  assert.equal("<think>" + message.reasoning_content + "</think>" + message.content, generateGreedy(nanoR1, question).trimEnd());
  assert.equal(reply.choices[0].finish_reason, "stop");
  assert.equal(reply.usage.total_tokens, reply.usage.prompt_tokens + reply.usage.completion_tokens);
  assert.ok(reply.usage.completion_tokens_details.reasoning_tokens > 0);
});

test("openai: streaming chat with usage, and a stop string", async () => {
  const client = new OpenAI({ baseURL, apiKey: API_KEY });
  const stream = await client.chat.completions.create({
    model: "nano-r1", messages: [{ role: "user", content: question }], temperature: 0, stream: true,
    stream_options: { include_usage: true },
  });
  let reasoning = "", content = "", finish = null, usage = null, role = null;
  for await (const chunk of stream) {
    if (chunk.usage) usage = chunk.usage;
    for (const choice of chunk.choices) {
      role ??= choice.delta.role;
      if (choice.delta.reasoning_content) {
        assert.equal(content, "", "reasoning after the answer began");
        reasoning += choice.delta.reasoning_content;
      }
      if (choice.delta.content) content += choice.delta.content;
      if (choice.finish_reason) finish = choice.finish_reason;
    }
  }
  assert.equal(role, "assistant");
  assert.equal(finish, "stop");
  assert.match(content, /1112/);
  assert.ok(reasoning.length > 0);
  assert.ok(usage.completion_tokens > 0);

  const stopped = await client.chat.completions.create({
    model: "nano-r1", messages: [{ role: "user", content: question }], temperature: 0, stop: ["<answer>"],
  });
  assert.equal(stopped.choices[0].finish_reason, "stop");
  assert.ok(!stopped.choices[0].message.content.includes("<answer>"));
});

test("openai: a wrong API key is a 401 AuthenticationError", async () => {
  const client = new OpenAI({ baseURL, apiKey: "wrong", maxRetries: 0 });
  await assert.rejects(
    client.chat.completions.create({ model: "nano-r1", messages: [{ role: "user", content: question }] }),
    (error) => error instanceof OpenAI.AuthenticationError && error.status === 401,
  );
});

test("openai: models list and seeded sampling repeat", async () => {
  const client = new OpenAI({ baseURL, apiKey: API_KEY });
  const models = await client.models.list();
  assert.deepEqual(models.data.map((m) => m.id), ["nano-r1"]);
  const ask = () => client.chat.completions.create({
    model: "nano-r1", messages: [{ role: "user", content: "Compute 45 + 78" }], temperature: 1.0, seed: 42, max_tokens: 40,
  });
  const [a, b] = await Promise.all([ask(), ask()]);
  assert.equal(a.choices[0].message.content, b.choices[0].message.content);
  assert.equal(a.choices[0].message.reasoning_content, b.choices[0].message.reasoning_content);
});

test("ai-sdk deepseek: reasoning, answer and cached prompt tokens on the second turn", async () => {
  const deepseek = createDeepSeek({ baseURL, apiKey: API_KEY });
  const first = await generateText({
    model: deepseek("nano-r1"), messages: [{ role: "user", content: question }], temperature: 0,
  });
  assert.match(first.text, /1112/);
  assert.ok(first.reasoningText && first.reasoningText.length > 0);
  const second = await generateText({
    model: deepseek("nano-r1"), temperature: 0,
    messages: [{ role: "user", content: question }, { role: "assistant", content: first.text }, { role: "user", content: "Compute 5 + 7" }],
  });
  // nano-r1 was trained on single questions, so its second answer is not
  // graded; the prefix cache must have served the whole first prompt.
  const cached = second.usage.inputTokenDetails?.cacheReadTokens ?? second.usage.cachedInputTokens;
  assert.ok(cached >= first.usage.inputTokens, `cached ${cached} of ${second.usage.inputTokens}`);

  const streamed = streamText({ model: deepseek("nano-r1"), messages: [{ role: "user", content: question }], temperature: 0 });
  let reasoning = "", text = "";
  for await (const part of streamed.fullStream) {
    if (part.type === "reasoning-delta") reasoning += part.text;
    if (part.type === "text-delta") text += part.text;
  }
  assert.equal(text, first.text);
  assert.equal(reasoning, first.reasoningText);
});

test("openai: the DeepSeek-V3 tokenizer on a tiny random V3", async () => {
  const dir = mkdtempSync(join(tmpdir(), "frugal-tiny-"));
  try {
    execFileSync(binary, ["init", "--preset", "tiny", "--tokenizer", join(source, "assets", "tokenizer", "deepseek-v3"),
      "--seed", "1", "--out", join(dir, "tiny")], { stdio: "ignore" });
    const tiny = startServer(["--model", join(dir, "tiny"), "--served-model-name", "tiny-v3"]);
    const url = await tiny.ready;
    try {
      const client = new OpenAI({ baseURL: url, apiKey: API_KEY });
      const reply = await client.chat.completions.create({
        model: "tiny-v3", messages: [{ role: "system", content: "Be brief." }, { role: "user", content: "Hello, 世界" }],
        temperature: 0, max_tokens: 8,
      });
      assert.equal(reply.choices[0].finish_reason, "length");
      assert.equal(reply.usage.completion_tokens, 8);
      assert.equal(typeof reply.choices[0].message.content, "string");
    } finally {
      const { code, log } = await tiny.stop();
      assert.equal(code, 0, log);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
