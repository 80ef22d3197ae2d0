using System.Text;

namespace Harmony.Parsing;

/// <summary>
/// Parses the tokens of one message header (docs/harmony.md §4.3). Works on ids and bytes: markers are ids, words are
/// byte ranges split on ASCII whitespace, so text glued to a marker is still a word of its own. Never throws;
/// reuses its buffers, and common words come back as cached strings, so a header costs no allocation.
/// </summary>
/// <remarks>Not thread-safe; one per parser.</remarks>
internal sealed class HeaderParser
{
    private const string Assistant = "assistant";

    private readonly IHarmonyTokenizer _tokenizer;
    private readonly int _channel;
    private readonly int _constrain;
    private readonly string _constrainSpelling;
    private readonly string _constrainJson;
    private byte[] _bytes = new byte[256];
    private int _byteCount;
    private Atom[] _atoms = new Atom[32];
    private int _atomCount;

    public HeaderParser(IHarmonyTokenizer tokenizer)
    {
        _tokenizer = tokenizer;
        HarmonySpecialTokens specials = tokenizer.SpecialTokens;
        _channel = specials.Channel;
        _constrain = specials.Constrain;
        _constrainSpelling = specials.GetSpelling(_constrain) ?? "<|constrain|>";
        _constrainJson = _constrainSpelling + "json";
    }

    private enum AtomKind : byte
    {
        Word,
        Channel,
        Constrain,
    }

    /// <summary>Parses a header that <c>&lt;|message|&gt;</c> closed.</summary>
    /// <param name="tokens">The header's tokens: ordinary ids, channel and constrain markers.</param>
    /// <param name="implicitRole">True for a header that followed no <c>&lt;|start|&gt;</c>: the author is the assistant.</param>
    /// <param name="ignoredWords">Whether words that mean nothing were dropped.</param>
    public HarmonyHeader Parse(ReadOnlySpan<int> tokens, bool implicitRole, out bool ignoredWords)
    {
        BuildAtoms(tokens);
        int next = ReadAuthor(implicitRole, out string author, out _);

        string? channel = null;
        int recipientWord = -1;
        int constrainedWord = -1;
        int lastBareWord = -1;
        int lastDottedBareWord = -1;
        int bareWords = 0;
        for (int i = next; i < _atomCount; i++)
        {
            Atom atom = _atoms[i];
            switch (atom.Kind)
            {
                case AtomKind.Channel:
                    // The last channel wins; a marker with no word after it leaves an empty, unknown channel.
                    bool hasWord = IsWord(i + 1);
                    channel = hasWord ? ChannelName(Bytes(_atoms[++i])) : "";
                    break;
                case AtomKind.Constrain:
                    if (IsWord(i + 1))
                    {
                        constrainedWord = ++i;
                    }

                    break;
                default:
                    ReadOnlySpan<byte> word = Bytes(atom);
                    if (word.StartsWith("to="u8))
                    {
                        if (!IsIgnoredRecipient(word[3..]))
                        {
                            recipientWord = i;
                        }
                    }
                    else
                    {
                        bareWords++;
                        lastBareWord = i;
                        if (word.Contains((byte)'.') && !IsIgnoredRecipient(word))
                        {
                            lastDottedBareWord = i;
                        }
                    }

                    break;
            }
        }

        string? recipient = null;
        int usedBareWords = 0;
        if (recipientWord >= 0)
        {
            recipient = Decode(Bytes(_atoms[recipientWord])[3..]);
        }
        else if (lastDottedBareWord >= 0)
        {
            // "functions.x" without "to=": a namespaced word can only be a recipient.
            recipient = Decode(Bytes(_atoms[lastDottedBareWord]));
            usedBareWords++;
        }

        string? contentType = null;
        if (constrainedWord >= 0)
        {
            ReadOnlySpan<byte> word = Bytes(_atoms[constrainedWord]);
            contentType = word.SequenceEqual("json"u8) ? _constrainJson : _constrainSpelling + Decode(word);
        }
        else if (lastBareWord >= 0 && !(recipientWord < 0 && lastBareWord == lastDottedBareWord))
        {
            contentType = WordString(Bytes(_atoms[lastBareWord]));
            usedBareWords++;
        }

        if (recipient is null && contentType is not null)
        {
            // "<|constrain|>functions.NAME" on final: the model put the recipient where the content type goes.
            ReadOnlySpan<char> bare = contentType.AsSpan();
            if (bare.StartsWith(_constrainSpelling, StringComparison.Ordinal))
            {
                bare = bare[_constrainSpelling.Length..];
            }

            if (bare.StartsWith("functions.", StringComparison.Ordinal))
            {
                recipient = bare.ToString();
                contentType = null;
            }
        }

        ignoredWords = bareWords > usedBareWords;
        return new HarmonyHeader(author, channel, recipient, contentType, Route(author, channel, recipient));
    }

