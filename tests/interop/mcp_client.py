#!/usr/bin/env python3
"""Interoperability check: the official MCP Python SDK drives `defer mcp` over stdio.

Nobody on this project wrote this client, so it catches what a test written against our own
reading of the protocol would not: handshake and version negotiation, tool listing, argument
and result shapes, structured content checked against each tool's outputSchema (the SDK
validates it), and tool errors reported as results with isError.

Usage: mcp_client.py [PATH_TO_DEFER]   (else $DEFER_BIN, else `defer` on PATH)

The server inherits every DEFER_* variable of this process, so run it with DEFER_RUNTIME_DIR
pointing at a throwaway directory and DEFER_NOW / DEFER_TIMEZONE pinned. Exits 0 when every
check passes, 1 (with the failed check on stderr) otherwise.
"""

import json
import os
import sys

import anyio
from jsonschema.validators import validator_for
from mcp import ClientSession, StdioServerParameters
from mcp.client.stdio import stdio_client

EXPECTED_TOOLS = {
    "schedule_task",
    "list_tasks",
    "show_task",
    "cancel_task",
    "normalize_time",
    "reschedule_task",
    "retry_task",
    "task_output",
}

# Each tool's inputSchema as a validator, filled in from tools/list: every call this script
# makes must be valid under the schema the server advertises.
INPUT_VALIDATORS = {}


class CheckFailed(Exception):
    pass


def check(condition, what):
    if not condition:
        raise CheckFailed(what)


def text_of(result):
    return "\n".join(block.text for block in result.content if block.type == "text")


async def call_ok(session, name, arguments):
    problems = [e.message for e in INPUT_VALIDATORS[name].iter_errors(arguments)]
    check(not problems, f"{name}({arguments}) does not fit its own inputSchema: {problems}")
    result = await session.call_tool(name, arguments)
    check(not result.is_error, f"{name}({arguments}) failed: {text_of(result)}")
    check(isinstance(result.structured_content, dict), f"{name}: no structured content")
    check(text_of(result).strip() != "", f"{name}: no text content")
    return result


async def call_err(session, name, arguments, *needles):
    result = await session.call_tool(name, arguments)
    message = text_of(result)
    check(result.is_error, f"{name}({arguments}) should be an error, got: {message}")
    for needle in needles:
        check(needle in message, f"{name}: error {message!r} does not mention {needle!r}")
    return message


