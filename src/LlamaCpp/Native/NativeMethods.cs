using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace LlamaCpp.Native;

/// <summary>
/// Every native function the binding calls, by its llama.cpp name. The library names are resolved by
/// <see cref="LlamaBackend"/> to the runtime's files; nothing here loads anything by itself.
/// </summary>
internal static unsafe partial class NativeMethods
{
    public const string Llama = "llama";
    public const string Ggml = "ggml";
    public const string GgmlBase = "ggml-base";

    // Backend and logging.

    [LibraryImport(Ggml, StringMarshalling = StringMarshalling.Utf8)]
    [UnmanagedCallConv(CallConvs = [typeof(CallConvCdecl)])]
    public static partial void ggml_backend_load_all_from_path(string directory);

    [LibraryImport(Ggml)]
    [UnmanagedCallConv(CallConvs = [typeof(CallConvCdecl)])]
    public static partial nuint ggml_backend_dev_count();

    [LibraryImport(Ggml)]
    [UnmanagedCallConv(CallConvs = [typeof(CallConvCdecl)])]
    public static partial nint ggml_backend_dev_get(nuint index);

    [LibraryImport(GgmlBase)]
    [UnmanagedCallConv(CallConvs = [typeof(CallConvCdecl)])]
    public static partial byte* ggml_backend_dev_name(nint device);

    [LibraryImport(GgmlBase)]
    [UnmanagedCallConv(CallConvs = [typeof(CallConvCdecl)])]
    public static partial byte* ggml_backend_dev_description(nint device);

    [LibraryImport(Ggml)]
    [UnmanagedCallConv(CallConvs = [typeof(CallConvCdecl)])]
    public static partial nint ggml_backend_dev_by_type(int type);

    [LibraryImport(GgmlBase)]
    [UnmanagedCallConv(CallConvs = [typeof(CallConvCdecl)])]
    public static partial nint ggml_backend_dev_backend_reg(nint device);

    // The CPU backend is loaded at run time: its own functions (ggml_threadpool_new, ...) are found through its registry.
    [LibraryImport(GgmlBase)]
    [UnmanagedCallConv(CallConvs = [typeof(CallConvCdecl)])]
    public static partial void* ggml_backend_reg_get_proc_address(nint registry, byte* name);

    [LibraryImport(GgmlBase)]
    [UnmanagedCallConv(CallConvs = [typeof(CallConvCdecl)])]
    public static partial void ggml_threadpool_params_init(GgmlThreadpoolParams* parameters, int threads);

    [LibraryImport(Llama)]
    [UnmanagedCallConv(CallConvs = [typeof(CallConvCdecl)])]
    public static partial void llama_backend_init();

    [LibraryImport(Llama)]
    [UnmanagedCallConv(CallConvs = [typeof(CallConvCdecl)])]
    public static partial void llama_log_set(delegate* unmanaged[Cdecl]<int, byte*, void*, void> callback, void* userData);

    [LibraryImport(Llama)]
    [UnmanagedCallConv(CallConvs = [typeof(CallConvCdecl)])]
    public static partial byte* llama_print_system_info();

    // Models.

    [LibraryImport(Llama)]
    [UnmanagedCallConv(CallConvs = [typeof(CallConvCdecl)])]
    public static partial LlamaModelParams llama_model_default_params();

    [LibraryImport(Llama, StringMarshalling = StringMarshalling.Utf8)]
    [UnmanagedCallConv(CallConvs = [typeof(CallConvCdecl)])]
    public static partial SafeLlamaModelHandle llama_model_load_from_file(string path, LlamaModelParams parameters);

    [LibraryImport(Llama)]
    [UnmanagedCallConv(CallConvs = [typeof(CallConvCdecl)])]
    public static partial void llama_model_free(nint model);

    [LibraryImport(Llama)]
    [UnmanagedCallConv(CallConvs = [typeof(CallConvCdecl)])]
    public static partial nint llama_model_get_vocab(SafeLlamaModelHandle model);

    [LibraryImport(Llama)]
    [UnmanagedCallConv(CallConvs = [typeof(CallConvCdecl)])]
    public static partial int llama_model_n_ctx_train(SafeLlamaModelHandle model);

    [LibraryImport(Llama)]
    [UnmanagedCallConv(CallConvs = [typeof(CallConvCdecl)])]
    public static partial int llama_model_n_embd(SafeLlamaModelHandle model);

