namespace Harmony;

/// <summary>
/// The vocabulary Harmony renders into and parses from, injected so that Harmony itself stays free of I/O:
/// the GGUF's own tokenizer or the built-in o200k_harmony (Harmony.Tokenizers) in the agent, simple tables in tests.
/// </summary>
/// <remarks>Implementations must be safe to call from several threads. An id's bytes never change once the id
/// exists: parsers cache the decoded text of short tokens per tokenizer.</remarks>
public interface IHarmonyTokenizer
{
    /// <summary>The special ids of this vocabulary.</summary>
    HarmonySpecialTokens SpecialTokens { get; }

    /// <summary>
    /// Appends the ids of <paramref name="utf8"/> encoded as ordinary text. The result must never contain a special id,
    /// whatever the text says; <see cref="Rendering.HarmonyEncoding"/> checks this.
    /// </summary>
    void EncodeOrdinary(ReadOnlySpan<byte> utf8, List<int> tokens);

    /// <summary>
    /// The bytes of an ordinary token. They may be part of a UTF-8 character. Returns empty for special or
    /// unknown ids, never throws, and must not allocate: the parser calls it for tokens it has not cached.
    /// </summary>
    ReadOnlySpan<byte> GetTokenBytes(int token);
}
