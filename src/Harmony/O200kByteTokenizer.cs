namespace Harmony;

/// <summary>
/// Tokenizes ordinary text one UTF-8 byte per token, with o200k's 256 single-byte tokens. The ids are genuine
/// o200k_harmony ids, just not the ones BPE would choose; it stands in wherever no model vocabulary is loaded.
/// </summary>
/// <remarks>Stateless and thread-safe.</remarks>
public sealed class O200kByteTokenizer : IHarmonyTokenizer
{
    // o200k orders its byte tokens like GPT-2's byte-to-unicode table: printable bytes first, the rest after.
    private static readonly byte[] s_byteByToken = CreateByteByToken();
    private static readonly int[] s_tokenByByte = CreateTokenByByte();

    /// <summary>The shared instance.</summary>
    public static O200kByteTokenizer Instance { get; } = new();

    /// <inheritdoc />
    public HarmonySpecialTokens SpecialTokens => HarmonySpecialTokens.O200kHarmony;

    /// <summary>The o200k id of the single-byte token for <paramref name="value"/>.</summary>
    public static int GetByteToken(byte value) => s_tokenByByte[value];

    /// <inheritdoc />
    public void EncodeOrdinary(ReadOnlySpan<byte> utf8, List<int> tokens)
    {
        ArgumentNullException.ThrowIfNull(tokens);
        tokens.EnsureCapacity(tokens.Count + utf8.Length);
        foreach (byte value in utf8)
        {
            tokens.Add(s_tokenByByte[value]);
        }
    }

    /// <inheritdoc />
    public ReadOnlySpan<byte> GetTokenBytes(int token) =>
        (uint)token < (uint)s_byteByToken.Length ? new ReadOnlySpan<byte>(s_byteByToken, token, 1) : default;

    private static byte[] CreateByteByToken()
    {
        var bytes = new byte[256];
        int token = 0;
        for (int value = 0; value < 256; value++)
        {
            if (IsPrintable(value))
            {
                bytes[token++] = (byte)value;
            }
        }

        for (int value = 0; value < 256; value++)
        {
            if (!IsPrintable(value))
            {
                bytes[token++] = (byte)value;
            }
        }

        return bytes;
    }

    private static int[] CreateTokenByByte()
    {
        var tokens = new int[256];
        for (int token = 0; token < s_byteByToken.Length; token++)
        {
            tokens[s_byteByToken[token]] = token;
        }

        return tokens;
    }

    private static bool IsPrintable(int value) => value is (>= '!' and <= '~') or (>= 0xA1 and <= 0xAC) or (>= 0xAE and <= 0xFF);
}
