// The comparison point for bench/Inference.Benchmarks' concurrency measurement: node-llama-cpp 3.22.1, the same
// llama.cpp release as ours, decoding N sequences of one context at once (its own batching puts their tokens in one
// llama_decode), for each N asked. Each round every sequence starts from an empty history and evaluates its own
// prompt greedily until it has the budget's tokens; round 0 is a short warm-up. Prints one JSON object per round.
//
// node node-llama-cpp-concurrency.mjs MODEL PROMPTS_JSON --threads N --tokens N --warm-up-tokens N --context N --streams 1,2,4,8
// PROMPTS_JSON: [round][stream] prompt texts, with literal special-token spellings; times are from the round's start.
import { readFile } from "node:fs/promises";
import { parseArgs } from "node:util";
import { getLlama, LlamaLogLevel } from "node-llama-cpp";

const { positionals, values } = parseArgs({
    allowPositionals: true,
    options: {
        threads: { type: "string", default: "2" },
        tokens: { type: "string", default: "128" },
        "warm-up-tokens": { type: "string", default: "16" },
        context: { type: "string", default: "8192" },
        streams: { type: "string", default: "1,2,4,8" },
    },
});
const [modelPath, promptsFile] = positionals;
if (!modelPath || !promptsFile) {
    console.error("usage: node node-llama-cpp-concurrency.mjs MODEL PROMPTS_JSON [--threads N] [--tokens N] [--warm-up-tokens N] [--context N] [--streams 1,2,4,8]");
    process.exit(2);
}

const threads = Number(values.threads);
const prompts = JSON.parse(await readFile(promptsFile, "utf8"));
const llama = await getLlama({ gpu: false, build: "never", logLevel: LlamaLogLevel.error });
const model = await llama.loadModel({ modelPath });

for (const streams of values.streams.split(",").map(Number)) {
    // contextSize is each sequence's, as ours; the full-size sliding-window cache, as our engine makes it.
    const context = await model.createContext({
        contextSize: Number(values.context), threads, batchSize: 512, sequences: streams, swaFullCache: true,
    });
    const sequences = Array.from({ length: streams }, () => context.getSequence());
    for (let round = 0; round < prompts.length; round++) {
        const budget = Number(round === 0 ? values["warm-up-tokens"] : values.tokens);
        // Special-token spellings tokenized as specials, as our engine renders them.
        const tokens = sequences.map((_, i) => model.tokenize(prompts[round][i], true));
        await Promise.all(sequences.map(sequence => sequence.clearHistory()));
        const started = performance.now();
        const runs = await Promise.all(sequences.map(async (sequence, i) => {
            let first = 0;
            let last = 0;
            let generated = 0;
            for await (const token of sequence.evaluate(tokens[i], { temperature: 0, yieldEogToken: true })) {
                last = performance.now();
                if (generated === 0) {
                    first = last;
                }

                if (++generated >= budget) {
                    break;
                }
            }

            return { promptTokens: tokens[i].length, generated, firstMs: first - started, lastMs: last - started };
        }));
        console.log(JSON.stringify({ streams, round, runs }));
    }

    await context.dispose();
}

await model.dispose();
await llama.dispose();
