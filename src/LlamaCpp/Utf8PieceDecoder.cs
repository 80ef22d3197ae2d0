using System.Text;

namespace LlamaCpp;

/// <summary>
/// Turns a stream of token ids into text, whole characters at a time. A token's bytes may end inside a UTF-8
/// character (byte-level vocabularies split emoji and CJK over several tokens): those bytes are held back until the
/// character's end arrives. Invalid sequences become U+FFFD, one per maximal invalid subpart as Unicode recommends.
/// Tokens whose attributes say control, unknown or unused (<c>&lt;|return|&gt;</c>, <c>&lt;|im_end|&gt;</c>, ...) add
/// nothing: the text is that of the other tokens' pieces, joined, as <see cref="LlamaVocabulary.GetPiece"/> gives them
/// (user-defined tokens are text, as llama.cpp renders them).
/// </summary>
/// <remarks>
/// Not thread-safe: one per stream. After the first few tokens, decoding allocates nothing: the text returned is a
/// view of a buffer the next call overwrites.
/// </remarks>
public sealed class Utf8PieceDecoder
{
    private readonly LlamaVocabulary? _vocabulary;
    // Encoding.UTF8 replaces invalid bytes (it never throws) and its decoder keeps an incomplete sequence between calls.
    private readonly Decoder _decoder = Encoding.UTF8.GetDecoder();
    private char[] _chars = new char[64];

    /// <summary>Creates a decoder of <paramref name="vocabulary"/>'s tokens.</summary>
    public Utf8PieceDecoder(LlamaVocabulary vocabulary)
    {
        ArgumentNullException.ThrowIfNull(vocabulary);
        _vocabulary = vocabulary;
    }

    /// <summary>
    /// A decoder of UTF-8 pieces the caller already has (bytes from another vocabulary or off a wire): only
    /// <see cref="Decode(ReadOnlySpan{byte})"/> and <see cref="Flush"/>; it has no ids to look up.
    /// </summary>
    public Utf8PieceDecoder()
    {
    }

    /// <summary>
    /// The text that <paramref name="token"/> completes: empty while a character is still incomplete or for a
    /// control token. Valid until the next call.
    /// </summary>
    public ReadOnlySpan<char> Decode(int token)
    {
        LlamaVocabulary vocabulary = _vocabulary ?? throw new InvalidOperationException("This decoder has no vocabulary; decode pieces instead.");
        return Decode(vocabulary.GetPiece(token));
    }

    /// <summary>The text that a piece of UTF-8 completes. Valid until the next call.</summary>
    public ReadOnlySpan<char> Decode(ReadOnlySpan<byte> piece) => Convert(piece, flush: false);

    /// <summary>
    /// Ends the stream: an incomplete character still held back becomes U+FFFD. The decoder is then ready for a new
    /// stream. Valid until the next call.
    /// </summary>
    public ReadOnlySpan<char> Flush() => Convert([], flush: true);

    /// <summary>Forgets any bytes held back, for a new stream.</summary>
    public void Reset() => _decoder.Reset();

    /// <summary>The text of <paramref name="tokens"/>, flushed at the end: a whole answer at once.</summary>
    public string DecodeAll(IEnumerable<int> tokens)
    {
        ArgumentNullException.ThrowIfNull(tokens);
        var text = new StringBuilder();
        foreach (int token in tokens)
        {
            text.Append(Decode(token));
        }

        text.Append(Flush());
        return text.ToString();
    }

    private ReadOnlySpan<char> Convert(ReadOnlySpan<byte> bytes, bool flush)
    {
        // GetMaxCharCount counts a character the held-back bytes may complete or turn into U+FFFD.
        int needed = Encoding.UTF8.GetMaxCharCount(bytes.Length);
        if (_chars.Length < needed)
        {
            _chars = new char[Math.Max(needed, _chars.Length * 2)];
        }

        int count = _decoder.GetChars(bytes, _chars, flush);
        return new ReadOnlySpan<char>(_chars, 0, count);
    }
}
