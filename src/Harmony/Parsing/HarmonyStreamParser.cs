using System.Diagnostics;
using System.Runtime.CompilerServices;
using System.Text.Unicode;

namespace Harmony.Parsing;

/// <summary>
/// Parses GPT-OSS output as it streams, one token id at a time (docs/harmony.md §4). It starts inside the header of
/// the first message, because the prompt ended with <c>&lt;|start|&gt;assistant</c>. Decisions are made on ids,
/// never on decoded text, so a literal <c>&lt;|channel|&gt;</c> in ordinary text stays text.
/// </summary>
/// <remarks>
/// <para>It never throws on any input: malformed output degrades to content and is reported through
/// <see cref="IHarmonyStreamListener.OnDiagnostic"/>. After it stops, further input is ignored.</para>
/// <para>In steady state a token costs no allocation. Create one parser per completion. Not thread-safe.</para>
/// </remarks>
public sealed class HarmonyStreamParser
{
    /// <summary>A header longer than this is no header: its text becomes content.</summary>
    public const int MaxHeaderTokens = 64;

    private readonly IHarmonyTokenizer _tokenizer;
    private readonly IHarmonyStreamListener _listener;
    private readonly HeaderParser _headerParser;
    private readonly TokenTextTable? _tokenText;
    private readonly int _firstSpecial;
    private readonly int _start;
    private readonly int _end;
    private readonly int _message;
    private readonly int _channel;
    private readonly int _constrain;
    private readonly int _return;
    private readonly int _call;
    private readonly int _endOfText;

    private readonly int[] _headerTokens = new int[MaxHeaderTokens + 1];
    private int _headerCount;
    private bool _implicitRole = true;
    private State _state;

    private HarmonyHeader _header;
    private char[] _text = new char[1024];
    private int _textLength;

    // Bytes of a UTF-8 character that is not complete yet (at most 3), and room to join them with the next token.
    private readonly byte[] _pending = new byte[4];
    private int _pendingCount;
    private byte[] _joined = new byte[64];

    /// <summary>Creates a parser for one completion.</summary>
    public HarmonyStreamParser(IHarmonyTokenizer tokenizer, IHarmonyStreamListener listener)
    {
        ArgumentNullException.ThrowIfNull(tokenizer);
        ArgumentNullException.ThrowIfNull(listener);
        _tokenizer = tokenizer;
        _listener = listener;
        _headerParser = new HeaderParser(tokenizer);
        _tokenText = TokenTextTable.For(tokenizer);
        HarmonySpecialTokens specials = tokenizer.SpecialTokens;
        _firstSpecial = specials.FirstSpecialId;
        _start = specials.Start;
        _end = specials.End;
        _message = specials.Message;
        _channel = specials.Channel;
        _constrain = specials.Constrain;
        _return = specials.Return;
        _call = specials.Call;
        _endOfText = specials.EndOfText;
    }

    private enum State : byte
    {
        Header,
        Content,
        Between,
        Done,
    }

    private enum Kind : byte
    {
        Text,
        Start,
        End,
        Message,
        Channel,
        Constrain,
        Return,
        Call,
        EndOfText,
        Other,
    }

    /// <summary>Why the parser stopped, or null while it runs.</summary>
    public HarmonyStopReason? StopReason { get; private set; }

    /// <summary>Whether the parser has stopped; the sampler should have stopped too.</summary>
    public bool IsStopped => _state == State.Done;

    /// <summary>Feeds one token.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void Push(int token)
    {
        // The hot path: ordinary text inside a message.
        if (_state == State.Content && (uint)token < (uint)_firstSpecial)
        {
            AppendOrdinary(token);
            return;
        }

        PushStructural(token);
    }

    /// <summary>Feeds tokens in order.</summary>
    public void Push(ReadOnlySpan<int> tokens)
    {
        foreach (int token in tokens)
        {
            Push(token);
        }
    }

    /// <summary>
    /// The stream ended without a terminator (token budget or context full): a message in progress completes as
    /// truncated, and the parser stops with <see cref="HarmonyStopReason.MaxTokens"/>.
    /// </summary>
    public void Finish()
    {
        switch (_state)
        {
            case State.Content:
                Complete(HarmonyTerminator.Truncated);
                if (_state != State.Done)
                {
                    Stop(HarmonyStopReason.MaxTokens);
                }

                break;
            case State.Header or State.Between:
                Stop(HarmonyStopReason.MaxTokens);
                break;
        }
    }

    /// <summary>Stops at once with <see cref="HarmonyStopReason.Cancelled"/>: no flush, no further events.</summary>
    public void Cancel()
    {
        if (_state != State.Done)
        {
            Stop(HarmonyStopReason.Cancelled);
        }
    }

    private void PushStructural(int token)
    {
        Kind kind = Classify(token);
        switch (_state)
        {
            case State.Header:
                OnHeaderToken(token, kind);
                break;
            case State.Content:
                OnContentToken(kind);
                break;
            case State.Between:
                OnBetweenToken(token, kind);
                break;
            default:
                _listener.OnDiagnostic(HarmonyDiagnostic.TokenAfterStop);
                break;
        }
    }