async def main(defer_bin):
    env = {k: v for k, v in os.environ.items() if k.startswith("DEFER_") or k == "HOME"}
    params = StdioServerParameters(command=defer_bin, args=["mcp"], env=env)
    async with stdio_client(params) as (read, write):
        async with ClientSession(read, write) as session:
            init = await session.initialize()
            check(init.server_info.name == "defer", f"server name: {init.server_info.name}")
            check(init.capabilities.tools is not None, "server does not offer tools")
            check("defer run" in (init.instructions or ""), "instructions do not explain defer run")

            tools = (await session.list_tools()).tools
            names = {tool.name for tool in tools}
            check(names == EXPECTED_TOOLS, f"tools: {sorted(names)}")
            for tool in tools:
                check(tool.input_schema.get("type") == "object", f"{tool.name}: inputSchema type")
                # A valid JSON Schema (raises SchemaError otherwise).
                validator = validator_for(tool.input_schema)
                validator.check_schema(tool.input_schema)
                INPUT_VALIDATORS[tool.name] = validator(tool.input_schema)
                check(tool.output_schema is not None, f"{tool.name}: no outputSchema")
                check(len(tool.description or "") > 80, f"{tool.name}: description too short")

            # normalize_time: the instant, the zone and the sentence.
            result = await call_ok(session, "normalize_time", {"when": "tomorrow 9am"})
            t = result.structured_content
            check(t["instant"] == "2026-04-09T09:00:00Z", f"normalize_time instant: {t}")
            check(t["timezone"] == "UTC", f"normalize_time zone: {t}")
            check(t["description"].startswith("Thu 2026-04-09 09:00 UTC"), f"sentence: {t}")
            check(t["in_past"] is False, f"normalize_time in_past: {t}")

            # A dry run stores nothing.
            result = await call_ok(
                session,
                "schedule_task",
                {"when": "30m", "summary": "Preview only", "dry_run": True},
            )
            s = result.structured_content
            check(s["stored"] is False, f"dry run stored: {s}")
            check(s["run_at"] == "2026-04-08T17:05:00Z", f"dry run run_at: {s}")
            check("Dry run" in text_of(result), f"dry run text: {text_of(result)}")

            # A real one, with a snapshot.
            result = await call_ok(
                session,
                "schedule_task",
                {
                    "when": "next friday 3pm",
                    "summary": "Resume the architecture review",
                    "key_points": ["narrowed to scheduler semantics"],
                    "artifacts": ["/notes/review.md"],
                    "constraints": ["no chat memory"],
                    "intent": "notify",
                    "id": "interop_1",
                },
            )
            s = result.structured_content
            check(s["stored"] is True, f"schedule stored: {s}")
            check(s["id"] == "interop_1", f"schedule id: {s}")
            check(s["run_at"] == "2026-04-10T15:00:00Z", f"schedule run_at: {s}")
            check(s["task"]["intent"] == "notify", f"schedule intent: {s}")
            check(
                s["task"]["context"]["key_points"] == ["narrowed to scheduler semantics"],
                f"schedule key points: {s}",
            )
            check("Fri 2026-04-10 15:00 UTC" in text_of(result), f"text: {text_of(result)}")

            # list_tasks sees exactly the stored one.
            result = await call_ok(session, "list_tasks", {})
            listed = result.structured_content
            check(listed["count"] == 1, f"list count: {listed}")
            check([t["id"] for t in listed["tasks"]] == ["interop_1"], f"list ids: {listed}")

            result = await call_ok(session, "show_task", {"id": "interop_1"})
            check(result.structured_content["task"]["status"] == "scheduled", "show status")

            # Errors are results the model can act on, and the session carries on.
            await call_err(session, "schedule_task", {"when": "3pm EST", "summary": "x"}, "DEFER_TIMEZONE")
            await call_err(session, "schedule_task", {"when": "blah", "summary": "x"}, "30m")
            await call_err(session, "schedule_task", {"when": "30m"}, "summary")
            await call_err(session, "show_task", {"id": "nope"}, "Task not found", "list_tasks")

            # cancel_task, then the same cancel again is refused with the status.
            result = await call_ok(session, "cancel_task", {"id": "interop_1", "reason": "interop test"})
            task = result.structured_content["task"]
            check(task["status"] == "cancelled", f"cancel status: {task}")
            check(task["cancel_reason"] == "interop test", f"cancel reason: {task}")
            await call_err(session, "cancel_task", {"id": "interop_1"}, "cancelled", "not scheduled")

            result = await call_ok(session, "list_tasks", {})
            check(result.structured_content["count"] == 0, "nothing pending after cancel")
            result = await call_ok(session, "list_tasks", {"status": ["cancelled"]})
            check(result.structured_content["count"] == 1, "the cancelled task is listed")

    print(f"mcp interop: all checks passed ({len(names)} tools)")


def find_failure(exc):
    """The CheckFailed inside `exc`, which anyio's task groups wrap in exception groups."""
    if isinstance(exc, CheckFailed):
        return exc
    for inner in getattr(exc, "exceptions", ()):
        found = find_failure(inner)
        if found is not None:
            return found
    return None


if __name__ == "__main__":
    binary = sys.argv[1] if len(sys.argv) > 1 else os.environ.get("DEFER_BIN", "defer")
    try:
        anyio.run(main, binary)
    except BaseException as exc:  # noqa: BLE001 - re-raised unless it is a failed check
        failure = find_failure(exc)
        if failure is None:
            raise
        print(f"mcp interop: FAILED: {failure}", file=sys.stderr)
        sys.exit(1)