    [LibraryImport(Llama)]
    [UnmanagedCallConv(CallConvs = [typeof(CallConvCdecl)])]
    public static partial int llama_model_n_layer(SafeLlamaModelHandle model);

    [LibraryImport(Llama)]
    [UnmanagedCallConv(CallConvs = [typeof(CallConvCdecl)])]
    public static partial ulong llama_model_size(SafeLlamaModelHandle model);

    [LibraryImport(Llama)]
    [UnmanagedCallConv(CallConvs = [typeof(CallConvCdecl)])]
    public static partial ulong llama_model_n_params(SafeLlamaModelHandle model);

    [LibraryImport(Llama)]
    [UnmanagedCallConv(CallConvs = [typeof(CallConvCdecl)])]
    public static partial int llama_model_desc(SafeLlamaModelHandle model, byte* buffer, nuint size);

    // The model's tokenizer.chat_template (name null: the default one), owned by the model; null where it has none.
    [LibraryImport(Llama)]
    [UnmanagedCallConv(CallConvs = [typeof(CallConvCdecl)])]
    public static partial byte* llama_model_chat_template(SafeLlamaModelHandle model, byte* name);

    // Chat templates. Neither needs a model: llama.cpp detects one of its built-in formats from the template text.

    // The formatted length in bytes (copied into buffer only as far as length allows), or -1 for an unknown template.
    [LibraryImport(Llama)]
    [UnmanagedCallConv(CallConvs = [typeof(CallConvCdecl)])]
    public static partial int llama_chat_apply_template(
        byte* template, LlamaChatMessage* chat, nuint messageCount, [MarshalAs(UnmanagedType.U1)] bool addAssistant, byte* buffer, int length);

    // The number of built-in template names; fills output with up to length of them (static strings).
    [LibraryImport(Llama)]
    [UnmanagedCallConv(CallConvs = [typeof(CallConvCdecl)])]
    public static partial int llama_chat_builtin_templates(byte** output, nuint length);

    // Vocabulary. The vocab pointer is owned by the model; callers keep the model alive.

    [LibraryImport(Llama)]
    [UnmanagedCallConv(CallConvs = [typeof(CallConvCdecl)])]
    public static partial int llama_vocab_n_tokens(nint vocab);

    [LibraryImport(Llama)]
    [UnmanagedCallConv(CallConvs = [typeof(CallConvCdecl)])]
    public static partial byte* llama_vocab_get_text(nint vocab, int token);

    [LibraryImport(Llama)]
    [UnmanagedCallConv(CallConvs = [typeof(CallConvCdecl)])]
    public static partial int llama_vocab_get_attr(nint vocab, int token);

    [LibraryImport(Llama)]
    [UnmanagedCallConv(CallConvs = [typeof(CallConvCdecl)])]
    [return: MarshalAs(UnmanagedType.U1)]
    public static partial bool llama_vocab_is_eog(nint vocab, int token);

    [LibraryImport(Llama)]
    [UnmanagedCallConv(CallConvs = [typeof(CallConvCdecl)])]
    public static partial int llama_tokenize(
        nint vocab, byte* text, int textLength, int* tokens, int maxTokens,
        [MarshalAs(UnmanagedType.U1)] bool addSpecial, [MarshalAs(UnmanagedType.U1)] bool parseSpecial);

    [LibraryImport(Llama)]
    [UnmanagedCallConv(CallConvs = [typeof(CallConvCdecl)])]
    public static partial int llama_token_to_piece(nint vocab, int token, byte* buffer, int length, int leftStrip, [MarshalAs(UnmanagedType.U1)] bool special);

    // Contexts.

    [LibraryImport(Llama)]
    [UnmanagedCallConv(CallConvs = [typeof(CallConvCdecl)])]
    public static partial LlamaContextParams llama_context_default_params();

    [LibraryImport(Llama)]
    [UnmanagedCallConv(CallConvs = [typeof(CallConvCdecl)])]
    public static partial nint llama_init_from_model(SafeLlamaModelHandle model, LlamaContextParams parameters);

    [LibraryImport(Llama)]
    [UnmanagedCallConv(CallConvs = [typeof(CallConvCdecl)])]
    public static partial void llama_free(nint context);

    [LibraryImport(Llama)]
    [UnmanagedCallConv(CallConvs = [typeof(CallConvCdecl)])]
    public static partial void llama_attach_threadpool(nint context, nint threadpool, nint batchThreadpool);

    [LibraryImport(Llama)]
    [UnmanagedCallConv(CallConvs = [typeof(CallConvCdecl)])]
    public static partial uint llama_n_ctx(SafeLlamaContextHandle context);