    private void OnHeaderToken(int token, Kind kind)
    {
        switch (kind)
        {
            case Kind.Message:
                HarmonyHeader header = _headerParser.Parse(_headerTokens.AsSpan(0, _headerCount), _implicitRole, out bool ignoredWords);
                if (ignoredWords)
                {
                    _listener.OnDiagnostic(HarmonyDiagnostic.HeaderWordsIgnored);
                }

                BeginContent(header);
                break;
            case Kind.Start:
                // A re-emitted "<|start|>assistant" or a doubled start: whatever came before was no header.
                BeginHeader(implicitRole: false);
                break;
            case Kind.Text or Kind.Channel or Kind.Constrain:
                _headerTokens[_headerCount++] = token;
                if (_headerCount > MaxHeaderTokens)
                {
                    _listener.OnDiagnostic(HarmonyDiagnostic.HeaderTooLong);
                    BeginLenientContent();
                }

                break;
            case Kind.End or Kind.Return or Kind.Call or Kind.EndOfText:
                if (_headerCount > 0)
                {
                    _listener.OnDiagnostic(HarmonyDiagnostic.HeaderWithoutMessage);
                    BeginLenientContent();
                    Complete(Terminator(kind));
                }
                else if (kind == Kind.End)
                {
                    _state = State.Between;
                }
                else
                {
                    Stop(HarmonyStopReason.EndTurn);
                }

                break;
            default:
                _listener.OnDiagnostic(HarmonyDiagnostic.TokenDropped);
                break;
        }
    }

    private void OnContentToken(Kind kind)
    {
        switch (kind)
        {
            case Kind.End or Kind.Return or Kind.Call or Kind.EndOfText:
                Complete(Terminator(kind));
                break;
            case Kind.Start:
                _listener.OnDiagnostic(HarmonyDiagnostic.MissingEnd);
                Complete(HarmonyTerminator.Implicit);
                if (_state != State.Done)
                {
                    BeginHeader(implicitRole: false);
                }

                break;
            case Kind.Channel:
                _listener.OnDiagnostic(HarmonyDiagnostic.MissingEnd);
                Complete(HarmonyTerminator.Implicit);
                if (_state != State.Done)
                {
                    BeginHeader(implicitRole: true);
                    _headerTokens[_headerCount++] = _channel;
                }

                break;
            default:
                // <|message|>, <|constrain|> and unknown specials never belong in text.
                _listener.OnDiagnostic(HarmonyDiagnostic.TokenDropped);
                break;
        }
    }

    private void OnBetweenToken(int token, Kind kind)
    {
        switch (kind)
        {
            case Kind.Start:
                BeginHeader(implicitRole: false);
                break;
            case Kind.Channel or Kind.Text:
                // A missing "<|start|>assistant", or unmarked text after <|end|>.
                BeginHeader(implicitRole: true);
                _headerTokens[_headerCount++] = token;
                break;
            case Kind.Message:
                BeginContent(new HarmonyHeader("assistant", null, null, null, HarmonyRoute.Final));
                break;
            case Kind.Return or Kind.Call or Kind.EndOfText:
                Stop(HarmonyStopReason.EndTurn);
                break;
            default:
                _listener.OnDiagnostic(HarmonyDiagnostic.TokenDropped);
                break;
        }
    }

    private void BeginHeader(bool implicitRole)
    {
        _state = State.Header;
        _implicitRole = implicitRole;
        _headerCount = 0;
    }

    private void BeginContent(HarmonyHeader header)
    {
        _header = header;
        _textLength = 0;
        _pendingCount = 0;
        _state = State.Content;
        if (header.Route == HarmonyRoute.Foreign)
        {
            _listener.OnDiagnostic(HarmonyDiagnostic.ForeignAuthor);
        }
        else if (header.Route == HarmonyRoute.Unknown)
        {
            _listener.OnDiagnostic(HarmonyDiagnostic.UnknownChannel);
        }

        _listener.OnMessageStarted(header);
    }

