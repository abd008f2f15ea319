#!/usr/bin/env node
// Interoperability check: the official MCP TypeScript SDK (@modelcontextprotocol/sdk) drives
// `defer mcp` over stdio, and Ajv in strict mode (draft 2020-12) compiles every schema.
//
// The TypeScript SDK is what most hosts and the MCP Inspector are built on; Ajv in strict mode
// is the pickiest common validator. Together they catch what the Python SDK does not: unknown
// `format`s, union types, keywords without their type, and schemas simple clients misread.
//
// Usage: node mcp_client.mjs PATH_TO_DEFER
//
// Run it from a folder whose node_modules holds @modelcontextprotocol/sdk and ajv (NODE_PATH
// is not read for ES modules, so the Rust test copies this file there). The server inherits
// every DEFER_* variable: point DEFER_RUNTIME_DIR at a throwaway directory and pin DEFER_NOW
// (2026-04-08T16:35:00Z) and DEFER_TIMEZONE (UTC). Exits 0 when every check passes, 1 (with
// the failed check on stderr) otherwise.

import { execFileSync } from "node:child_process";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js";
import Ajv2020 from "ajv/dist/2020.js";

const deferBin = process.argv[2] ?? process.env.DEFER_BIN ?? "defer";

class CheckFailed extends Error {}

function check(condition, what) {
  if (!condition) throw new CheckFailed(what);
}

// Anything the SDK or Ajv logs (e.g. `unknown format "uint" ignored in schema`) is a failure.
const logged = [];
for (const level of ["log", "warn", "error"]) {
  const original = console[level].bind(console);
  console[level] = (...args) => {
    logged.push(`${level}: ${args.join(" ")}`);
    original(...args);
  };
}
const strictLogger = {
  log: (...a) => logged.push(`ajv log: ${a.join(" ")}`),
  warn: (...a) => logged.push(`ajv warn: ${a.join(" ")}`),
  error: (...a) => logged.push(`ajv error: ${a.join(" ")}`),
};

// One Ajv per schema: strict (unknown keywords and formats, union types, keywords without
// their type are errors), draft 2020-12.
function compile(schema, what) {
  const ajv = new Ajv2020({ strict: true, allErrors: true, logger: strictLogger });
  try {
    return ajv.compile(schema);
  } catch (e) {
    throw new CheckFailed(`${what} does not compile in Ajv strict mode: ${e.message}`);
  }
}

const inputs = {};
const outputs = {};

function textOf(result) {
  return (result.content ?? [])
    .filter((b) => b.type === "text")
    .map((b) => b.text)
    .join("\n");
}

async function callOk(client, name, args, { schemaValid = true } = {}) {
  check(!schemaValid || inputs[name](args), `${name}(${JSON.stringify(args)}) does not fit its inputSchema: ${JSON.stringify(inputs[name].errors)}`);
  const result = await client.callTool({ name, arguments: args });
  check(!result.isError, `${name}(${JSON.stringify(args)}) failed: ${textOf(result)}`);
  const structured = result.structuredContent;
  check(structured && typeof structured === "object", `${name}: no structuredContent`);
  check(outputs[name](structured), `${name}: structuredContent does not fit its outputSchema: ${JSON.stringify(outputs[name].errors)} in ${JSON.stringify(structured)}`);
  check(textOf(result).trim() !== "", `${name}: no text`);
  return structured;
}

async function callErr(client, name, args, ...needles) {
  const result = await client.callTool({ name, arguments: args });
  const message = textOf(result);
  check(result.isError === true, `${name}(${JSON.stringify(args).slice(0, 200)}) should fail, got: ${message.slice(0, 300)}`);
  for (const needle of needles) {
    check(message.includes(needle), `${name}: error ${JSON.stringify(message.slice(0, 500))} does not mention ${JSON.stringify(needle)}`);
  }
  return message;
}

