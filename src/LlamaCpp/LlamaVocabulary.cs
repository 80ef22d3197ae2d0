using System.Buffers;
using LLama.Native;
using LlamaCpp.Native;

namespace LlamaCpp;

/// <summary>Token attributes (<c>llama_token_attr</c>).</summary>
[Flags]
public enum LlamaTokenAttributes
{
    /// <summary>None.</summary>
    None = 0,

    /// <summary>The unknown token.</summary>
    Unknown = 1 << 0,

    /// <summary>Unused (padding) entries.</summary>
    Unused = 1 << 1,

    /// <summary>Ordinary text.</summary>
    Normal = 1 << 2,

    /// <summary>A control token.</summary>
    Control = 1 << 3,

    /// <summary>A user-defined token.</summary>
    UserDefined = 1 << 4,

    /// <summary>A byte token.</summary>
    Byte = 1 << 5,
}

/// <summary>
/// A model's vocabulary as llama.cpp reads it from the GGUF, through LLamaSharp's vocabulary calls. Every token's
/// bytes are read once, at load, so that looking one up during generation is a table read; llama.cpp keeps its
/// end-of-generation set private, so it is listed once too.
/// </summary>
/// <remarks>Thread-safe.</remarks>
public sealed unsafe class LlamaVocabulary
{
    private readonly LlamaModel _model;
    private readonly SafeLlamaModelHandle.Vocabulary _vocabulary;
    private readonly nint _vocab;
    private readonly byte[] _pieces;
    private readonly int[] _offsets;

    internal LlamaVocabulary(LlamaModel model)
    {
        _model = model;
        _vocabulary = model.Handle.Vocab;
        _vocab = NativeMethods.llama_model_get_vocab(model.Handle);
        Count = _vocabulary.Count;
        _offsets = new int[Count + 1];
        var pieces = new ArrayBufferWriter<byte>(Count * 8);
        var endOfGeneration = new List<int>();
        byte[] buffer = new byte[256];
        for (int token = 0; token < Count; token++)
        {
            int length = NativeApi.llama_token_to_piece(_vocabulary, token, buffer, 0, special: false);
            if (length < 0)
            {
                // Longer than the buffer: llama.cpp says how long, and the next try fits.
                buffer = new byte[-length];
                length = NativeApi.llama_token_to_piece(_vocabulary, token, buffer, 0, special: false);
            }

            if (length > 0)
            {
                pieces.Write(buffer.AsSpan(0, Math.Min(length, buffer.Length)));
            }

            _offsets[token + 1] = pieces.WrittenCount;

            // llama.cpp keeps its end-of-generation set private; asking token by token is the only way to list it.
            if (((LLamaToken)token).IsEndOfGeneration(_vocabulary))
            {
                endOfGeneration.Add(token);
            }
        }

        _pieces = pieces.WrittenSpan.ToArray();
        EndOfGenerationTokens = endOfGeneration.ToArray();
    }

    /// <summary>The number of tokens.</summary>
    public int Count { get; }

    /// <summary>
    /// Every token that ends a generation for llama.cpp (end of sequence, end of turn and the like, such as
    /// <c>&lt;|return|&gt;</c> and <c>&lt;|call|&gt;</c> in o200k_harmony), ascending: the stop tokens of a model
    /// answering through its own chat template.
    /// </summary>
    public ReadOnlyMemory<int> EndOfGenerationTokens { get; }

    /// <summary>Whether llama.cpp ends a generation at <paramref name="token"/>; false for ids outside the vocabulary.</summary>
    public bool IsEndOfGeneration(int token)
    {
        if ((uint)token >= (uint)Count)
        {
            return false;
        }

        bool endOfGeneration = ((LLamaToken)token).IsEndOfGeneration(_vocabulary);
        GC.KeepAlive(_model);
        return endOfGeneration;
    }

    /// <summary>
    /// The bytes of a token rendered as text, as llama.cpp renders it: control, unknown and unused tokens render empty,
    /// user-defined ones as their text (llama.cpp marks gpt-oss's <c>&lt;|start|&gt;</c>, <c>&lt;|channel|&gt;</c>,
    /// <c>&lt;|message|&gt;</c>, <c>&lt;|constrain|&gt;</c> user-defined in every vocabulary that has them). The bytes
    /// may be part of a UTF-8 character. Empty for ids outside the vocabulary.
    /// </summary>
    public ReadOnlySpan<byte> GetPiece(int token) =>
        (uint)token < (uint)Count ? new ReadOnlySpan<byte>(_pieces, _offsets[token], _offsets[token + 1] - _offsets[token]) : default;

    /// <summary>The token's entry in the vocabulary, such as <c>&lt;|channel|&gt;</c> or <c>Ġworld</c>.</summary>
    public string GetText(int token)
    {
        CheckToken(token);
        string text = LlamaBackend.Utf8(NativeMethods.llama_vocab_get_text(_vocab, token));
        GC.KeepAlive(_model);
        return text;
    }

    /// <summary>The token's attributes.</summary>
    public LlamaTokenAttributes GetAttributes(int token)
    {
        CheckToken(token);
        var attributes = (LlamaTokenAttributes)((LLamaToken)token).GetAttributes(_vocabulary);
        GC.KeepAlive(_model);
        return attributes;
    }

    /// <summary>
    /// Appends the ids of <paramref name="utf8"/>. Without <paramref name="parseSpecial"/>, control tokens are never
    /// produced; note that llama.cpp still matches user-defined tokens in the text.
    /// </summary>
    public void Tokenize(ReadOnlySpan<byte> utf8, List<int> tokens, bool parseSpecial)
    {
        ArgumentNullException.ThrowIfNull(tokens);
        if (utf8.IsEmpty)
        {
            return;
        }

        // BPE rarely yields more tokens than bytes; when it does, llama.cpp says how many, and we ask again.
        int count = Tokenize(utf8, utf8.Length + 8, tokens, parseSpecial);
        if (count < 0 && Tokenize(utf8, -count, tokens, parseSpecial) < 0)
        {
            throw new LlamaException($"llama.cpp could not tokenize {utf8.Length} bytes.");
        }
    }

    // The count appended, or minus the room needed.
    private int Tokenize(ReadOnlySpan<byte> utf8, int capacity, List<int> tokens, bool parseSpecial)
    {
        int[] buffer = ArrayPool<int>.Shared.Rent(capacity);
        try
        {
            int count;
            fixed (byte* text = utf8)
            fixed (int* ids = buffer)
            {
                count = NativeMethods.llama_tokenize(_vocab, text, utf8.Length, ids, buffer.Length, addSpecial: false, parseSpecial);
            }

            GC.KeepAlive(_model);
            if (count > 0)
            {
                tokens.AddRange(buffer.AsSpan(0, count));
            }

            return count;
        }
        finally
        {
            ArrayPool<int>.Shared.Return(buffer);
        }
    }

    private void CheckToken(int token)
    {
        if ((uint)token >= (uint)Count)
        {
            throw new ArgumentOutOfRangeException(nameof(token), token, $"The vocabulary has {Count} tokens.");
        }
    }
}