    /// <summary>
    /// Parses a header that never saw <c>&lt;|message|&gt;</c>: author and channel as usual, no recipient, and the
    /// rest of its text (from after the last channel's word, or after the role word) becomes the content.
    /// </summary>
    /// <param name="tokens">The header's tokens.</param>
    /// <param name="implicitRole">True for a header that followed no <c>&lt;|start|&gt;</c>.</param>
    /// <param name="content">Valid until the next call.</param>
    public HarmonyHeader ParseLenient(ReadOnlySpan<int> tokens, bool implicitRole, out ReadOnlySpan<byte> content)
    {
        BuildAtoms(tokens);
        int next = ReadAuthor(implicitRole, out string author, out bool consumedWord);

        int lastChannel = -1;
        for (int i = next; i < _atomCount; i++)
        {
            if (_atoms[i].Kind == AtomKind.Channel)
            {
                lastChannel = i;
            }
        }

        string? channel = null;
        int contentStart = 0;
        if (lastChannel >= 0)
        {
            Atom marker = _atoms[lastChannel];
            if (IsWord(lastChannel + 1))
            {
                Atom word = _atoms[lastChannel + 1];
                channel = ChannelName(Bytes(word));
                contentStart = word.Start + word.Length;
            }
            else
            {
                channel = "";
                contentStart = marker.Start;
            }
        }
        else if (consumedWord)
        {
            contentStart = _atoms[0].Start + _atoms[0].Length;
        }

        content = TrimStartWhitespace(_bytes.AsSpan(contentStart, _byteCount - contentStart));
        return new HarmonyHeader(author, channel, null, null, Route(author, channel, recipient: null));
    }

    private static HarmonyRoute Route(string author, string? channel, string? recipient)
    {
        if (!string.Equals(author, Assistant, StringComparison.Ordinal))
        {
            return HarmonyRoute.Foreign;
        }

        if (recipient is not null)
        {
            return HarmonyRoute.Tool;
        }

        return channel switch
        {
            null => HarmonyRoute.Final,
            "final" => HarmonyRoute.Final,
            "commentary" => HarmonyRoute.Commentary,
            "analysis" => HarmonyRoute.Analysis,
            _ => HarmonyRoute.Unknown,
        };
    }

    // The first word is the author, unless it is a recipient; after an implicit start only "assistant" is taken.
    private int ReadAuthor(bool implicitRole, out string author, out bool consumedWord)
    {
        author = Assistant;
        consumedWord = false;
        if (!IsWord(0))
        {
            return 0;
        }

        ReadOnlySpan<byte> first = Bytes(_atoms[0]);
        if (first.StartsWith("to="u8))
        {
            return 0;
        }

        if (implicitRole && !first.SequenceEqual("assistant"u8))
        {
            return 0;
        }

        author = WordString(first);
        consumedWord = true;
        return 1;
    }

    private void BuildAtoms(ReadOnlySpan<int> tokens)
    {
        _byteCount = 0;
        _atomCount = 0;
        int runStart = 0;
        foreach (int token in tokens)
        {
            if (token == _channel || token == _constrain)
            {
                SplitWords(runStart);
                AddAtom(new Atom(token == _channel ? AtomKind.Channel : AtomKind.Constrain, _byteCount, 0));
                runStart = _byteCount;
            }
            else
            {
                ReadOnlySpan<byte> bytes = _tokenizer.GetTokenBytes(token);
                if (_byteCount + bytes.Length > _bytes.Length)
                {
                    Array.Resize(ref _bytes, Math.Max(_bytes.Length * 2, _byteCount + bytes.Length));
                }

                bytes.CopyTo(_bytes.AsSpan(_byteCount));
                _byteCount += bytes.Length;
            }
        }

        SplitWords(runStart);
    }

    private void SplitWords(int start)
    {
        int i = start;
        while (i < _byteCount)
        {
            if (IsWhitespace(_bytes[i]))
            {
                i++;
                continue;
            }

            int wordStart = i;
            while (i < _byteCount && !IsWhitespace(_bytes[i]))
            {
                i++;
            }

            AddAtom(new Atom(AtomKind.Word, wordStart, i - wordStart));
        }
    }

    private void AddAtom(Atom atom)
    {
        if (_atomCount == _atoms.Length)
        {
            Array.Resize(ref _atoms, _atoms.Length * 2);
        }

        _atoms[_atomCount++] = atom;
    }

    private bool IsWord(int index) => index < _atomCount && _atoms[index].Kind == AtomKind.Word;

    private ReadOnlySpan<byte> Bytes(Atom atom) => _bytes.AsSpan(atom.Start, atom.Length);

    private static bool IsIgnoredRecipient(ReadOnlySpan<byte> name) =>
        name.IsEmpty || name.SequenceEqual("assistant"u8) || name.SequenceEqual("user"u8) || name.SequenceEqual("all"u8);

    private static string ChannelName(ReadOnlySpan<byte> word)
    {
        if (word.SequenceEqual("analysis"u8))
        {
            return "analysis";
        }

        if (word.SequenceEqual("final"u8))
        {
            return "final";
        }

        return word.SequenceEqual("commentary"u8) ? "commentary" : Decode(word);
    }

    private static string WordString(ReadOnlySpan<byte> word)
    {
        if (word.SequenceEqual("assistant"u8))
        {
            return Assistant;
        }

        if (word.SequenceEqual("json"u8))
        {
            return "json";
        }

        return word.SequenceEqual("code"u8) ? "code" : Decode(word);
    }

    // Lossy: invalid UTF-8 in a header becomes U+FFFD rather than an error.
    private static string Decode(ReadOnlySpan<byte> utf8) => Encoding.UTF8.GetString(utf8);

    private static ReadOnlySpan<byte> TrimStartWhitespace(ReadOnlySpan<byte> bytes)
    {
        int start = 0;
        while (start < bytes.Length && IsWhitespace(bytes[start]))
        {
            start++;
        }

        return bytes[start..];
    }

    private static bool IsWhitespace(byte value) => value is (byte)' ' or (byte)'\t' or (byte)'\n' or (byte)'\r' or (byte)'\v' or (byte)'\f';

    private readonly record struct Atom(AtomKind Kind, int Start, int Length);
}