    [LibraryImport(Llama)]
    [UnmanagedCallConv(CallConvs = [typeof(CallConvCdecl)])]
    public static partial uint llama_n_batch(SafeLlamaContextHandle context);

    [LibraryImport(Llama)]
    [UnmanagedCallConv(CallConvs = [typeof(CallConvCdecl)])]
    public static partial void llama_set_abort_callback(SafeLlamaContextHandle context, delegate* unmanaged[Cdecl]<void*, byte> callback, void* data);

    [LibraryImport(Llama)]
    [UnmanagedCallConv(CallConvs = [typeof(CallConvCdecl)])]
    public static partial int llama_decode(SafeLlamaContextHandle context, LlamaBatch batch);

    [LibraryImport(Llama)]
    [UnmanagedCallConv(CallConvs = [typeof(CallConvCdecl)])]
    public static partial nint llama_get_memory(SafeLlamaContextHandle context);

    [LibraryImport(Llama)]
    [UnmanagedCallConv(CallConvs = [typeof(CallConvCdecl)])]
    public static partial void llama_memory_clear(nint memory, [MarshalAs(UnmanagedType.U1)] bool data);

    [LibraryImport(Llama)]
    [UnmanagedCallConv(CallConvs = [typeof(CallConvCdecl)])]
    [return: MarshalAs(UnmanagedType.U1)]
    public static partial bool llama_memory_seq_rm(nint memory, int sequence, int from, int to);

    [LibraryImport(Llama)]
    [UnmanagedCallConv(CallConvs = [typeof(CallConvCdecl)])]
    public static partial int llama_memory_seq_pos_max(nint memory, int sequence);

    [LibraryImport(Llama)]
    [UnmanagedCallConv(CallConvs = [typeof(CallConvCdecl)])]
    public static partial LlamaBatch llama_batch_init(int tokens, int embeddings, int maxSequences);

    [LibraryImport(Llama)]
    [UnmanagedCallConv(CallConvs = [typeof(CallConvCdecl)])]
    public static partial void llama_batch_free(LlamaBatch batch);

    // Samplers.

    [LibraryImport(Llama)]
    [UnmanagedCallConv(CallConvs = [typeof(CallConvCdecl)])]
    public static partial SafeLlamaSamplerHandle llama_sampler_chain_init(LlamaSamplerChainParams parameters);

    /// <remarks>The chain takes ownership of <paramref name="sampler"/>.</remarks>
    [LibraryImport(Llama)]
    [UnmanagedCallConv(CallConvs = [typeof(CallConvCdecl)])]
    public static partial void llama_sampler_chain_add(SafeLlamaSamplerHandle chain, nint sampler);

    [LibraryImport(Llama)]
    [UnmanagedCallConv(CallConvs = [typeof(CallConvCdecl)])]
    public static partial nint llama_sampler_init_greedy();

    [LibraryImport(Llama)]
    [UnmanagedCallConv(CallConvs = [typeof(CallConvCdecl)])]
    public static partial nint llama_sampler_init_dist(uint seed);

    [LibraryImport(Llama)]
    [UnmanagedCallConv(CallConvs = [typeof(CallConvCdecl)])]
    public static partial nint llama_sampler_init_temp(float temperature);

    [LibraryImport(Llama)]
    [UnmanagedCallConv(CallConvs = [typeof(CallConvCdecl)])]
    public static partial nint llama_sampler_init_top_p(float p, nuint minKeep);

    [LibraryImport(Llama)]
    [UnmanagedCallConv(CallConvs = [typeof(CallConvCdecl)])]
    public static partial int llama_sampler_sample(SafeLlamaSamplerHandle sampler, SafeLlamaContextHandle context, int index);

    // The logits of output i (-1: the last), n_vocab floats owned by the context; null for an invalid i.
    [LibraryImport(Llama)]
    [UnmanagedCallConv(CallConvs = [typeof(CallConvCdecl)])]
    public static partial float* llama_get_logits_ith(SafeLlamaContextHandle context, int index);

    [LibraryImport(Llama)]
    [UnmanagedCallConv(CallConvs = [typeof(CallConvCdecl)])]
    public static partial void llama_sampler_reset(SafeLlamaSamplerHandle sampler);

    [LibraryImport(Llama)]
    [UnmanagedCallConv(CallConvs = [typeof(CallConvCdecl)])]
    public static partial void llama_sampler_free(nint sampler);
}
