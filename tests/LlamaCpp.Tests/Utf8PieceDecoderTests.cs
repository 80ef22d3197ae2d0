using System.Text;

namespace LlamaCpp.Tests;

/// <summary>
/// The streaming decoder on raw pieces, no model: characters split anywhere come out whole, once their last byte
/// arrives; invalid bytes become U+FFFD; an incomplete end is flushed as U+FFFD.
/// </summary>
public sealed class Utf8PieceDecoderTests
{
    private const string Replacement = "\uFFFD";

    [Theory]
    [InlineData("é")]
    [InlineData("€")]
    [InlineData("世")]
    [InlineData("🎉")]
    [InlineData("👩‍💻")]
    public void Text_fed_one_byte_at_a_time_comes_out_one_whole_character_at_each_characters_last_byte(string text)
    {
        byte[] bytes = Encoding.UTF8.GetBytes(text);
        var decoder = new Utf8PieceDecoder();
        var outputs = new List<string>();
        for (int i = 0; i < bytes.Length; i++)
        {
            outputs.Add(decoder.Decode(bytes.AsSpan(i, 1)).ToString());
        }

        // Where each character's last byte is: the only places with output.
        var expected = new List<string>();
        foreach (Rune rune in text.EnumerateRunes())
        {
            expected.AddRange(Enumerable.Repeat("", rune.Utf8SequenceLength - 1));
            expected.Add(rune.ToString());
        }

        Assert.Equal(expected, outputs);
        Assert.True(decoder.Flush().IsEmpty);
    }

    [Theory]
    [InlineData(new[] { 1, 3 })]
    [InlineData(new[] { 2, 2 })]
    [InlineData(new[] { 3, 1 })]
    [InlineData(new[] { 1, 1, 2 })]
    [InlineData(new[] { 2, 1, 1 })]
    [InlineData(new[] { 1, 1, 1, 1 })]
    public void An_emoji_split_over_two_to_four_pieces_is_held_back_until_its_end(int[] split)
    {
        byte[] bytes = Encoding.UTF8.GetBytes("a🎉b");
        var decoder = new Utf8PieceDecoder();
        var outputs = new List<string> { decoder.Decode(bytes.AsSpan(0, 1)).ToString() };
        int offset = 1;
        foreach (int length in split)
        {
            outputs.Add(decoder.Decode(bytes.AsSpan(offset, length)).ToString());
            offset += length;
        }

        outputs.Add(decoder.Decode(bytes.AsSpan(offset)).ToString());

        Assert.Equal(["a", .. Enumerable.Repeat("", split.Length - 1), "🎉", "b"], outputs);
    }

    [Fact]
    public void A_piece_holding_the_end_of_one_character_and_the_start_of_another_yields_only_the_complete_one()
    {
        byte[] bytes = Encoding.UTF8.GetBytes("世界");
        var decoder = new Utf8PieceDecoder();

        string first = decoder.Decode(bytes.AsSpan(0, 2)).ToString();
        string second = decoder.Decode(bytes.AsSpan(2, 2)).ToString();
        string third = decoder.Decode(bytes.AsSpan(4)).ToString();

        Assert.Equal(("", "世", "界"), (first, second, third));
    }

    [Theory]
    [InlineData(new byte[] { 0xFF }, Replacement)]
    [InlineData(new byte[] { 0x41, 0x80, 0x42 }, "A" + Replacement + "B")]
    [InlineData(new byte[] { 0xC0, 0xAF }, Replacement + Replacement)]
    [InlineData(new byte[] { 0xED, 0xA0, 0x80 }, Replacement + Replacement + Replacement)]
    [InlineData(new byte[] { 0xF0, 0x9F, 0x41 }, Replacement + "A")]
    [InlineData(new byte[] { 0xF4, 0x90, 0x80, 0x80 }, Replacement + Replacement + Replacement + Replacement)]
    public void Invalid_bytes_become_replacement_characters_and_the_text_around_them_survives(byte[] bytes, string expected)
    {
        var decoder = new Utf8PieceDecoder();

        string text = decoder.Decode(bytes).ToString() + decoder.Flush().ToString();

        Assert.Equal(expected, text);
    }

    [Fact]
    public void An_invalid_sequence_across_pieces_is_replaced_when_the_byte_that_breaks_it_arrives()
    {
        var decoder = new Utf8PieceDecoder();

        string first = decoder.Decode([0x41, 0xF0, 0x9F]).ToString();
        string second = decoder.Decode([0x98]).ToString();
        string third = decoder.Decode([0x20]).ToString();

        Assert.Equal(("A", "", Replacement + " "), (first, second, third));
    }

    [Fact]
    public void Flushing_an_incomplete_character_gives_one_replacement_and_starts_a_new_stream()
    {
        var decoder = new Utf8PieceDecoder();

        string held = decoder.Decode([0xE4, 0xB8]).ToString();
        string flushed = decoder.Flush().ToString();
        string next = decoder.Decode([0x96]).ToString();

        Assert.Equal(("", Replacement, Replacement), (held, flushed, next));
        Assert.True(decoder.Flush().IsEmpty);
    }

    [Fact]
    public void Reset_forgets_held_back_bytes()
    {
        var decoder = new Utf8PieceDecoder();
        decoder.Decode([0xF0, 0x9F]);

        decoder.Reset();

        Assert.Equal("x", decoder.Decode("x"u8).ToString());
        Assert.True(decoder.Flush().IsEmpty);
    }

    [Fact]
    public void A_long_piece_is_decoded_whole()
    {
        string text = string.Concat(Enumerable.Repeat("größer 🎉 ", 2000));
        var decoder = new Utf8PieceDecoder();

        Assert.Equal(text, decoder.Decode(Encoding.UTF8.GetBytes(text)).ToString());
    }

    [Fact]
    public void Decoding_allocates_nothing_once_warm()
    {
        const string Text = "Hello, wörld 🎉! ";
        byte[] bytes = Encoding.UTF8.GetBytes(Text);
        var decoder = new Utf8PieceDecoder();
        int Round()
        {
            int chars = 0;
            for (int i = 0; i < bytes.Length; i++)
            {
                chars += decoder.Decode(bytes.AsSpan(i, 1)).Length;
            }

            return chars;
        }

        Assert.Equal(Text.Length, Round());

        // The runtime may allocate on this thread while it tiers the code up (once, not per call): a decoder that
        // allocates shows in every batch, so the least of a few batches is the decoder's own.
        long least = long.MaxValue;
        for (int batch = 0; batch < 5 && least > 0; batch++)
        {
            int chars = 0;
            long before = GC.GetAllocatedBytesForCurrentThread();
            for (int round = 0; round < 100; round++)
            {
                chars += Round();
            }

            least = Math.Min(least, GC.GetAllocatedBytesForCurrentThread() - before);
            Assert.Equal(100 * Text.Length, chars);
        }

        Assert.Equal(0, least);
    }

    [Fact]
    public void Without_a_vocabulary_token_ids_cannot_be_decoded()
    {
        var decoder = new Utf8PieceDecoder();

        Assert.Throws<InvalidOperationException>(() => decoder.Decode(42).ToString());
    }
}
