using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using LLama.Native;

// Our imports pass LLamaSharp's blittable structs (LLamaNativeBatch) by value: with runtime marshalling off, the
// source generator takes them as they are, with no marshalling code in between.
[assembly: DisableRuntimeMarshalling]

namespace LlamaCpp.Native;

/// <summary>
/// The few native calls we make beside LLamaSharp, by their llama.cpp names, each where LLamaSharp lacks the call
/// or its binding does not fit the hot path. They bind to the very libraries LLamaSharp loaded: <see cref="LlamaBackend"/>
/// resolves "llama" through LLamaSharp's own resolver and "ggml-base" beside that libllama; nothing here loads
/// anything by itself.
/// </summary>
internal static unsafe partial class NativeMethods
{
    public const string Llama = "llama";
    public const string GgmlBase = "ggml-base";
    public const string LibC = "libc";

    /// <summary>
    /// <c>llama_decode</c>, bypassing <c>SafeLLamaContextHandle.Decode</c>: that takes a process-wide lock (two
    /// contexts decoding at once took 1.7–2.1× as long as one, against 1.1–1.3× through this call) and its
    /// <c>LLamaBatch</c> pins every slot on each call (~12 KB managed per token). Our batch lives in native memory.
    /// </summary>
    /// <returns>0 done, 1 no room in the KV cache, 2 aborted by the abort callback, negative an error.</returns>
    [LibraryImport(Llama)]
    [UnmanagedCallConv(CallConvs = [typeof(CallConvCdecl)])]
    public static partial int llama_decode(SafeLLamaContextHandle context, LLamaNativeBatch batch);

    // The vocabulary: LLamaSharp binds these on its internal LLamaVocabNative type, which nothing outside it can name.

    /// <returns>The model's <c>llama_vocab *</c>, owned by the model.</returns>
    [LibraryImport(Llama)]
    [UnmanagedCallConv(CallConvs = [typeof(CallConvCdecl)])]
    public static partial nint llama_model_get_vocab(SafeLlamaModelHandle model);

    [LibraryImport(Llama)]
    [UnmanagedCallConv(CallConvs = [typeof(CallConvCdecl)])]
    public static partial byte* llama_vocab_get_text(nint vocab, int token);

    [LibraryImport(Llama)]
    [UnmanagedCallConv(CallConvs = [typeof(CallConvCdecl)])]
    public static partial int llama_tokenize(
        nint vocab, byte* text, int textLength, int* tokens, int maxTokens,
        [MarshalAs(UnmanagedType.U1)] bool addSpecial, [MarshalAs(UnmanagedType.U1)] bool parseSpecial);

    /// <summary>
    /// libc's <c>setenv</c>: the runtime's OpenMP (libgomp) reads its settings from the native environment when it
    /// loads, and .NET's <see cref="Environment.SetEnvironmentVariable(string, string)"/> does not write that one on Unix.
    /// </summary>
    [LibraryImport(LibC, StringMarshalling = StringMarshalling.Utf8)]
    [UnmanagedCallConv(CallConvs = [typeof(CallConvCdecl)])]
    public static partial int setenv(string name, string value, int overwrite);

    /// <summary>libc's <c>setpriority</c>: on Linux, with <c>which</c> 0 and a thread id, one thread's nice value.</summary>
    [LibraryImport(LibC, SetLastError = true)]
    [UnmanagedCallConv(CallConvs = [typeof(CallConvCdecl)])]
    public static partial int setpriority(int which, int who, int priority);

    /// <summary>libc's <c>gettid</c> (glibc 2.30 on): the calling thread's id.</summary>
    [LibraryImport(LibC)]
    [UnmanagedCallConv(CallConvs = [typeof(CallConvCdecl)])]
    public static partial int gettid();

    // Devices and version: LLamaSharp binds a device's name only, and not ggml's version.

    [LibraryImport(GgmlBase)]
    [UnmanagedCallConv(CallConvs = [typeof(CallConvCdecl)])]
    public static partial byte* ggml_backend_dev_description(nint device);

    /// <returns><c>enum ggml_backend_dev_type</c>: 0 CPU, 1 GPU, 2 integrated GPU, 3 accelerator.</returns>
    [LibraryImport(GgmlBase)]
    [UnmanagedCallConv(CallConvs = [typeof(CallConvCdecl)])]
    public static partial int ggml_backend_dev_type(nint device);

    [LibraryImport(GgmlBase)]
    [UnmanagedCallConv(CallConvs = [typeof(CallConvCdecl)])]
    public static partial byte* ggml_version();

    [LibraryImport(GgmlBase)]
    [UnmanagedCallConv(CallConvs = [typeof(CallConvCdecl)])]
    public static partial byte* ggml_commit();
}
