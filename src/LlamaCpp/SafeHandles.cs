using System.Runtime.InteropServices;
using LlamaCpp.Native;

namespace LlamaCpp;

/// <summary>A <c>llama_model *</c>; freed when the last user releases it.</summary>
internal sealed class SafeLlamaModelHandle : SafeHandle
{
    public SafeLlamaModelHandle()
        : base(nint.Zero, ownsHandle: true)
    {
    }

    public override bool IsInvalid => handle == nint.Zero;

    protected override bool ReleaseHandle()
    {
        NativeMethods.llama_model_free(handle);
        return true;
    }
}

/// <summary>
/// A <c>llama_context *</c>. It holds a reference on its model and on its thread pool, so they outlive it whatever
/// the caller does.
/// </summary>
internal sealed class SafeLlamaContextHandle : SafeHandle
{
    private readonly SafeLlamaModelHandle _model;
    private SafeGgmlThreadpoolHandle? _threadpool;

    private SafeLlamaContextHandle(nint context, SafeLlamaModelHandle model)
        : base(nint.Zero, ownsHandle: true)
    {
        _model = model;
        SetHandle(context);
    }

    public override bool IsInvalid => handle == nint.Zero;

    /// <exception cref="LlamaException">llama.cpp could not create the context.</exception>
    public static SafeLlamaContextHandle Create(SafeLlamaModelHandle model, LlamaContextParams parameters)
    {
        bool added = false;
        model.DangerousAddRef(ref added);
        nint context = NativeMethods.llama_init_from_model(model, parameters);
        if (context == nint.Zero)
        {
            model.DangerousRelease();
            throw new LlamaException(
                $"llama.cpp could not create a context of {parameters.ContextSize} tokens (not enough memory, or an invalid setting; its log says more).");
        }

        return new SafeLlamaContextHandle(context, model);
    }

    /// <summary>Decodes with <paramref name="threadpool"/>'s threads from now on, for prompts and single tokens alike.</summary>
    public void Attach(SafeGgmlThreadpoolHandle threadpool)
    {
        bool added = false;
        threadpool.DangerousAddRef(ref added);
        _threadpool = threadpool;
        NativeMethods.llama_attach_threadpool(handle, threadpool.DangerousGetHandle(), threadpool.DangerousGetHandle());
    }

    protected override bool ReleaseHandle()
    {
        NativeMethods.llama_free(handle);
        _threadpool?.DangerousRelease();
        _model.DangerousRelease();
        return true;
    }
}

/// <summary>
/// A <c>ggml_threadpool *</c> of the CPU backend: threads that stay between decodes, where ggml would otherwise
/// start and join threads for every token.
/// </summary>
internal sealed unsafe class SafeGgmlThreadpoolHandle : SafeHandle
{
    private readonly delegate* unmanaged[Cdecl]<nint, void> _free;

    private SafeGgmlThreadpoolHandle(nint threadpool, delegate* unmanaged[Cdecl]<nint, void> free)
        : base(nint.Zero, ownsHandle: true)
    {
        _free = free;
        SetHandle(threadpool);
    }

    public override bool IsInvalid => handle == nint.Zero;

    /// <summary>A pool of <paramref name="threads"/> threads, or null where the CPU backend offers none.</summary>
    public static SafeGgmlThreadpoolHandle? Create(LlamaBackend backend, int threads)
    {
        if (backend.ThreadpoolNew == null || backend.ThreadpoolFree == null)
        {
            return null;
        }

        GgmlThreadpoolParams parameters;
        NativeMethods.ggml_threadpool_params_init(&parameters, threads);
        // Idle workers sleep at once: polling (the default, 50) spins them ~100 ms after every decode, which on a
        // small machine starves everything else, another session's context creation or the next prompt's tokenizing.
        // Waking a sleeping worker per token costs microseconds.
        parameters.Poll = 0;
        nint threadpool = backend.ThreadpoolNew(&parameters);
        return threadpool == nint.Zero ? null : new SafeGgmlThreadpoolHandle(threadpool, backend.ThreadpoolFree);
    }

    protected override bool ReleaseHandle()
    {
        _free(handle);
        return true;
    }
}

/// <summary>A <c>llama_sampler *</c> chain.</summary>
internal sealed class SafeLlamaSamplerHandle : SafeHandle
{
    public SafeLlamaSamplerHandle()
        : base(nint.Zero, ownsHandle: true)
    {
    }

    public override bool IsInvalid => handle == nint.Zero;

    protected override bool ReleaseHandle()
    {
        NativeMethods.llama_sampler_free(handle);
        return true;
    }
}
