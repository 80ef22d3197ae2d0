// The raw C decode loop on libllama: the ceiling for any binding, built by the benchmark against the very libllama
// the agent loads (LLamaSharp.Backend.Cpu's build for this CPU's AVX level). It loads a GGUF with llama.cpp's
// defaults, prefills N_PROMPT pseudo-random tokens in batches of 512, then greedily samples (llama.cpp's own greedy
// sampler) and decodes N_GEN tokens one at a time, and prints {"tokens":..,"ttft_ms":..,"tok_s":..,"total_ms":..}
// with where the time went: prefill_ms, sample_ms and decode_ms (llama_decode of the generated tokens).
//
//   raw-loop MODEL.gguf N_PROMPT N_GEN THREADS CONTEXT
//
// LLamaSharp ships no llama.h, so the few declarations are here. The structs passed by value are declared whole
// (llama_batch) or as a known prefix padded to the size the benchmark reads from LLamaSharp's own definitions
// (-DMODEL_PARAMS_SIZE, -DCONTEXT_PARAMS_SIZE, -DCONTEXT_THREADS_OFFSET from Marshal.SizeOf/OffsetOf); the static
// asserts below fail the build if they disagree.
#define _POSIX_C_SOURCE 199309L
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

typedef int32_t llama_token;
typedef int32_t llama_pos;
typedef int32_t llama_seq_id;
struct llama_model;
struct llama_context;
struct llama_sampler;

// Opaque: only llama.cpp's defaults are used.
struct llama_model_params { _Alignas(8) unsigned char bytes[MODEL_PARAMS_SIZE]; };

struct llama_context_params {
    uint32_t n_ctx, n_batch, n_ubatch, n_seq_max, n_rs_seq, n_outputs_max;
    int32_t n_threads, n_threads_batch;
    _Alignas(8) unsigned char rest[CONTEXT_PARAMS_SIZE - 32];
};
_Static_assert(sizeof(struct llama_context_params) == CONTEXT_PARAMS_SIZE, "llama_context_params size");
_Static_assert(offsetof(struct llama_context_params, n_threads) == CONTEXT_THREADS_OFFSET, "llama_context_params.n_threads offset");

struct llama_batch {
    int32_t n_tokens;
    llama_token *token;
    float *embd;
    llama_pos *pos;
    int32_t *n_seq_id;
    llama_seq_id **seq_id;
    int8_t *logits;
};
_Static_assert(sizeof(struct llama_batch) == BATCH_SIZE, "llama_batch size");

struct llama_sampler_chain_params { bool no_perf; };

void llama_log_set(void (*callback)(int level, const char *text, void *user), void *user);
void llama_backend_init(void);
struct llama_model_params llama_model_default_params(void);
struct llama_model *llama_model_load_from_file(const char *path, struct llama_model_params params);
struct llama_context_params llama_context_default_params(void);
struct llama_context *llama_init_from_model(struct llama_model *model, struct llama_context_params params);
struct llama_batch llama_batch_get_one(llama_token *tokens, int32_t n_tokens);
int32_t llama_decode(struct llama_context *context, struct llama_batch batch);
struct llama_sampler_chain_params llama_sampler_chain_default_params(void);
struct llama_sampler *llama_sampler_chain_init(struct llama_sampler_chain_params params);
void llama_sampler_chain_add(struct llama_sampler *chain, struct llama_sampler *sampler);
struct llama_sampler *llama_sampler_init_greedy(void);
llama_token llama_sampler_sample(struct llama_sampler *sampler, struct llama_context *context, int32_t index);

static double now(void) { struct timespec t; clock_gettime(CLOCK_MONOTONIC, &t); return t.tv_sec * 1e3 + t.tv_nsec / 1e6; }
static void quiet(int level, const char *text, void *user) { (void)level; (void)text; (void)user; }

int main(int argc, char **argv) {
    if (argc < 6) { fprintf(stderr, "raw-loop MODEL.gguf N_PROMPT N_GEN THREADS CONTEXT\n"); return 1; }
    int np = atoi(argv[2]), ng = atoi(argv[3]), th = atoi(argv[4]), ctx = atoi(argv[5]);
    llama_log_set(quiet, NULL);
    llama_backend_init();
    struct llama_model *m = llama_model_load_from_file(argv[1], llama_model_default_params());
    if (!m) return 1;
    struct llama_context_params cp = llama_context_default_params();
    cp.n_ctx = ctx > np + ng + 16 ? ctx : np + ng + 16;
    cp.n_batch = 512;
    cp.n_threads = th;
    cp.n_threads_batch = th;
    struct llama_context *c = llama_init_from_model(m, cp);
    if (!c) return 1;
    llama_token *toks = malloc(sizeof(llama_token) * (np + 1));
    srand(1);
    for (int i = 0; i < np; i++) toks[i] = 1000 + rand() % 150000;
    struct llama_sampler *s = llama_sampler_chain_init(llama_sampler_chain_default_params());
    llama_sampler_chain_add(s, llama_sampler_init_greedy());
    double t0 = now(), tf = 0, tp, sampling = 0, decoding = 0;
    int k = 0;
    for (int off = 0; off < np; off += 512) {
        int n = np - off < 512 ? np - off : 512;
        if (llama_decode(c, llama_batch_get_one(toks + off, n))) return 2;
    }
    tp = now();
    for (k = 0; k < ng; k++) {
        double ts = now();
        llama_token t = llama_sampler_sample(s, c, -1);
        double td = now();
        sampling += td - ts;
        if (k == 0) tf = td;
        toks[0] = t;
        if (llama_decode(c, llama_batch_get_one(toks, 1))) break;
        decoding += now() - td;
    }
    double t1 = now();
    printf("{\"tokens\":%d,\"ttft_ms\":%.1f,\"tok_s\":%.1f,\"total_ms\":%.1f,\"prefill_ms\":%.1f,\"sample_ms\":%.1f,\"decode_ms\":%.1f}\n",
           k, tf - t0, k / ((t1 - tf) / 1000), t1 - t0, tp - t0, sampling, decoding);
    return 0;
}
