using System.Buffers;
using System.Text;

namespace Harmony;

/// <summary>
/// Encodes text that may hold broken UTF-8 with a tokenizer that takes valid UTF-8 only: the valid runs go to the
/// tokenizer, and each byte of a broken sequence becomes its single-byte token, as a byte-level BPE encodes it, so
/// no input is lost (a tokenizer reading UTF-8 would turn those bytes into U+FFFD).
/// </summary>
public static class BrokenUtf8
{
    /// <summary>Encodes one run of valid UTF-8, appending its ids.</summary>
    public delegate void ValidRunEncoder<in TState>(TState state, ReadOnlySpan<byte> run, List<int> tokens);

    /// <summary>Appends the ids of <paramref name="utf8"/>: valid runs through <paramref name="encodeValid"/>, broken bytes
    /// through <paramref name="byteTokens"/> (the token of each byte value, 256 entries).</summary>
    public static void Encode<TState>(
        ReadOnlySpan<byte> utf8, List<int> tokens, ReadOnlySpan<int> byteTokens, TState state, ValidRunEncoder<TState> encodeValid)
    {
        ArgumentNullException.ThrowIfNull(tokens);
        ArgumentNullException.ThrowIfNull(encodeValid);
        if (byteTokens.Length != 256)
        {
            throw new ArgumentException("There must be one token for each of the 256 byte values.", nameof(byteTokens));
        }

        while (!utf8.IsEmpty)
        {
            int valid = ValidPrefixLength(utf8);
            if (valid > 0)
            {
                encodeValid(state, utf8[..valid], tokens);
            }

            utf8 = utf8[valid..];
            if (!utf8.IsEmpty)
            {
                Rune.DecodeFromUtf8(utf8, out _, out int invalid);
                foreach (byte b in utf8[..invalid])
                {
                    tokens.Add(byteTokens[b]);
                }

                utf8 = utf8[invalid..];
            }
        }
    }

    private static int ValidPrefixLength(ReadOnlySpan<byte> utf8)
    {
        if (System.Text.Unicode.Utf8.IsValid(utf8))
        {
            return utf8.Length;
        }

        int length = 0;
        while (length < utf8.Length && Rune.DecodeFromUtf8(utf8[length..], out _, out int consumed) == OperationStatus.Done)
        {
            length += consumed;
        }

        return length;
    }
}
