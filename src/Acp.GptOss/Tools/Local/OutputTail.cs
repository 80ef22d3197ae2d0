using System.Text;

namespace Acp.GptOss.Tools.Local;

/// <summary>The last bytes of a command's output, in a ring buffer shared by the stdout and stderr readers.</summary>
/// <remarks>Thread-safe.</remarks>
internal sealed class OutputTail(int capacity)
{
    private static readonly UTF8Encoding s_utf8 = new(encoderShouldEmitUTF8Identifier: false);

    private readonly Lock _lock = new();
    private readonly byte[] _buffer = new byte[capacity];
    private long _total;

    public void Append(ReadOnlySpan<byte> data)
    {
        lock (_lock)
        {
            if (data.Length > _buffer.Length)
            {
                _total += data.Length - _buffer.Length;
                data = data[^_buffer.Length..];
            }

            while (!data.IsEmpty)
            {
                int position = (int)(_total % _buffer.Length);
                int chunk = Math.Min(data.Length, _buffer.Length - position);
                data[..chunk].CopyTo(_buffer.AsSpan(position));
                data = data[chunk..];
                _total += chunk;
            }
        }
    }

    public (string Text, long Dropped) Snapshot()
    {
        byte[] bytes;
        long dropped;
        lock (_lock)
        {
            if (_total <= _buffer.Length)
            {
                return (s_utf8.GetString(_buffer, 0, (int)_total), 0);
            }

            int start = (int)(_total % _buffer.Length);
            bytes = [.. _buffer.AsSpan(start), .. _buffer.AsSpan(0, start)];
            dropped = _total - _buffer.Length;
        }

        // The cut may fall inside a UTF-8 sequence: skip its continuation bytes rather than show a broken character.
        int skip = 0;
        while (skip < bytes.Length && skip < 3 && (bytes[skip] & 0xC0) == 0x80)
        {
            skip++;
        }

        return (s_utf8.GetString(bytes, skip, bytes.Length - skip), dropped + skip);
    }
}
