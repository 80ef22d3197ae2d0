// OpenAI's own client against acp-gptoss's OpenAI-compatible API, for the tests (tests/Acp.GptOss.Tests/Api).
// Usage: node openai-client.mjs BASE_URL TOKEN SCENARIO; prints one JSON object on stdout.
import OpenAI from "openai";

const [baseURL, apiKey, scenario] = process.argv.slice(2);
const client = new OpenAI({ baseURL, apiKey, maxRetries: 0, timeout: 60_000 });

const weather = {
  type: "function",
  function: {
    name: "get_weather",
    description: "Gets the weather in a city.",
    parameters: { type: "object", properties: { city: { type: "string" } }, required: ["city"] },
  },
};
const question = [{ role: "user", content: "What is the weather in Paris?" }];

async function chat() {
  const r = await client.chat.completions.create({ model: "gpt-oss", messages: question, reasoning_effort: "low", max_completion_tokens: 500 });
  const c = r.choices[0];
  return { object: r.object, content: c.message.content, reasoning: c.message.reasoning_content, finish: c.finish_reason, usage: r.usage };
}

async function stream() {
  const s = await client.chat.completions.create({
    model: "gpt-oss", messages: question, stream: true, stream_options: { include_usage: true },
  });
  let content = "", reasoning = "", finish = null, usage = null, chunks = 0;
  for await (const chunk of s) {
    chunks++;
    if (chunk.usage) usage = chunk.usage;
    for (const c of chunk.choices) {
      content += c.delta.content ?? "";
      reasoning += c.delta.reasoning_content ?? "";
      finish = c.finish_reason ?? finish;
    }
  }
  return { content, reasoning, finish, usage, chunks };
}

async function tools() {
  const first = await client.chat.completions.create({ model: "gpt-oss", messages: question, tools: [weather] });
  const message = first.choices[0].message;
  const call = message.tool_calls[0];
  const second = await client.chat.completions.create({
    model: "gpt-oss",
    tools: [weather],
    messages: [...question, message, { role: "tool", tool_call_id: call.id, content: "{\"temperature\":21}" }],
  });
  return {
    finish: first.choices[0].finish_reason,
    name: call.function.name,
    arguments: JSON.parse(call.function.arguments),
    callType: call.type,
    answer: second.choices[0].message.content,
    secondFinish: second.choices[0].finish_reason,
  };
}

async function streamTools() {
  // The SDK's own accumulator: what a streaming client that runs tools sees at the end.
  const runner = client.chat.completions.stream({ model: "gpt-oss", messages: question, tools: [weather] });
  const done = await runner.finalChatCompletion();
  const call = done.choices[0].message.tool_calls[0];
  return { finish: done.choices[0].finish_reason, name: call.function.name, arguments: JSON.parse(call.function.arguments) };
}

async function abort() {
  const controller = new AbortController();
  const s = await client.chat.completions.create({ model: "gpt-oss", messages: question, stream: true }, { signal: controller.signal });
  let received = "";
  try {
    for await (const chunk of s) {
      received += chunk.choices[0]?.delta?.content ?? "";
      if (received.length > 0) controller.abort();
    }
  } catch (e) {
    return { aborted: e.name === "APIUserAbortError" || e.name === "AbortError", error: e.name, received };
  }
  return { aborted: false, received };
}

async function completions() {
  const r = await client.completions.create({ model: "gpt-oss", prompt: "<|start|>user<|message|>Hi<|end|><|start|>assistant", max_tokens: 200 });
  return { object: r.object, text: r.choices[0].text, finish: r.choices[0].finish_reason, usage: r.usage };
}

async function unknownModel() {
  try {
    await client.chat.completions.create({ model: "gpt-5-turbo", messages: question });
    return { thrown: false };
  } catch (e) {
    return { thrown: true, status: e.status, code: e.code, param: e.param, type: e.type, message: e.message };
  }
}

async function models() {
  const list = [];
  for await (const m of client.models.list()) list.push(m.id);
  return { ids: list };
}

const scenarios = { chat, stream, tools, streamTools, abort, completions, unknownModel, models };
const run = scenarios[scenario];
if (!run) {
  console.error(`Unknown scenario ${scenario}: ${Object.keys(scenarios).join(", ")}`);
  process.exit(2);
}
console.log(JSON.stringify(await run()));
