using LLama.Native;

namespace LlamaCpp;

/// <summary>
/// Chooses each token from the logits: greedily in place (<see cref="LlamaGenerator.ArgMax"/>), or through
/// llama.cpp's sampler chain, which <see cref="Use"/> replaces when a generation asks for other settings.
/// </summary>
/// <remarks>Not thread-safe: the decoding thread uses it.</remarks>
internal sealed class TokenSampler : IDisposable
{
    private SafeLLamaSamplerChainHandle _chain;

    public TokenSampler(LlamaSamplingOptions options)
    {
        Options = options;
        _chain = LlamaGenerator.CreateSampler(options);
    }

    public LlamaSamplingOptions Options { get; private set; }

    /// <summary>
    /// Samples with <paramref name="options"/> from now on. A chain with a seed is made afresh each time, so that a
    /// generation that gives a seed is reproducible; otherwise a chain of the same settings is kept.
    /// </summary>
    public void Use(LlamaSamplingOptions options)
    {
        if (options == Options && options.Seed is null)
        {
            return;
        }

        _chain.Dispose();
        _chain = LlamaGenerator.CreateSampler(options);
        Options = options;
    }

    /// <summary>The token for the logits of batch entry <paramref name="index"/> (-1: the last).</summary>
    public int Sample(SafeLLamaContextHandle context, int index, int vocabularySize) => Options.Temperature <= 0
        ? LlamaGenerator.ArgMax(context.GetLogitsIth(index)[..vocabularySize])
        : (int)_chain.Sample(context, index);

    public void Dispose() => _chain.Dispose();
}
