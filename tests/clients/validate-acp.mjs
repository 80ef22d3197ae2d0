// Checks ACP v1 JSON-RPC messages, one per line on stdin, against the official SDK's schemas
// (@agentclientprotocol/sdk, generated from its schema/v1/schema.json).
//
// Requests are checked by method, responses by the method of the request they answer (seen earlier in the
// stream), notifications by method. --assume-response METHOD: a response to a request not in the stream
// answers METHOD (for a recording of one side only). An id open in both directions (each side numbers its own
// requests) is answered latest first. Prints one line per problem and a summary; exits 1 if any.
import { createInterface } from "node:readline";
import * as acp from "./node_modules/@agentclientprotocol/sdk/dist/v1/schema/zod.gen.js";

const requests = {
  "initialize": [acp.zInitializeRequest, acp.zInitializeResponse],
  "authenticate": [acp.zAuthenticateRequest, acp.zAuthenticateResponse],
  "session/new": [acp.zNewSessionRequest, acp.zNewSessionResponse],
  "session/load": [acp.zLoadSessionRequest, acp.zLoadSessionResponse],
  "session/list": [acp.zListSessionsRequest, acp.zListSessionsResponse],
  "session/resume": [acp.zResumeSessionRequest, acp.zResumeSessionResponse],
  "session/close": [acp.zCloseSessionRequest, acp.zCloseSessionResponse],
  "session/delete": [acp.zDeleteSessionRequest, acp.zDeleteSessionResponse],
  "session/set_mode": [acp.zSetSessionModeRequest, acp.zSetSessionModeResponse],
  "session/set_config_option": [acp.zSetSessionConfigOptionRequest, acp.zSetSessionConfigOptionResponse],
  "session/prompt": [acp.zPromptRequest, acp.zPromptResponse],
  "session/request_permission": [acp.zRequestPermissionRequest, acp.zRequestPermissionResponse],
  "fs/read_text_file": [acp.zReadTextFileRequest, acp.zReadTextFileResponse],
  "fs/write_text_file": [acp.zWriteTextFileRequest, acp.zWriteTextFileResponse],
  "terminal/create": [acp.zCreateTerminalRequest, acp.zCreateTerminalResponse],
  "terminal/output": [acp.zTerminalOutputRequest, acp.zTerminalOutputResponse],
  "terminal/wait_for_exit": [acp.zWaitForTerminalExitRequest, acp.zWaitForTerminalExitResponse],
  "terminal/kill": [acp.zKillTerminalRequest, acp.zKillTerminalResponse],
  "terminal/release": [acp.zReleaseTerminalRequest, acp.zReleaseTerminalResponse],
};
const notifications = {
  "session/update": acp.zSessionNotification,
  "session/cancel": acp.zCancelNotification,
  "$/cancel_request": acp.zCancelRequestNotification,
};

const args = process.argv.slice(2);
const assumed = args[0] === "--assume-response" ? args[1] : undefined;
const pending = new Map();
let count = 0;
let problems = 0;

function report(line, what, detail) {
  problems++;
  console.log(`line ${line}: ${what}: ${detail}`);
}

function check(line, what, schema, value) {
  const result = schema.safeParse(value);
  if (!result.success) {
    report(line, what, JSON.stringify(result.error.issues).slice(0, 600));
  }
}

for await (const text of createInterface({ input: process.stdin, crlfDelay: Infinity })) {
  if (text.trim() === "") continue;
  const line = ++count;
  let message;
  try {
    message = JSON.parse(text);
  } catch (e) {
    report(line, "not JSON", e.message);
    continue;
  }

  if (message === null || typeof message !== "object" || Array.isArray(message)) {
    report(line, "not a JSON-RPC message", text.slice(0, 80));
  } else if (message.jsonrpc !== "2.0") {
    report(line, "jsonrpc", "must be \"2.0\"");
  } else if (typeof message.method === "string" && "id" in message) {
    const schemas = requests[message.method];
    if (schemas === undefined) {
      report(line, message.method, "not an ACP v1 request method");
    } else {
      check(line, `${message.method} params`, schemas[0], message.params);
    }
    // Both sides number their own requests, so one id may be open in each direction: an answer goes to the latest.
    const key = JSON.stringify(message.id);
    pending.set(key, [...(pending.get(key) ?? []), message.method]);
  } else if (typeof message.method === "string") {
    const schema = notifications[message.method];
    if (schema === undefined) {
      report(line, message.method, "not an ACP v1 notification");
    } else {
      check(line, `${message.method} params`, schema, message.params);
    }
  } else if ("result" in message || "error" in message) {
    const key = JSON.stringify(message.id);
    const open = pending.get(key) ?? [];
    const method = open.pop() ?? assumed;
    if (open.length === 0) pending.delete(key);
    if ("error" in message) {
      check(line, `error answering ${method}`, acp.zError, message.error);
    } else if (method === undefined || requests[method] === undefined) {
      report(line, "response", `answers no known request (id ${key})`);
    } else {
      check(line, `${method} result`, requests[method][1], message.result);
    }
  } else {
    report(line, "message", "neither request, notification nor response");
  }
}

console.log(`${count} messages, ${problems} problems`);
process.exit(problems === 0 && count > 0 ? 0 : 1);
