// The comparison point for bench/Inference.Benchmarks: node-llama-cpp 3.22.1, the same llama.cpp release as ours,
// decoding the same GGUF with the same settings. Prints one JSON object per repetition on stdout.
//
// node node-llama-cpp-bench.mjs MODEL PROMPT_FILE --threads N --tokens N --context N --repetitions N
import { readFile } from "node:fs/promises";
import { parseArgs } from "node:util";
import { getLlama, LlamaLogLevel } from "node-llama-cpp";

const { positionals, values } = parseArgs({
    allowPositionals: true,
    options: {
        threads: { type: "string", default: "2" },
        tokens: { type: "string", default: "256" },
        context: { type: "string", default: "8192" },
        repetitions: { type: "string", default: "5" },
    },
});
const [modelPath, promptFile] = positionals;
if (!modelPath || !promptFile) {
    console.error("usage: node node-llama-cpp-bench.mjs MODEL PROMPT_FILE [--threads N] [--tokens N] [--context N] [--repetitions N]");
    process.exit(2);
}

const threads = Number(values.threads);
const tokens = Number(values.tokens);
const llama = await getLlama({ gpu: false, build: "never", logLevel: LlamaLogLevel.error });
const model = await llama.loadModel({ modelPath });
const context = await model.createContext({ contextSize: Number(values.context), threads, batchSize: 512, sequences: 1 });
const sequence = context.getSequence();
// The prompt is written with literal special-token spellings: tokenize them as specials, as our agent renders them.
const prompt = model.tokenize(await readFile(promptFile, "utf8"), true);

for (let repetition = 0; repetition < Number(values.repetitions); repetition++) {
    await sequence.clearHistory();
    const started = performance.now();
    let first = 0;
    let generated = 0;
    for await (const token of sequence.evaluate(prompt, { temperature: 0, yieldEogToken: true })) {
        if (generated === 0) {
            first = performance.now();
        }

        if (++generated >= tokens) {
            break;
        }
    }

    const ended = performance.now();
    console.log(JSON.stringify({
        promptTokens: prompt.length,
        generated,
        timeToFirstTokenMs: first - started,
        decodeTokensPerSecond: (generated - 1) / ((ended - first) / 1000),
    }));
}

await context.dispose();
await model.dispose();
await llama.dispose();