    private void BeginLenientContent()
    {
        HarmonyHeader header = _headerParser.ParseLenient(_headerTokens.AsSpan(0, _headerCount), _implicitRole, out ReadOnlySpan<byte> content);
        BeginContent(header);
        AppendContent(content);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private void AppendOrdinary(int token)
    {
        int length;
        if (_pendingCount == 0 && _tokenText is not null && (length = _tokenText.Length(token)) != 0)
        {
            if (_textLength + TokenTextTable.SlotLength > _text.Length)
            {
                Array.Resize(ref _text, _text.Length * 2);
            }

            _tokenText.CopyTo(token, _text.AsSpan(_textLength, TokenTextTable.SlotLength));
            ReadOnlySpan<char> delta = _text.AsSpan(_textLength, length);
            _textLength += length;
            _listener.OnText(_header.Route, delta);
            return;
        }

        AppendContent(_tokenizer.GetTokenBytes(token));
    }

    private void AppendContent(ReadOnlySpan<byte> bytes)
    {
        if (bytes.IsEmpty)
        {
            return;
        }

        // UTF-8 never yields more UTF-16 chars than bytes, replacement characters included.
        int required = _textLength + _pendingCount + bytes.Length;
        if (required > _text.Length)
        {
            Array.Resize(ref _text, Math.Max(_text.Length * 2, required));
        }

        Span<char> destination = _text.AsSpan(_textLength);
        int written = _pendingCount == 0 && TryWidenAscii(bytes, destination) ? bytes.Length : Decode(bytes, destination);
        if (written > 0)
        {
            ReadOnlySpan<char> delta = _text.AsSpan(_textLength, written);
            _textLength += written;
            _listener.OnText(_header.Route, delta);
        }
    }

    private static bool TryWidenAscii(ReadOnlySpan<byte> bytes, Span<char> destination)
    {
        for (int i = 0; i < bytes.Length; i++)
        {
            byte value = bytes[i];
            if (value >= 0x80)
            {
                return false;
            }

            destination[i] = (char)value;
        }

        return true;
    }

    // Decodes the pending bytes and these; an incomplete character at the end waits for the next token.
    private int Decode(ReadOnlySpan<byte> bytes, Span<char> destination)
    {
        ReadOnlySpan<byte> source = bytes;
        if (_pendingCount > 0)
        {
            int length = _pendingCount + bytes.Length;
            if (length > _joined.Length)
            {
                Array.Resize(ref _joined, Math.Max(_joined.Length * 2, length));
            }

            _pending.AsSpan(0, _pendingCount).CopyTo(_joined);
            bytes.CopyTo(_joined.AsSpan(_pendingCount));
            source = _joined.AsSpan(0, length);
        }

        Utf8.ToUtf16(source, destination, out int read, out int written, replaceInvalidSequences: true, isFinalBlock: false);
        ReadOnlySpan<byte> rest = source[read..];
        Debug.Assert(rest.Length < _pending.Length, "Only an incomplete character is left over.");
        rest.CopyTo(_pending);
        _pendingCount = rest.Length;
        return written;
    }

    private void Complete(HarmonyTerminator terminator)
    {
        // A character that never completed becomes U+FFFD rather than vanishing.
        if (_pendingCount > 0)
        {
            Span<char> destination = _text.AsSpan(_textLength);
            Utf8.ToUtf16(_pending.AsSpan(0, _pendingCount), destination, out _, out int written, replaceInvalidSequences: true, isFinalBlock: true);
            _pendingCount = 0;
            ReadOnlySpan<char> delta = _text.AsSpan(_textLength, written);
            _textLength += written;
            _listener.OnText(_header.Route, delta);
        }

        HarmonyHeader header = _header;
        ReadOnlySpan<char> text = _text.AsSpan(0, _textLength);
        bool endsTurn = terminator is HarmonyTerminator.Return or HarmonyTerminator.EndOfText;
        if (header.Route == HarmonyRoute.Unknown && endsTurn && !text.IsEmpty)
        {
            // The answer on a garbled channel would otherwise be lost.
            _listener.OnText(HarmonyRoute.Final, text);
        }

        _listener.OnMessageCompleted(new HarmonyCompletedMessage(header, text, terminator));
        _state = State.Between;
        if (header.Route == HarmonyRoute.Tool)
        {
            // A tool message ends sampling even on <|end|>, before the model can invent the result. A truncated call is no call.
            if (terminator != HarmonyTerminator.Truncated)
            {
                _listener.OnToolCall(new HarmonyToolCall(header.Recipient!, header.Channel, header.ContentType, text));
                Stop(HarmonyStopReason.ToolCall);
            }

            return;
        }

        if (terminator == HarmonyTerminator.Call)
        {
            _listener.OnDiagnostic(HarmonyDiagnostic.CallWithoutRecipient);
            Stop(HarmonyStopReason.EndTurn);
        }
        else if (endsTurn)
        {
            Stop(HarmonyStopReason.EndTurn);
        }
    }

    private void Stop(HarmonyStopReason reason)
    {
        _state = State.Done;
        StopReason = reason;
        _listener.OnStopped(reason);
    }

    private Kind Classify(int token)
    {
        if ((uint)token < (uint)_firstSpecial)
        {
            return Kind.Text;
        }

        if (token == _channel)
        {
            return Kind.Channel;
        }

        if (token == _start)
        {
            return Kind.Start;
        }

        if (token == _message)
        {
            return Kind.Message;
        }

        if (token == _end)
        {
            return Kind.End;
        }

        if (token == _constrain)
        {
            return Kind.Constrain;
        }

        if (token == _return)
        {
            return Kind.Return;
        }

        if (token == _call)
        {
            return Kind.Call;
        }

        return token == _endOfText ? Kind.EndOfText : Kind.Other;
    }

    private static HarmonyTerminator Terminator(Kind kind) => kind switch
    {
        Kind.End => HarmonyTerminator.End,
        Kind.Return => HarmonyTerminator.Return,
        Kind.Call => HarmonyTerminator.Call,
        _ => HarmonyTerminator.EndOfText,
    };
}