// A failed task for retry_task and task_output, made with the CLI and a runner whose executor
// always fails.
function makeFailedTask(env) {
  execFileSync(deferBin, ["schedule", "--when", "now", "--summary", "Fails once", "--id", "interop_failed"], { env, stdio: "pipe" });
  execFileSync(deferBin, ["run"], { env: { ...env, DEFER_EXECUTOR: "/bin/false" }, stdio: "pipe" });
}

async function main() {
  const env = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (k.startsWith("DEFER_") || k === "HOME" || k === "PATH") env[k] = v;
  }
  makeFailedTask(env);

  const transport = new StdioClientTransport({ command: deferBin, args: ["mcp"], env, stderr: "inherit" });
  const client = new Client({ name: "defer-interop-ts", version: "0" });
  await client.connect(transport);
  try {
    check(client.getServerVersion()?.name === "defer", "server name");
    check(client.getServerCapabilities()?.tools, "no tools capability");
    check(client.getServerCapabilities()?.resources, "no resources capability");

    const { tools } = await client.listTools();
    const names = tools.map((t) => t.name).sort();
    const expected = ["cancel_task", "list_tasks", "normalize_time", "reschedule_task", "retry_task", "schedule_task", "show_task", "task_output"];
    check(JSON.stringify(names) === JSON.stringify(expected), `tools: ${names}`);
    for (const tool of tools) {
      check(tool.inputSchema.type === "object", `${tool.name}: inputSchema type`);
      check(tool.outputSchema?.type === "object", `${tool.name}: no outputSchema`);
      inputs[tool.name] = compile(tool.inputSchema, `${tool.name} inputSchema`);
      outputs[tool.name] = compile(tool.outputSchema, `${tool.name} outputSchema`);
      // What simple clients need: every property has one plain type, no null.
      for (const [key, prop] of Object.entries(tool.inputSchema.properties)) {
        check(typeof prop.type === "string" && prop.type !== "null", `${tool.name}.${key}: type ${JSON.stringify(prop.type)} is not one plain type`);
      }
    }
    const schedule = tools.find((t) => t.name === "schedule_task");
    const props = schedule.inputSchema.properties;
    check(props.count.minimum === 1, "count has minimum 1");
    check(JSON.stringify(props.if_late.enum) === '["run","skip"]', "if_late is an enum");
    check(props.intent.default === "resume_task" && props.dry_run.default === false, "defaults are keywords");
    check(schedule.description.includes("Times are read in UTC"), "the zone is in the description");
    check(/every/.test(schedule.description) && /cron/.test(schedule.description), "repetition is explained");
    check(logged.length === 0, `listing tools logged: ${logged.join("; ")}`);

    // normalize_time
    let t = await callOk(client, "normalize_time", { when: "tomorrow 9am" });
    check(t.instant === "2026-04-09T09:00:00Z", `instant: ${t.instant}`);
    check(t.now_local === "2026-04-08T16:35:00+00:00", `now_local: ${t.now_local}`);

    // Every optional argument, as its plain JSON type.
    let s = await callOk(client, "schedule_task", {
      when: "tomorrow 9am", summary: "Every option", intent: "notify", mode: "callback",
      prompt_template: "Do it", aura_level: "high", max_retries: 2, key_points: ["k"],
      artifacts: ["/a"], constraints: ["c"], id: "interop_all", reorient: false,
      every: "1d", until: "2026-04-20", count: 3, if_late: "skip", late_after: "1h", dry_run: true,
    });
    check(s.stored === false && s.task.series.count === 3 && s.task.max_retries === 2, `all options: ${JSON.stringify(s)}`);

    s = await callOk(client, "schedule_task", { when: "next friday 3pm", summary: "Resume the review", key_points: ["narrowed"], id: "interop_ts" });
    check(s.run_at === "2026-04-10T15:00:00Z", `run_at: ${s.run_at}`);
    // null means "left out", for every optional argument alike (the schemas do not list null,
    // so that simple clients see one type; the server still accepts it).
    s = await callOk(client, "schedule_task", { when: "1h", summary: "Nulls", intent: null, mode: null, aura_level: null, max_retries: null, dry_run: null }, { schemaValid: false });
    check(s.task.intent === "resume_task" && s.stored === true, `nulls: ${JSON.stringify(s.task)}`);

    let l = await callOk(client, "list_tasks", { status: ["scheduled"], limit: 10 });
    check(l.count === 2, `list count: ${l.count}`);
    await callOk(client, "list_tasks", { all: true });
    await callOk(client, "show_task", { id: "interop_ts" });
    const r = await callOk(client, "reschedule_task", { id: "interop_ts", when: "tomorrow 10am" });
    check(r.run_at === "2026-04-09T10:00:00Z", `rescheduled: ${r.run_at}`);
    const again = await callOk(client, "retry_task", { id: "interop_failed", when: "10m" });
    check(again.task.status === "scheduled" && again.run_at === "2026-04-08T16:45:00Z", `retry: ${JSON.stringify(again)}`);
    const out = await callOk(client, "task_output", { id: "interop_failed" });
    check(out.audit.length > 0, `task_output: ${JSON.stringify(out)}`);
    const c = await callOk(client, "cancel_task", { id: "interop_ts", reason: "interop" });
    check(c.task.status === "cancelled", "cancelled");

    // Resources: the pending list and one task.
    const { resources } = await client.listResources();
    check(resources.some((x) => x.uri === "defer://tasks"), `resources: ${JSON.stringify(resources)}`);
    const { resourceTemplates } = await client.listResourceTemplates();
    check(resourceTemplates.some((x) => x.uriTemplate === "defer://tasks/{id}"), "template");
    const list = await client.readResource({ uri: "defer://tasks" });
    const pending = JSON.parse(list.contents[0].text);
    check(Array.isArray(pending) && pending.some((x) => x.id === "interop_failed"), `defer://tasks: ${list.contents[0].text.slice(0, 300)}`);
    const one = await client.readResource({ uri: "defer://tasks/interop_ts" });
    check(JSON.parse(one.contents[0].text).status === "cancelled", "defer://tasks/{id}");

    // Bad input: an isError result that names the argument.
    await callErr(client, "schedule_task", { when: "1h", summary: "x", max_retries: -1 }, "max_retries: must be a whole number from 0 to 4294967295");
    await callErr(client, "schedule_task", { when: "1h", summary: "x", every: "1d", until: "blah" }, "until: unsupported time expression");
    await callErr(client, "schedule_task", { when: "1h", summary: "x", if_late: "skip", late_after: "0s" }, "late_after");
    const zero = await callErr(client, "schedule_task", { when: "1h", summary: "x", if_late: "skip", late_after: "0s" });
    check(!zero.includes("repeat"), `late_after is not a repeat interval: ${zero}`);
    await callErr(client, "schedule_task", { when: "1h", summary: "x", every: "1d", count: 0 }, "count");
    await callErr(client, "schedule_task", { when: "1h", summary: "x", if_late: "maybe" }, "if_late", "run, skip");
    const huge = await callErr(client, "schedule_task", { when: "x".repeat(1 << 20), summary: "x" }, "when");
    check(huge.length < 4000, `a 1 MiB when is echoed in ${huge.length} bytes`);
    const big = await callErr(client, "schedule_task", { when: "1h", summary: "x".repeat(1100000) }, "artifacts");
    check(!big.includes("--artifact"), `the hint names the CLI flag: ${big.slice(0, 300)}`);
    await callErr(client, "retry_task", { id: "interop_ts" }, "cancelled");

    check(logged.length === 0, `the session logged: ${logged.join("; ").slice(0, 1000)}`);
  } finally {
    await client.close();
  }
  process.stdout.write(`mcp interop (TypeScript SDK): all checks passed (${Object.keys(inputs).length} tools)\n`);
}

main().catch((e) => {
  if (e instanceof CheckFailed) {
    process.stderr.write(`mcp interop (TypeScript SDK): FAILED: ${e.message}\n`);
  } else {
    process.stderr.write(`mcp interop (TypeScript SDK): error: ${e?.stack ?? e}\n`);
  }
  process.exit(1);
});
