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

/// <summary>A <c>llama_context *</c>. It holds a reference on its model, so the model outlives it whatever the caller does.</summary>
internal sealed class SafeLlamaContextHandle : SafeHandle
{
    private readonly SafeLlamaModelHandle _model;

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

    protected override bool ReleaseHandle()
    {
        NativeMethods.llama_free(handle);
        _model.DangerousRelease();
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
